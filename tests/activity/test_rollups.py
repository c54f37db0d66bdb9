"""THE roll-up equality test: every kept roll-up row equals the ground truth computed from the base tables.

Random activations, transfers, disables, roster imports, activity records and lessons (made,
published, withdrawn, viewed, views counted in batches, deleted, changed in bulk), each often replayed, sometimes rolled back, with the roll-ups compared to ``rollups.ground_truth()`` all along; the same
under threads. Runs on SQLite and on PostgreSQL (``scripts/test`` runs every test on both).
"""
from __future__ import annotations

import io
import random
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from learnspace.accounts import operations as accounts
from learnspace.accounts.models import User
from learnspace.accounts.roster import import_roster
from learnspace.activity import operations as activity
from learnspace.activity import rollups
from learnspace.activity.models import ActiveMark, RollupDay, RollupTotal
from learnspace.activity.rollups import upkeep
from learnspace.china_time import today
from learnspace.errors import LearnSpaceError
from learnspace.extensions import db
from learnspace.lessons import operations as lessons
from learnspace.lessons import view_counts
from learnspace.lessons.models import Lesson, LessonView
from learnspace.orgs.models import School
from learnspace.spaces import operations as spaces
from learnspace.spaces.models import Space
from tests.fixtures.lessons import make_chapter
from tests.fixtures.rosters import csv_bytes, student, teacher

KINDS = sorted(activity.KINDS)
# Around a month end and the midnight of Asia/Shanghai (16:00 UTC), across three ISO weeks.
BASE = datetime(2026, 10, 27, 10, 0, tzinfo=timezone.utc)


def assert_equal_to_ground_truth(context: str = "") -> None:
    kept, truth = rollups.stored(), rollups.ground_truth()
    for part in ("totals", "days", "periods", "marks"):
        a, b = getattr(kept, part), getattr(truth, part)
        if a != b:
            keys = sorted(set(a) ^ set(b) | {k for k in set(a) & set(b) if a[k] != b[k]} if isinstance(a, dict)
                          else a ^ b, key=str)[:10]
            detail = [(k, a.get(k) if isinstance(a, dict) else k in a,
                       b.get(k) if isinstance(b, dict) else k in b) for k in keys]
            pytest.fail(f"{context}: roll-up {part} differ from the ground truth (key, kept, truth): {detail}")


def school_ids() -> list[int]:
    return list(db.session.scalars(select(School.id).order_by(School.id)))


class Random:
    """Seeded random operations on a world; each step commits (or rolls back) like a request."""

    def __init__(self, rng: random.Random, schools: list[int]):
        self.rng = rng
        self.schools = schools
        self.serial = 0
        self.codes = {i: c for i, c in db.session.execute(select(School.id, School.code))}

    def people(self) -> list[User]:
        return list(db.session.scalars(select(User).where(User.role.in_(("teacher", "student"))).order_by(User.id)))

    def anyone(self) -> User:
        return self.rng.choice(self.people())

    def number(self, role: str) -> str:
        self.serial += 1
        return f"{'G' if role == 'student' else 'T'}9{self.rng.randrange(10**6):06d}{self.serial:05d}"

    def add_person(self) -> None:
        role = self.rng.choice(("teacher", "student"))
        number = self.number(role)
        db.session.add(User(role=role, real_name="随机", school_id=self.rng.choice(self.schools),
                            student_number=number if role == "student" else None,
                            teacher_number=number if role == "teacher" else None))

    def roster(self) -> bytes:
        school_id = self.rng.choice(self.schools)
        code = self.codes[school_id]
        rows = []
        for _ in range(self.rng.randint(1, 4)):
            role = self.rng.choice(("teacher", "student"))
            rows.append(student("新生", self.number(role), school=code) if role == "student"
                        else teacher("新老师", self.number(role), school=code))
        existing = [p for p in self.people() if p.school_id == school_id]
        for person in self.rng.sample(existing, min(len(existing), 2)):
            if person.role == "student":
                rows.append(student(person.real_name, person.student_number, school=code,
                                    grade=self.rng.choice(("三年级", "四年级"))))
            else:
                rows.append(teacher(person.real_name, person.teacher_number, school=code))
        return code, csv_bytes(rows)

    def import_file(self, code: str, data: bytes) -> None:
        school = db.session.scalar(select(School).where(School.code == code))
        import_roster(io.BytesIO(data), "roster.csv", school)

    def at(self) -> datetime:
        return BASE + timedelta(days=self.rng.randrange(14), hours=self.rng.choice((0, 5, 5.9, 6, 6.1, 13)))

    def lesson(self, status: str | None = None) -> Lesson | None:
        stmt = select(Lesson).order_by(Lesson.id)
        if status:
            stmt = stmt.where(Lesson.status == status)
        found = list(db.session.scalars(stmt))
        return self.rng.choice(found) if found else None

    def make_lesson(self) -> Lesson | None:
        """A teacher makes a lesson at their school on a random day, sometimes published at once."""
        teachers = [p for p in self.people() if p.role == "teacher" and p.school_id]
        if not teachers:
            return None
        teacher, chapter = self.rng.choice(teachers), make_chapter()
        made = self.at()
        published = self.rng.random() < 0.4
        lesson = Lesson(title="随机课", stage=chapter.stage, subject=chapter.subject, grade=chapter.grade,
                        edition=chapter.edition, catalog_node_id=chapter.id, lesson_type="新授课",
                        teacher_id=teacher.id, school_id=teacher.school_id, created_dt=made,
                        status="published" if published else "draft",
                        published_dt=made + timedelta(hours=3) if published else None,
                        view_count=self.rng.randrange(5) if published else 0)
        db.session.add(lesson)
        return lesson

    def lesson_step(self, op: str, replay: bool) -> None:
        """One lesson operation: publish, withdraw, view, delete, or a bulk UPDATE of view counts."""
        if op == "lesson":
            self.make_lesson()
        elif op == "publish":
            lesson = self.lesson("draft") or self.lesson("withdrawn")
            if lesson is not None:  # as lessons.publish does, without the recording it checks for
                lesson.status, lesson.published_dt = "published", self.at()
        elif op == "withdraw":
            lesson = self.lesson("published")
            if lesson is not None:
                lessons.withdraw(lesson)
                if replay:
                    db.session.commit()
                    with pytest.raises(LearnSpaceError):
                        lessons.withdraw(lesson)
        elif op == "view":  # recorded now (a few viewers, a reload dedupes), counted by a later count_views
            lesson = self.lesson("published")
            for _ in range(self.rng.randint(1, 3) if lesson is not None else 0):
                view_counts.record_view(lesson.id, f"u{self.rng.randrange(6)}", at=self.at())
        elif op == "count_views":  # the worker's batch, sometimes a small one leaving views pending
            view_counts.count_batch(limit=self.rng.choice((3, view_counts.BATCH)))
            if replay:
                db.session.commit()
                view_counts.count_batch()
        elif op == "delete_lesson":
            lesson = self.lesson()
            if lesson is not None:
                lessons.delete_lesson(lesson)
        elif op == "bulk_views":
            db.session.execute(update(Lesson).where(Lesson.id % 2 == 0).values(view_count=Lesson.view_count + 7))

    def step(self) -> str:
        """Do one random operation (often twice: a replay) and commit; return what was done."""
        rng = self.rng
        op = rng.choices(["person", "roster", "activate", "transfer", "disable", "enable", "record", "rollback",
                          "lesson", "publish", "withdraw", "view", "count_views", "delete_lesson", "bulk_views"],
                         weights=[8, 6, 14, 10, 5, 4, 30, 4, 8, 5, 3, 6, 3, 2, 1])[0]
        replay = rng.random() < 0.35
        if op in ("lesson", "publish", "withdraw", "view", "count_views", "delete_lesson", "bulk_views"):
            self.lesson_step(op, replay)
        elif op == "person":
            self.add_person()
        elif op == "roster":
            code, data = self.roster()
            self.import_file(code, data)
            if replay:
                db.session.commit()
                self.import_file(code, data)
        elif op == "activate":
            person = self.anyone()
            spaces.activate(person, "admin")
            if replay:
                db.session.commit()
                spaces.activate(person, "admin")
        elif op == "transfer":
            person = self.anyone()
            target = rng.choice([s for s in self.schools if s != person.school_id])
            accounts.transfer_school(person, db.session.get(School, target))
            if replay:
                db.session.commit()
                with pytest.raises(LearnSpaceError):
                    accounts.transfer_school(person, db.session.get(School, target))
                db.session.rollback()
        elif op == "disable":
            person = self.anyone()
            accounts.disable_user(person)
            if replay:
                db.session.commit()
                accounts.disable_user(person)
        elif op == "enable":
            person = self.anyone()
            person.is_disabled = False  # an administrator's edit on the user page
        elif op == "record":
            person, at = self.anyone(), self.at()
            for _ in range(rng.randint(1, 3)):
                activity.record(person, rng.choice(KINDS), at + timedelta(minutes=rng.randrange(120)))
            if replay:
                db.session.commit()
                activity.record(person, rng.choice(KINDS), at)
        elif op == "rollback":
            person = self.anyone()
            spaces.activate(person, "admin")
            activity.record(person, rng.choice(KINDS), self.at())
            self.add_person()
            self.make_lesson()
            published = self.lesson("published")
            if published is not None:
                view_counts.record_view(published.id, "u99")
                view_counts.count_batch()
            rollups.settle()  # recount mid-transaction (flushing first), then throw it all away
            db.session.rollback()
            return op
        db.session.commit()
        return op + (" (replayed)" if replay else "")


@pytest.mark.parametrize("seed", [7, 2026])
def test_random_operations_keep_every_rollup_equal_to_the_ground_truth(app, world, seed):
    """A few hundred seeded random operations and replays; the roll-ups equal the ground truth throughout."""
    with app.app_context():
        rng = random.Random(seed)
        ops = Random(rng, school_ids())
        for _ in range(12):
            ops.add_person()
        db.session.commit()
        assert_equal_to_ground_truth("after adding people")
        done = []
        for step in range(300):
            done.append(ops.step())
            if step % 20 == 19:
                assert_equal_to_ground_truth(f"seed {seed}, step {step}, last ops {done[-5:]}")
        assert_equal_to_ground_truth(f"seed {seed}, the end")
        kinds = {d.split(" ")[0] for d in done}
        assert kinds >= {"person", "roster", "activate", "transfer", "disable", "enable", "record", "rollback",
                         "lesson", "publish", "withdraw", "view", "count_views", "delete_lesson", "bulk_views"}
        # The views still pending are counted by the worker's task; the figures then include them, still equal.
        pending = db.session.scalar(select(db.func.count()).select_from(LessonView).join(
            Lesson, Lesson.id == LessonView.lesson_id).where(LessonView.counted.is_(False)))
        views_before = db.session.scalar(select(db.func.sum(Lesson.view_count)))
        view_counts.count_all()
        assert view_counts.pending_count() == 0
        assert db.session.scalar(select(db.func.sum(Lesson.view_count))) == views_before + pending
        assert_equal_to_ground_truth(f"seed {seed}, after counting {pending} pending views")
        truth = rollups.ground_truth()
        assert truth.periods and truth.days and truth.totals and any(k[2] == "month" for k in truth.periods)
        for i in range(4):  # new activations, active, uploaded, published: each counted somewhere
            assert any(figures[i] for figures in truth.days.values()), i
        for i in range(4):  # rostered, activated, publishing teachers, views
            assert any(figures[i] for figures in truth.totals.values()), i
        _reads_agree_with_ground_truth(truth)


def _reads_agree_with_ground_truth(truth) -> None:
    """The documented read functions give the same numbers as the ground truth rows."""
    units = sorted({u for u, _ in truth.totals})
    for role in (None, "teacher", "student"):
        got = rollups.totals(units, role)
        for unit in units:
            roles = rollups.ROLES if role is None else (role,)
            want = [sum(truth.totals.get((unit, r), (0,) * 4)[i] for r in roles) for i in range(4)]
            assert (got[unit].rostered, got[unit].activated, got[unit].publishing_teachers,
                    got[unit].views) == tuple(want), (unit, role)
    start, end = BASE.date() - timedelta(days=3), BASE.date() + timedelta(days=20)
    for unit in units:
        for figures in rollups.daily(unit, start, end):
            want = [sum(truth.days.get((unit, r, figures.day), (0,) * 4)[i] for r in rollups.ROLES) for i in (0, 1)]
            assert (figures.new_activations, figures.active) == tuple(want), (unit, figures)
        made = rollups.range_figures([unit], start, end, "teacher")[unit]
        want = [sum(v[i] for (u, r, d), v in truth.days.items() if u == unit and r == "teacher" and start <= d <= end)
                for i in (0, 2, 3)]
        assert (made.new_activations, made.uploaded, made.published) == tuple(want), (unit, made)
        for period in rollups.PERIODS:
            for first, active in rollups.period_active(unit, period, start, end, "student"):
                assert active == truth.periods.get((unit, "student", period, first), 0)
        assert rollups.active_in([unit], "month", BASE.date())[unit] == sum(
            truth.periods.get((unit, r, "month", date(2026, 10, 1)), 0) for r in rollups.ROLES)
    day = today()
    assert rollups.new_activations(units, day, day) == {
        u: sum(truth.days.get((u, r, day), (0,) * 4)[0] for r in rollups.ROLES) for u in units}


def test_a_school_counts_in_its_county_city_province_and_the_platform(app, world):
    """units_of_school walks School.county_code and Region.parent_code up to "all"."""
    with app.app_context():
        a1 = db.session.scalar(select(School.id).where(School.code == "4301020001"))
        assert rollups.units_of_school(a1) == [f"school:{a1}", "region:430102", "region:430100",
                                               "region:430000", "all"]
        assert rollups.units_of_school(None) == ["all"]


def test_activation_transfer_and_disable_move_the_totals(app, world):
    """Activated counts at the current school; new activations stay where they happened."""
    with app.app_context():
        a1, b1 = (db.session.scalar(select(School).where(School.code == c)) for c in ("4301020001", "4302020001"))
        person = db.session.scalar(select(User).where(User.teacher_number == "T4301020001001"))
        units = [rollups.school_key(a1.id), rollups.school_key(b1.id), "region:430102", "region:430202", "all"]
        before = rollups.totals(units, "teacher")
        spaces.activate(person, "admin")
        db.session.commit()
        after = rollups.totals(units, "teacher")
        assert after[units[0]].activated == before[units[0]].activated + 1
        assert after["all"].activated == before["all"].activated + 1
        accounts.transfer_school(person, b1)
        db.session.commit()
        moved = rollups.totals(units, "teacher")
        assert moved[units[0]].activated == before[units[0]].activated
        assert moved[units[1]].activated == before[units[1]].activated + 1
        assert moved["region:430202"].rostered == before["region:430202"].rostered + 1
        assert moved["all"] == after["all"]
        day = today()
        assert rollups.new_activations([units[0], units[1]], day, day, "teacher") == {units[0]: 1, units[1]: 0}
        accounts.disable_user(person)
        db.session.commit()
        gone = rollups.totals(units, "teacher")
        assert gone[units[1]].rostered == before[units[1]].rostered
        assert gone["all"].activated == before["all"].activated
        assert_equal_to_ground_truth()


def test_activity_before_the_space_counts_once_the_space_exists(app, world):
    """Activity of someone without a space is not counted until activation, then once per period."""
    with app.app_context():
        person = db.session.scalar(select(User).where(User.student_number == "G430102201501010011"))
        activity.record(person, "watch", BASE)
        activity.record(person, "comment", BASE + timedelta(days=1))
        db.session.commit()
        assert rollups.active_in(["all"], "week", BASE.date())["all"] == 0
        spaces.activate(person, "admin")
        db.session.commit()
        assert rollups.active_in(["all"], "week", BASE.date())["all"] == 1
        assert rollups.active_in(["all"], "day", BASE.date())["all"] == 1
        activity.record(person, "note", BASE + timedelta(hours=1))
        db.session.commit()
        assert rollups.active_in(["all"], "week", BASE.date(), "student")["all"] == 1
        assert rollups.active_in(["all"], "week", BASE.date(), "teacher")["all"] == 0
        assert_equal_to_ground_truth()


def test_deleting_a_space_or_a_person_takes_them_out(app, world):
    """Spaces are for life, but if one (or its owner) is deleted the counters follow."""
    with app.app_context():
        people = db.session.scalars(select(User).where(User.role.in_(("teacher", "student")))).all()
        for person in people:
            spaces.activate(person, "admin")
            activity.record(person, "sign_in", BASE)
        db.session.commit()
        assert_equal_to_ground_truth("activated")
        db.session.delete(db.session.scalar(select(Space).where(Space.owner_id == people[0].id)))
        db.session.commit()
        assert_equal_to_ground_truth("space deleted")
        spaces.activate(people[0], "admin")
        db.session.commit()
        assert_equal_to_ground_truth("activated again")


def test_a_space_inserted_by_any_code_is_counted(app, world):
    """The counting hangs on the insert of the space, not on the activate verb (demo seeds, scripts)."""
    with app.app_context():
        person = db.session.scalar(select(User).where(User.student_number == "G430202201502020022"))
        activity.record(person, "watch", BASE)
        db.session.add(Space(owner_id=person.id, activated_school_id=person.school_id, activation_method="demo"))
        db.session.commit()
        day = today()
        assert rollups.new_activations(["region:430202"], day, day) == {"region:430202": 1}
        assert rollups.totals(["all"], "student")["all"].activated == 1
        assert rollups.active_in(["all"], "month", BASE.date())["all"] == 1
        assert_equal_to_ground_truth()


def test_bulk_statements_on_users_are_recounted(app, world):
    """An UPDATE outside the unit of work cannot say which schools it touched: every school is recounted."""
    with app.app_context():
        db.session.execute(update(User).where(User.role == "student").values(is_disabled=True))
        db.session.commit()
        assert rollups.totals(["all"], "student")["all"].rostered == 0
        assert_equal_to_ground_truth()


def test_rebuild_restores_the_ground_truth_and_is_idempotent(app, world):
    """'learnspace stats rebuild-rollups' replaces damaged roll-ups with the ground truth; twice is the same."""
    from learnspace.cli import main

    with app.app_context():
        nowhere = User(role="teacher", real_name="无校", teacher_number="T-NOSCHOOL")  # counts in "all" only
        db.session.add(nowhere)
        db.session.flush()
        spaces.activate(nowhere, "admin")
        activity.record(nowhere, "publish", BASE)
        db.session.commit()
        assert_equal_to_ground_truth("someone without a school")
        ops = Random(random.Random(3), school_ids())
        for _ in range(60):
            ops.step()
        truth = rollups.ground_truth()
        assert truth.periods[("all", "teacher", "month", date(2026, 10, 1))] >= 1
        db.session.execute(update(RollupTotal).values(rostered=RollupTotal.rostered + 5))
        db.session.execute(RollupDay.__table__.delete().where(RollupDay.unit == "all"))
        db.session.execute(ActiveMark.__table__.delete())
        db.session.commit()
        assert rollups.stored() != truth
    for _ in range(2):
        result = app.test_cli_runner().invoke(main, ["stats", "rebuild-rollups"])
        assert result.exit_code == 0, result.output
        assert "roll-ups rebuilt" in result.output
        with app.app_context():
            assert rollups.stored() == truth
            db.session.rollback()
    with app.app_context():
        ops = Random(random.Random(4), school_ids())
        for _ in range(30):
            ops.step()  # and maintenance goes on from the rebuilt rows
        assert_equal_to_ground_truth("after rebuild and more operations")


def test_concurrent_operations_keep_the_rollups_right(app, world):
    """Threads activating, transferring, disabling, recording, viewing and publishing at once: counted once each."""
    with app.app_context():
        schools = school_ids()
        for i in range(24):
            role = "teacher" if i % 3 == 0 else "student"
            db.session.add(User(role=role, real_name="并发", school_id=schools[i % len(schools)],
                                student_number=f"GC{i:04d}" if role == "student" else None,
                                teacher_number=f"TC{i:04d}" if role == "teacher" else None))
        db.session.commit()
        ids = list(db.session.scalars(select(User.id).where(User.real_name == "并发").order_by(User.id)))
        ops = Random(random.Random(5), schools)
        lesson_ids = []
        for _ in range(3):
            lesson = ops.make_lesson()
            db.session.flush()
            lesson_ids.append(lesson.id)
        db.session.commit()
        assert_equal_to_ground_truth("before")

    threads, errors = 6, []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        rng = random.Random(n)
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                for step in range(25):
                    person = db.session.get(User, rng.choice(ids))
                    action = rng.choice(("activate", "record", "record", "transfer", "disable", "view", "toggle"))
                    lesson = db.session.get(Lesson, rng.choice(lesson_ids))
                    if action == "view":  # every thread views the same three lessons, and counts views
                        view_counts.record_view(lesson.id, f"u{rng.randrange(4)}", at=BASE + timedelta(hours=step))
                        view_counts.count_batch(limit=rng.choice((2, 50)))
                    elif action == "toggle":  # and publishes or withdraws them, racing on the same days
                        if lesson.status == "published":
                            lesson.status = "withdrawn"
                        else:
                            lesson.status, lesson.published_dt = "published", BASE + timedelta(hours=step % 3 * 8)
                    elif action == "activate":
                        spaces.activate(person, "admin")
                    elif action == "record":
                        # Every thread records the same day, so marks race on the same (user, day).
                        activity.record(person, rng.choice(KINDS), BASE + timedelta(minutes=step))
                    elif action == "transfer":
                        target = db.session.get(School, rng.choice([s for s in schools if s != person.school_id]))
                        try:
                            accounts.transfer_school(person, target)
                        except LearnSpaceError:
                            db.session.rollback()
                            continue
                    else:
                        accounts.disable_user(person)
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # reported below with the thread's number
            errors.append((n, repr(exc)))

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)
    assert not errors, errors
    with app.app_context():
        assert_equal_to_ground_truth("after the threads")
        view_counts.count_all()
        assert_equal_to_ground_truth("after the threads' views were all counted")
        assert rollups.active_in(["all"], "day", BASE.date())["all"] == db.session.scalar(
            select(db.func.count(db.distinct(ActiveMark.user_id))).where(ActiveMark.period == "day",
                                                                          ActiveMark.start == BASE.date()))


def test_a_lesson_changed_by_two_requests_at_once_is_counted_where_it_ends_up(app, world):
    """Two requests publish the same lesson at once, the second from a stale copy: no day keeps a stale count.

    The second request loaded the lesson before the first committed; its own copy knows nothing of the
    first one's publishing day. The roll-ups read the lesson row under a lock before the change, so the
    day the first request counted is recounted too. (On SQLite writers are serialised, so the second
    request's transaction only begins after the first one's commit; the test then checks the plain case.)
    """
    with app.app_context():
        ops = Random(random.Random(11), school_ids())
        ops.add_person()
        db.session.flush()
        teacher = db.session.scalar(select(User).where(User.role == "teacher").order_by(User.id))
        lesson = Lesson(title="并发发布", stage="小学", subject="数学", grade="三年级", edition="人教版",
                        catalog_node_id=make_chapter().id, lesson_type="新授课", teacher_id=teacher.id,
                        school_id=teacher.school_id, created_dt=BASE, status="draft")
        db.session.add(lesson)
        db.session.commit()
        lesson_id = lesson.id

    loaded, first_flushed, errors, seen = threading.Event(), threading.Event(), [], []

    def second_request() -> None:
        try:
            with app.app_context():
                stale = db.session.get(Lesson, lesson_id)
                seen.append(stale.status)
                loaded.set()
                first_flushed.wait(30)
                stale.status, stale.published_dt = "published", BASE + timedelta(days=5)
                db.session.commit()  # waits for the first request's commit on PostgreSQL
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    with app.app_context():
        thread = threading.Thread(target=second_request)
        on_sqlite = db.session.get_bind().dialect.name == "sqlite"
        if not on_sqlite:
            thread.start()
            assert loaded.wait(30)
        lesson = db.session.get(Lesson, lesson_id)
        lesson.status, lesson.published_dt = "published", BASE + timedelta(days=2)
        db.session.flush()
        first_flushed.set()
        if on_sqlite:
            db.session.commit()
            thread.start()
        else:
            threading.Event().wait(0.5)  # the second request is now waiting on the lesson row
            db.session.commit()
        thread.join(60)
        assert not errors, errors
        assert seen == ["published" if on_sqlite else "draft"]
        db.session.expire_all()
        assert db.session.get(Lesson, lesson_id).published_dt.date() == (BASE + timedelta(days=5)).date()
        days = rollups.range_figures(["all"], BASE.date(), BASE.date() + timedelta(days=10), "teacher")
        assert days["all"].published == 1
        assert_equal_to_ground_truth("after two concurrent publishes")


def test_reading_the_rollups_writes_nothing_even_with_changes_pending(app, world):
    """Reads neither flush nor recount: they show the last commit; the changes are counted when they commit."""
    with app.app_context():
        teacher = db.session.scalar(select(User).where(User.teacher_number == "T4301020001001"))
        unit = rollups.school_key(teacher.school_id)
        units = [unit, "region:430102", "all"]
        committed = rollups.totals(units, "teacher")
        db.session.commit()
        spaces.activate(teacher, "admin")  # counted already: its savepoint's release settles (before_commit)
        activity.record(teacher, "watch", BASE)
        db.session.add(User(role="teacher", real_name="未提交", school_id=teacher.school_id, teacher_number="T-PENDING"))
        teacher.is_disabled = True
        teacher.is_disabled = False  # dirty, but no net change
        pending = set(db.session.new) | set(db.session.dirty)
        statements = []

        def note(conn, cursor, statement, parameters, context, executemany):
            words = statement.upper().split()
            if words[0] in ("INSERT", "UPDATE", "DELETE") or "FOR UPDATE" in statement.upper() \
                    or "FOR NO KEY UPDATE" in statement.upper():
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            day = BASE.date()
            read = rollups.totals(units, "teacher")
            rollups.role_totals(units)
            rollups.range_figures(units, day, day)
            rollups.new_activations(units, today(), today())
            rollups.daily(unit, day, day + timedelta(days=2))
            for period in ("day", "week", "month"):
                rollups.period_active(unit, period, day, day + timedelta(days=10))
            rollups.active_in(units, "week", day)
            rollups.active_in_periods(units, {"day": day, "week": day, "month": day})
            rollups.stored()
            rollups.ground_truth()
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        assert statements == []
        assert pending <= set(db.session.new) | set(db.session.dirty)  # nothing was flushed
        assert read[unit].rostered == committed[unit].rostered  # the pending teacher counts from the commit on
        db.session.commit()  # the write path counts the activation and the new teacher
        after = rollups.totals(units, "teacher")
        assert (after[unit].rostered, after[unit].activated) == (committed[unit].rostered + 1,
                                                                  committed[unit].activated + 1)
        assert_equal_to_ground_truth()


def test_a_session_not_made_by_the_apps_session_factory_keeps_no_rollups(app, world):
    """The listeners follow db.session's sessionmaker only: another session's writes are not counted (rebuild is)."""
    assert event.contains(db.session, "before_commit", upkeep._before_commit)
    assert not event.contains(Session, "before_commit", upkeep._before_commit)
    with app.app_context():
        school_id = db.session.scalar(select(School.id).where(School.code == "4301020001"))
        rollups.rebuild()
        db.session.commit()
        kept = rollups.stored()
        db.session.rollback()  # SQLite: end the read transaction before the other session writes
        with Session(db.engine) as other:
            other.add(User(role="student", real_name="脚本", school_id=school_id, student_number="G-SCRIPT"))
            other.execute(update(User).where(User.teacher_number == "T4301020001001").values(is_disabled=True))
            other.commit()
            assert not [key for key in other.info if key.startswith("rollups.")]
        assert rollups.stored() == kept
        assert rollups.ground_truth().totals != kept.totals
        rollups.rebuild()
        db.session.commit()
        assert_equal_to_ground_truth("rebuilt after the other session's writes")
