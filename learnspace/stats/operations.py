"""The figures of the statistics dashboard, its exports and the CLI (reads only, plus targets and weights).

What the figures mean is defined once, in learnspace.activity.rollups (rostered,
activated, new activations, active spaces). Here:

- activation rate = activated / rostered; weekly (monthly) active rate = spaces active in the
  ISO week (calendar month) containing the last day of the range / activated spaces;
- new activations = spaces activated during the range, counted where they were activated;
- lessons uploaded = lessons created during the range, published = lessons published during the
  range and still published, views = openings of the unit's published lessons so far (cumulative),
  all counted at the school where the lesson was made (Lesson.school_id);
- teachers' publishing share = rostered teachers (current school) with at least one published
  lesson / rostered teachers.

Lesson figures are for teachers: with the role filter "student" they are shown as "—".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from sqlalchemy import and_, distinct, func, select

from .. import exports
from ..accounts.models import User
from ..activity import rollups
from ..activity.models import ActivityDay
from ..china_time import today, utc_bounds
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..orgs.grades import grade_sort_key
from ..orgs.operations import region_prefix
from ..spaces.models import Space
from .drilldown import KIND_NAMES, Unit, children, descendants
from .models import RankingWeights, StatsTarget
from .periods import DateRange, next_month

log = logging.getLogger(__name__)

#: roles counted by the statistics, with their Chinese names (the role filter)
ROLES = {"teacher": "教师", "student": "学生"}
SPACE_ROLES = tuple(ROLES)


@dataclass
class Row:
    """The figures of one unit (or one grade/class of a school) over a date range."""

    name: str
    code: str
    rostered: int = 0
    activated: int = 0
    new: int = 0
    week_active: int = 0
    month_active: int = 0
    #: lesson figures; None where they do not apply (students, classes)
    uploaded: int | None = None
    published: int | None = None
    views: int | None = None
    teachers: int | None = None
    publishing_teachers: int | None = None
    #: the unit, for drill-down links (None for grade/class rows)
    unit: Unit | None = None

    @property
    def activation_rate(self) -> float | None:
        return self.activated / self.rostered if self.rostered else None

    @property
    def week_rate(self) -> float | None:
        return self.week_active / self.activated if self.activated else None

    @property
    def month_rate(self) -> float | None:
        return self.month_active / self.activated if self.activated else None

    @property
    def teacher_share(self) -> float | None:
        if self.teachers is None or self.publishing_teachers is None:
            return None
        return self.publishing_teachers / self.teachers if self.teachers else None


@dataclass
class Dashboard:
    """Everything the dashboard page shows for one unit."""

    unit: Unit
    range: DateRange
    role: str | None
    total: Row
    rows: list[Row]
    #: (bucket label, new activations) and (bucket label, active spaces) per day, week or month
    new_series: list[tuple[str, int]] = field(default_factory=list)
    active_series: list[tuple[str, int]] = field(default_factory=list)
    target: "TargetProgress | None" = None


def _check_role(role: str | None) -> str | None:
    role = (role or "").strip() or None
    if role is not None and role not in ROLES:
        raise ValidationError(f"角色“{role[:20]}”无效，可选：教师、学生或全部")
    return role


# --- rows --------------------------------------------------------------------------------------------

def unit_rows(units: list[Unit], period: DateRange, role: str | None = None) -> list[Row]:
    """Return one row of figures per unit (all of the same kind) over *period*, all from the roll-ups."""
    role = _check_role(role)
    if not units:
        return []
    keys = [u.key for u in units]
    by_role = rollups.role_totals(keys)
    made = rollups.range_figures(keys, period.start, period.end, role)
    active = rollups.active_in_periods(keys, {"week": period.week, "month": period.month}, role)
    rows = []
    for unit in units:
        figures, range_ = rollups.add_roles(by_role[unit.key], role), made[unit.key]
        row = Row(unit.name, unit.code, figures.rostered, figures.activated, range_.new_activations,
                  active[unit.key]["week"], active[unit.key]["month"], unit=unit)
        if role != "student":  # lesson figures are kept under the role "teacher"
            teacher = by_role[unit.key]["teacher"]
            row.uploaded, row.published = range_.uploaded, range_.published
            row.views, row.teachers, row.publishing_teachers = teacher.views, teacher.rostered, teacher.publishing_teachers
        rows.append(row)
    return rows


def total_row(unit: Unit, period: DateRange, role: str | None = None) -> Row:
    """Return the figures of *unit* itself."""
    return unit_rows([unit], period, role)[0]


def class_rows(unit: Unit, period: DateRange, role: str | None = None) -> list[Row]:
    """Return a school's figures by grade and class, computed live from its current people.

    New activations count the spaces of the class's current members that were activated at this
    school during the range; active spaces count members active at this school in the week/month.
    """
    role = _check_role(role)
    if unit.kind != "school":
        raise ValidationError("只有学校可以按年级和班级查看")
    roles = (role,) if role else SPACE_ROLES
    grade = func.coalesce(User.grade, "")
    klass = func.coalesce(User.class_name, "")
    people = (User.school_id == unit.school_id, User.role.in_(roles), User.is_disabled.is_(False))
    low, high = utc_bounds(period.start, period.end)
    base = (select(grade, klass, func.count(User.id), func.count(Space.id),
                   func.count(Space.id).filter(and_(Space.activated_dt >= low, Space.activated_dt < high,
                                                    Space.activated_school_id == unit.school_id)))
            .outerjoin(Space, Space.owner_id == User.id).where(*people).group_by(grade, klass))
    rows = {(g, c): Row(_class_name(g, c), f"{g}{c}", n, a, new) for g, c, n, a, new in db.session.execute(base)}

    def active(first, after) -> dict:
        stmt = (select(grade, klass, func.count(distinct(ActivityDay.user_id)))
                .join(User, User.id == ActivityDay.user_id).join(Space, Space.owner_id == User.id)
                .where(*people, ActivityDay.school_id == unit.school_id, ActivityDay.day >= first,
                       ActivityDay.day < after).group_by(grade, klass))
        return {(g, c): n for g, c, n in db.session.execute(stmt)}

    from datetime import timedelta
    for (g, c), n in active(period.week, period.week + timedelta(days=7)).items():
        if (g, c) in rows:
            rows[(g, c)].week_active = n
    for (g, c), n in active(period.month, next_month(period.month)).items():
        if (g, c) in rows:
            rows[(g, c)].month_active = n
    return [rows[k] for k in sorted(rows, key=lambda k: (grade_sort_key(k[0]), k[1] == "", k[1]))]


def _class_name(grade: str, klass: str) -> str:
    if not grade and not klass:
        return "未分年级/班级"
    return f"{grade or '未分年级'} {klass or '未分班'}".strip()


def child_rows(unit: Unit, period: DateRange, role: str | None = None) -> list[Row]:
    """Return the rows of the units directly under *unit* (a school: its grades and classes)."""
    if unit.kind == "school":
        return class_rows(unit, period, role)
    return unit_rows(children(unit), period, role)


def series(unit: Unit, period: DateRange, role: str | None = None) -> tuple[list, list]:
    """Return new activations and active spaces per day, week or month of *period*."""
    role = _check_role(role)
    new = {d.day: d.new_activations for d in rollups.daily(unit.key, period.start, period.end, role)}
    buckets = period.buckets()
    new_points = [(period.bucket_label(first), sum(v for d, v in new.items() if first <= d <= last))
                  for first, last in buckets]
    starts = period.period_starts()
    active = dict(rollups.period_active(unit.key, period.by, period.start, period.end, role))
    active_points = [(period.bucket_label(first), active.get(start, 0)) for (first, _), start in zip(buckets, starts)]
    return new_points, active_points


def dashboard(unit: Unit, period: DateRange, role: str | None = None) -> Dashboard:
    """Gather the dashboard of *unit*: its own row, its children's rows, the time series and the target."""
    role = _check_role(role)
    new_points, active_points = series(unit, period, role)
    return Dashboard(unit=unit, range=period, role=role, total=total_row(unit, period, role),
                     rows=child_rows(unit, period, role), new_series=new_points, active_series=active_points,
                     target=target_progress(unit, period.end.year) if unit.kind != "school" else None)


# --- targets -----------------------------------------------------------------------------------------

#: a yearly target above this many new spaces is refused as absurd (the whole country has ~2.9 亿 pupils and teachers)
MAX_TARGET = 300_000_000


@dataclass
class TargetProgress:
    year: int
    target: int
    done: int

    @property
    def share(self) -> float:
        return self.done / self.target if self.target else 0.0


def get_target(unit: Unit, year: int) -> StatsTarget | None:
    """Return the target set for *unit* in *year*, if any."""
    return db.session.scalar(select(StatsTarget).where(StatsTarget.unit == unit.code, StatsTarget.year == year))


def target_progress(unit: Unit, year: int) -> TargetProgress | None:
    """Return the unit's target for *year* with the spaces newly activated so far that year."""
    target = get_target(unit, year)
    if target is None:
        return None
    from datetime import date

    done = rollups.new_activations([unit.key], date(year, 1, 1), date(year, 12, 31), None).get(unit.key, 0)
    return TargetProgress(year, target.new_spaces, done)


def may_set_target(admin: User, unit: Unit) -> bool:
    """Tell whether *admin* sets *unit*'s target: platform admins any, region admins their own region."""
    if unit.kind == "school":
        return False
    if admin.role == "platform_admin":
        return True
    return admin.role == "region_admin" and admin.region_code == unit.code


def parse_target(year_text, value_text) -> tuple[int, int]:
    """Parse a year and a number of new spaces from a form, refusing absurd values with a message."""
    year_text = str(year_text if year_text is not None else "").strip()
    value_text = str(value_text if value_text is not None else "").strip().replace(",", "").replace("，", "")
    this_year = today().year
    try:
        year = int(year_text)
    except ValueError:
        raise ValidationError(f"年份“{year_text[:10]}”无效，请填写如 {this_year} 的四位年份") from None
    if not this_year - 1 <= year <= this_year + 1:
        raise ValidationError(f"只能设定 {this_year - 1} 至 {this_year + 1} 年的目标")
    try:
        value = int(value_text)
    except ValueError:
        raise ValidationError(f"目标“{value_text[:20]}”不是整数，请填写新开通空间的个数，例如 1000000") from None
    if value <= 0:
        raise ValidationError("目标必须是正整数")
    if value > MAX_TARGET:
        raise ValidationError(f"目标 {value:,} 超过了全国师生总数，请检查是否多写了零")
    return year, value


def set_target(admin: User, unit: Unit, year: int, new_spaces: int) -> StatsTarget:
    """Set (or change) *unit*'s target of new spaces for *year*."""
    if not may_set_target(admin, unit):
        raise PermissionDenied("只有本区域的管理员（或平台管理员）可以设定该区域的年度目标")
    year, new_spaces = parse_target(year, new_spaces)
    target = get_target(unit, year)
    if target is None:
        target = StatsTarget(unit=unit.code, year=year, new_spaces=new_spaces, set_by_id=admin.id)
        db.session.add(target)
    else:
        target.new_spaces, target.set_by_id = new_spaces, admin.id
    db.session.flush()
    return target


def targets_under(unit: Unit) -> list[StatsTarget]:
    """List the targets of *unit* and of the regions inside it, newest year first."""
    stmt = select(StatsTarget).order_by(StatsTarget.year.desc(), StatsTarget.unit)
    if unit.kind == "school":
        return []
    if unit.kind != "all":
        stmt = stmt.where(StatsTarget.unit.startswith(region_prefix(unit.code), autoescape=True))
    return list(db.session.scalars(stmt))


# --- ranking -----------------------------------------------------------------------------------------

#: the parts of the score: weight field → (Chinese name, how the part's value x in [0, 1] is taken)
SCORE_PARTS = {
    "activation_rate": ("开通率", "已开通 ÷ 名册人数"),
    "weekly_active_rate": ("周活跃率", "结束日期所在周的活跃空间 ÷ 已开通"),
    "monthly_active_rate": ("月活跃率", "结束日期所在月的活跃空间 ÷ 已开通"),
    "teacher_publish_share": ("教师发布率", "有已发布课程的教师 ÷ 名册教师"),
    "lessons_per_teacher": ("人均发布课程", "期间发布课程 ÷ 名册教师，再除以候选中的最高值"),
}
DEFAULT_WEIGHTS = {"activation_rate": 40.0, "weekly_active_rate": 20.0, "monthly_active_rate": 20.0,
                   "teacher_publish_share": 10.0, "lessons_per_teacher": 10.0, "min_rostered": 30}
#: how many candidates the plan selects (40 excellent regions, 200 excellent schools)
SELECTED = {"school": 200, "region": 40}
RANK_LEVELS = {"school": "学校", "county": "区县", "city": "市"}


def weights() -> dict:
    """Return the ranking weights in force (the defaults until the platform admin saves some)."""
    row = db.session.get(RankingWeights, 1)
    if row is None:
        return dict(DEFAULT_WEIGHTS)
    return {name: getattr(row, name) for name in DEFAULT_WEIGHTS}


def parse_weights(form: dict) -> dict:
    """Parse the weights form: each weight 0–100, not all zero; the minimum size 0–100000."""
    values = {}
    for name, (title, _) in SCORE_PARTS.items():
        text = str(form.get(name, "")).strip()
        try:
            value = float(text)
        except ValueError:
            raise ValidationError(f"“{title}”的权重“{text[:20]}”不是数字") from None
        if not 0 <= value <= 100 or value != value:
            raise ValidationError(f"“{title}”的权重应在 0 到 100 之间")
        values[name] = value
    if not any(values.values()):
        raise ValidationError("权重不能全部为 0")
    text = str(form.get("min_rostered", "")).strip()
    try:
        values["min_rostered"] = int(text)
    except ValueError:
        raise ValidationError(f"参评最少名册人数“{text[:20]}”不是整数") from None
    if not 0 <= values["min_rostered"] <= 100_000:
        raise ValidationError("参评最少名册人数应在 0 到 100000 之间")
    return values


def set_weights(admin: User, values: dict) -> RankingWeights:
    """Save the ranking weights (platform administrators only)."""
    if admin.role != "platform_admin":
        raise PermissionDenied("只有平台管理员可以修改评分权重")
    values = parse_weights(values)
    row = db.session.get(RankingWeights, 1)
    if row is None:
        row = RankingWeights(id=1)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by_id = admin.id
    db.session.flush()
    return row


@dataclass
class Ranked:
    row: Row
    #: each part's value x in [0, 1] (None when it cannot be computed: counted as 0)
    parts: dict[str, float | None]
    score: float | None
    rank: int | None = None


def ranking(unit: Unit, level: str, period: DateRange, weights_in_force: dict | None = None) -> list[Ranked]:
    """Rank the schools, counties or cities inside *unit* by the documented score, best first.

    score = 100 × Σ wᵢ·xᵢ ÷ Σ wᵢ over SCORE_PARTS, each xᵢ in [0, 1] (a missing part counts 0);
    "lessons per teacher" is divided by the best candidate's value so it is in [0, 1] too.
    Candidates with fewer rostered people than the minimum are listed without a score.
    """
    if level not in RANK_LEVELS:
        raise ValidationError(f"排名对象“{level[:10]}”无效，可选：学校、区县、市")
    order = ["all", "province", "city", "county", "school"]
    if order.index(level) <= order.index(unit.kind):
        raise ValidationError(f"{KIND_NAMES[unit.kind]}之下没有可排名的{RANK_LEVELS[level]}")
    w = weights_in_force or weights()
    rows = unit_rows(descendants(unit, level), period, None)
    per_teacher = {id(r): (r.published or 0) / r.teachers if r.teachers else None for r in rows}
    best = max((v for v in per_teacher.values() if v), default=0)
    ranked = []
    total_weight = sum(w[name] for name in SCORE_PARTS)
    for row in rows:
        parts = {"activation_rate": row.activation_rate, "weekly_active_rate": row.week_rate,
                 "monthly_active_rate": row.month_rate, "teacher_publish_share": row.teacher_share,
                 "lessons_per_teacher": (per_teacher[id(row)] / best) if best and per_teacher[id(row)] is not None
                 else (0.0 if per_teacher[id(row)] is not None else None)}
        eligible = row.rostered >= max(w["min_rostered"], 1)
        score = (100 * sum(w[n] * (parts[n] or 0) for n in SCORE_PARTS) / total_weight) if eligible else None
        ranked.append(Ranked(row, parts, score))
    ranked.sort(key=lambda r: (r.score is None, -(r.score or 0), r.row.code))
    for i, item in enumerate(r for r in ranked if r.score is not None):
        item.rank = i + 1
    return ranked


# --- exports -----------------------------------------------------------------------------------------

def _pct(value: float | None):
    return None if value is None else round(100 * value, 1)


#: the columns of the exported tables: Chinese header → value of a row
COLUMNS = [
    ("单位", lambda r: r.name),
    ("代码", lambda r: r.code),
    ("名册人数", lambda r: r.rostered),
    ("已开通空间", lambda r: r.activated),
    ("开通率(%)", lambda r: _pct(r.activation_rate)),
    ("期间新开通", lambda r: r.new),
    ("周活跃空间", lambda r: r.week_active),
    ("周活跃率(%)", lambda r: _pct(r.week_rate)),
    ("月活跃空间", lambda r: r.month_active),
    ("月活跃率(%)", lambda r: _pct(r.month_rate)),
    ("期间上传课程", lambda r: r.uploaded),
    ("期间发布课程", lambda r: r.published),
    ("累计浏览", lambda r: r.views),
    ("名册教师", lambda r: r.teachers),
    ("有发布课程的教师", lambda r: r.publishing_teachers),
    ("教师发布率(%)", lambda r: _pct(r.teacher_share)),
]


def table(rows: list[Row], total: Row | None = None) -> tuple[list[str], list[list]]:
    """Return the export header and one list of values per row (the unit's own row last, as 合计)."""
    header = [name for name, _ in COLUMNS]
    body = [[get(r) for _, get in COLUMNS] for r in rows]
    if total is not None:
        body.append([get(replace(total, name=f"合计（{total.name}）")) for _, get in COLUMNS])
    return header, body


def ranking_table(ranked: list[Ranked]) -> tuple[list[str], list[list]]:
    """Return the ranking as an export table: rank, score, the score's parts and the underlying figures."""
    header = ["名次", "得分"] + [f"{title}(%)" for title, _ in SCORE_PARTS.values()] + [n for n, _ in COLUMNS]
    body = [[item.rank, None if item.score is None else round(item.score, 1)]
            + [_pct(item.parts[name]) for name in SCORE_PARTS] + [get(item.row) for _, get in COLUMNS]
            for item in ranked]
    return header, body


def to_csv(header: list[str], body: list[list]) -> bytes:
    """Encode a table as CSV in UTF-8 with a BOM, so Excel opens the Chinese headers correctly."""
    return exports.csv_bytes([header, *body])


def to_xlsx(header: list[str], body: list[list], title: str, notes: list[str]) -> bytes:
    """Encode a table as an XLSX workbook: the table on the first sheet, what it counts on the second."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    exports.append_row(sheet, header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in body:
        exports.append_row(sheet, values)
    sheet.freeze_panes = "C2"
    for i, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(10, 2 * len(name) + 2) if i > 1 else 24
    about = book.create_sheet("说明")
    for line in notes:
        exports.append_row(about, [line])
    about.column_dimensions["A"].width = 100
    return exports.workbook_bytes(book)


def export_notes(unit: Unit, period: DateRange, role: str | None) -> list[str]:
    """Lines that say what an exported table counts (the second sheet of the XLSX)."""
    return [
        f"单位：{unit.label}",
        f"日期范围：{period.label}（北京时间）",
        f"角色：{ROLES.get(role, '教师和学生') if role else '教师和学生'}",
        f"生成日期：{today().isoformat()}",
        "名册人数：当前在该单位、未停用的教师和学生；已开通空间：其中已开通个人空间的人数。",
        "期间新开通：在日期范围内开通的空间，按开通时所在学校统计。",
        "周/月活跃空间：结束日期所在自然周（周一至周日）/自然月内至少有一次登录、上传、发布、观看、评论、笔记或公告的空间。",
        "活跃率 = 活跃空间 ÷ 已开通空间；开通率 = 已开通空间 ÷ 名册人数。",
        "课程数按课程创建时教师所在学校统计；累计浏览为已发布课程至今的浏览次数。",
    ]
