"""The ground truth (every roll-up from the base tables with COUNT(*)), the stored rows, and rebuild().

ground_truth() and stored() are reads: they never flush or recount, so compare them after a commit (or
an explicit upkeep.settle()). rebuild() writes.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, false, func, literal, select, text

from ...extensions import db
from ..models import ActiveMark, ActivityDay, RollupDay, RollupPeriod, RollupTotal
from . import counts, sources
from .chains import ALL, chain_of, chains, chunks
from .counts import PERIODS, is_postgres
from .sources import PUBLISHED, ROLES, WATCHED
from .upkeep import DAY_FIGURES, TOTAL_FIGURES, forget_notes


@dataclass
class Rollups:
    """Every roll-up row (zero rows left out), for comparing the kept tables with the ground truth."""

    totals: dict          # (unit, role) → (rostered, activated, publishing_teachers, views)
    days: dict            # (unit, role, day) → (new_activations, active, uploaded, published)
    periods: dict         # (unit, role, period, start) → active
    marks: set            # (user_id, period, start, school_id, role)


def ground_truth(with_marks: bool = True) -> Rollups:
    """Compute every roll-up from users, spaces, lessons, schools and activity_days with COUNT(*)."""
    with db.session.no_autoflush:
        return _ground_truth(db.session, with_marks)


def _ground_truth(session, with_marks: bool) -> Rollups:
    users, spaces = sources.table("users"), sources.table("spaces")
    people = counts.people_by_school(session)
    views = counts.views_by_school(session)
    lessons_made = counts.lesson_days(session)
    activated_day = counts.local_day_sql(spaces.c.activated_dt).label("activated_day")
    new_rows = session.execute(
        select(spaces.c.activated_school_id, users.c.role, activated_day, func.count())
        .join(users, users.c.id == spaces.c.owner_id).where(users.c.role.in_(ROLES))
        .group_by(spaces.c.activated_school_id, users.c.role, activated_day)).all()
    active = {}
    for period in ("day", "week", "month"):
        q = counts.first_actions(period).subquery()
        active[period] = session.execute(select(q.c.school_id, q.c.role, q.c.start, func.count())
                                         .group_by(q.c.school_id, q.c.role, q.c.start)).all()
    chain_map = chains({s for s, _ in people} | set(views) | {s for s, _ in lessons_made} | {r[0] for r in new_rows}
                       | {r[0] for p in active.values() for r in p})
    totals: dict = defaultdict(lambda: [0, 0, 0, 0])
    for (school_id, role), figures in people.items():
        for unit in chain_of(chain_map, school_id):
            for i, n in enumerate(figures):
                totals[(unit, role)][i] += n
    for school_id, n in views.items():
        for unit in chain_of(chain_map, school_id):
            totals[(unit, "teacher")][3] += n
    days: dict = defaultdict(lambda: [0, 0, 0, 0])
    for school_id, role, day, n in new_rows:
        for unit in chain_of(chain_map, school_id):
            days[(unit, role, counts.as_date(day))][0] += n
    for school_id, role, day, n in active["day"]:
        for unit in chain_of(chain_map, school_id):
            days[(unit, role, counts.as_date(day))][1] += n
    for (school_id, day), (uploaded, published) in lessons_made.items():
        for unit in chain_of(chain_map, school_id):
            days[(unit, "teacher", day)][2] += uploaded
            days[(unit, "teacher", day)][3] += published
    periods: Counter = Counter()
    for period in PERIODS:
        for school_id, role, start, n in active[period]:
            for unit in chain_of(chain_map, school_id):
                periods[(unit, role, period, counts.as_date(start))] += n
    marks = set()
    if with_marks:
        for period in ("day", "week", "month"):
            for user_id, start, school_id, role in session.execute(counts.first_actions(period)):
                marks.add((user_id, period, counts.as_date(start), school_id, role))
    return Rollups(totals={k: tuple(v) for k, v in totals.items() if any(v)},
                   days={k: tuple(v) for k, v in days.items() if any(v)},
                   periods={k: v for k, v in periods.items() if v},
                   marks=marks)


def stored() -> Rollups:
    """Read every kept roll-up row (zero rows left out), in the shape of ground_truth()."""
    with db.session.no_autoflush:
        return _stored(db.session)


def _stored(session) -> Rollups:
    t, d, p, m = RollupTotal, RollupDay, RollupPeriod, ActiveMark
    return Rollups(
        totals={(u, r): tuple(v) for u, r, *v in session.execute(
            select(t.unit, t.role, *(getattr(t, f) for f in TOTAL_FIGURES))) if any(v)},
        days={(u, r, counts.as_date(day)): tuple(v) for u, r, day, *v in session.execute(
            select(d.unit, d.role, d.day, *(getattr(d, f) for f in DAY_FIGURES))) if any(v)},
        periods={(u, r, per, counts.as_date(s)): a for u, r, per, s, a in session.execute(
            select(p.unit, p.role, p.period, p.start, p.active)) if a},
        marks={(user_id, per, counts.as_date(s), school_id, role) for user_id, per, s, school_id, role in
               session.execute(select(m.user_id, m.period, m.start, m.school_id, m.role))})


def rebuild(progress=None) -> dict[str, int]:
    """Replace every roll-up with the ground truth using set-based SQL; idempotent.

    Same definitions as ground_truth() (the tests compare the two), but computed inside the database:
    marks first (each space owner's first counted action per day, week and month), then every counter
    summed from the marks, the spaces, the lessons and the per-school counts over a temporary
    school → unit table. *progress(done, total)* follows its steps.
    """
    session = db.session
    session.flush()
    forget_notes(session)
    postgres = is_postgres(session)
    marks = ActiveMark.__table__
    keys = []
    if postgres:
        # Writers of the base tables wait while the roll-ups are rebuilt, so nothing is counted twice or missed.
        watched = ", ".join([*WATCHED, ActivityDay.__tablename__])
        session.execute(text(f"LOCK TABLE {watched} IN SHARE MODE"))
        session.execute(text("LOCK TABLE rollup_totals, rollup_days, rollup_periods, active_marks "
                             "IN EXCLUSIVE MODE"))
        # Sorts and hashes of millions of rows in memory, not in temporary files (this transaction only).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        # Nobody reads the marks but the writers, who wait anyway: empty them at once and fill them without
        # their keys (a per-row foreign-key check and index insert made this 3× slower), then restore the keys.
        session.execute(text("TRUNCATE active_marks"))
        keys = session.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                    "WHERE conrelid = 'active_marks'::regclass AND contype IN ('p', 'f') "
                                    "ORDER BY contype DESC")).all()
        for name, _ in keys:
            session.execute(text(f'ALTER TABLE active_marks DROP CONSTRAINT "{name}"'))
    else:
        session.execute(delete(marks))
    for model in (RollupTotal, RollupDay, RollupPeriod):
        session.execute(delete(model.__table__))
    _step(progress, 1)

    for period in ("day", "week", "month"):
        q = counts.first_actions(period).subquery()
        session.execute(marks.insert().from_select(
            ["user_id", "period", "start", "school_id", "role"],
            select(q.c.user_id, literal(period), q.c.start, q.c.school_id, q.c.role)))
    for name, definition in keys:  # the primary key first, then the foreign key
        session.execute(text(f'ALTER TABLE active_marks ADD CONSTRAINT "{name}" {definition}'))
    _step(progress, 2)

    # school id → unit, for every school (0 stands for "no school", which counts in "all" only).
    chain = Table("rollup_rebuild_chain", MetaData(), Column("school_id", Integer, nullable=False),
                  Column("unit", String(24), nullable=False), prefixes=["TEMPORARY"])
    chain.drop(session.connection(), checkfirst=True)
    chain.create(session.connection())
    rows = [dict(school_id=0, unit=ALL)]
    for school_id, units in chains(session.scalars(select(sources.table("schools").c.id))).items():
        rows.extend(dict(school_id=school_id, unit=u) for u in units)
    for chunk in chunks(rows, 5000):
        session.execute(chain.insert(), chunk)
    _step(progress, 3)

    users, spaces, lessons = (sources.table(name) for name in ("users", "spaces", "lessons"))
    # IN (subquery) rather than the recount's correlated EXISTS: PostgreSQL hashes the publishing teachers once.
    publishing = users.c.id.in_(select(lessons.c.teacher_id).where(lessons.c.status == PUBLISHED))
    people = (select(users.c.school_id, users.c.role, func.count().label("n"), func.count(spaces.c.id).label("a"),
                     func.count().filter((users.c.role == "teacher") & publishing).label("p"),
                     literal(0).label("v"))
              .select_from(users.outerjoin(spaces, spaces.c.owner_id == users.c.id))
              .where(users.c.role.in_(ROLES), users.c.is_disabled == false(), users.c.school_id.is_not(None))
              .group_by(users.c.school_id, users.c.role))
    views = (select(lessons.c.school_id, literal("teacher").label("role"), literal(0).label("n"),
                    literal(0).label("a"), literal(0).label("p"), func.sum(lessons.c.view_count).label("v"))
             .where(lessons.c.status == PUBLISHED).group_by(lessons.c.school_id))
    both = people.union_all(views).subquery()
    session.execute(RollupTotal.__table__.insert().from_select(
        ["unit", "role", *TOTAL_FIGURES],
        select(chain.c.unit, both.c.role, func.sum(both.c.n), func.sum(both.c.a), func.sum(both.c.p),
               func.sum(both.c.v))
        .join(chain, chain.c.school_id == both.c.school_id)
        .group_by(chain.c.unit, both.c.role)))
    _step(progress, 4)

    def day_rows(school, role, day, new=0, active=0, uploaded=0, published=0):
        return [school.label("school_id"), role.label("role"), day.label("day")] + [
            (v if not isinstance(v, int) else literal(v)).label(f)
            for f, v in zip(DAY_FIGURES, (new, active, uploaded, published))]

    activated_day = counts.local_day_sql(spaces.c.activated_dt)
    new = (select(*day_rows(func.coalesce(spaces.c.activated_school_id, 0), users.c.role, activated_day,
                            new=func.count()))
           .join(users, users.c.id == spaces.c.owner_id).where(users.c.role.in_(ROLES))
           .group_by(spaces.c.activated_school_id, users.c.role, activated_day))
    active = (select(*day_rows(func.coalesce(marks.c.school_id, 0), marks.c.role, marks.c.start, active=func.count()))
              .where(marks.c.period == "day").group_by(marks.c.school_id, marks.c.role, marks.c.start))
    created_day = counts.local_day_sql(lessons.c.created_dt)
    uploaded = (select(*day_rows(lessons.c.school_id, literal("teacher"), created_day, uploaded=func.count()))
                .group_by(lessons.c.school_id, created_day))
    published_day = counts.local_day_sql(lessons.c.published_dt)
    published = (select(*day_rows(lessons.c.school_id, literal("teacher"), published_day, published=func.count()))
                 .where(lessons.c.status == PUBLISHED, lessons.c.published_dt.is_not(None))
                 .group_by(lessons.c.school_id, published_day))
    every = new.union_all(active, uploaded, published).subquery()
    session.execute(RollupDay.__table__.insert().from_select(
        ["unit", "role", "day", *DAY_FIGURES],
        select(chain.c.unit, every.c.role, every.c.day, *(func.sum(every.c[f]) for f in DAY_FIGURES))
        .join(chain, chain.c.school_id == every.c.school_id)
        .group_by(chain.c.unit, every.c.role, every.c.day)))
    _step(progress, 5)

    per = (select(func.coalesce(marks.c.school_id, 0).label("school_id"), marks.c.role, marks.c.period,
                  marks.c.start, func.count().label("a"))
           .where(marks.c.period.in_(PERIODS))
           .group_by(marks.c.school_id, marks.c.role, marks.c.period, marks.c.start).subquery())
    session.execute(RollupPeriod.__table__.insert().from_select(
        ["unit", "role", "period", "start", "active"],
        select(chain.c.unit, per.c.role, per.c.period, per.c.start, func.sum(per.c.a))
        .join(chain, chain.c.school_id == per.c.school_id)
        .group_by(chain.c.unit, per.c.role, per.c.period, per.c.start)))
    chain.drop(session.connection())
    _step(progress, 6)

    def count(model):
        return session.scalar(select(func.count()).select_from(model.__table__))

    # Rows whose figures are all zero are not kept (ground_truth() leaves them out too).
    session.execute(delete(RollupTotal.__table__).where(*(RollupTotal.__table__.c[f] == 0 for f in TOTAL_FIGURES)))
    return {"totals": count(RollupTotal), "days": count(RollupDay), "periods": count(RollupPeriod),
            "marks": count(ActiveMark)}


def _step(progress, done: int) -> None:
    if progress is not None:
        progress(done, 6)
