"""Keeping the roll-ups right as people, spaces, activity and lessons change (the map: activity/README.md).

The session listeners below follow the application's session factory (``db.session``'s sessionmaker)
only: a session built elsewhere (a benchmark's, another library's) keeps no roll-ups. They note what a
flush changed; settle() recounts it before the transaction commits. Which tables and columns they watch
is declared in sources.py.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import delete, event, inspect, select, tuple_
from sqlalchemy.orm import Session

from ...china_time import local_day
from ...extensions import db
from ...transactions import conflict_insert
from ..models import ActiveMark, ActivityDay, RollupDay, RollupPeriod, RollupTotal
from . import counts, sources
from .chains import chain_of, chains, chunks, school_key, units_of_school
from .counts import is_postgres, period_start
from .sources import PUBLISHED, ROLES, WATCHED, table_name

_SCHOOLS = "rollups.schools"      # session.info: school ids whose totals need a recount
_OWNERS = "rollups.owners"        # session.info: user ids whose current school needs a recount
_FULL = "rollups.full"            # session.info: an unattributable bulk change; recount every school
_LESSON_SCHOOLS = "rollups.lesson_schools"  # session.info: school ids whose lesson views need a recount
_LESSON_DAYS = "rollups.lesson_days"        # session.info: (school id, day) whose lessons made need a recount
_KEEP_HISTORY = "rollups.keep_history"      # session.info: user ids deleted with their past counts kept
#: the figures of rollup_totals and rollup_days, in the order recounts and the ground truth give them
TOTAL_FIGURES = ("rostered", "activated", "publishing_teachers", "views")
DAY_FIGURES = ("new_activations", "active", "uploaded", "published")

# --- writing helpers ------------------------------------------------------------------------------


def _add_days(deltas: dict[tuple[str, str, date], Counter]) -> None:
    """Add figure deltas ({column: n}) to rollup_days rows, creating them; rows in sorted order."""
    rows = [dict(unit=u, role=r, day=d, **{f: delta.get(f, 0) for f in DAY_FIGURES})
            for (u, r, d), delta in sorted(deltas.items()) if any(delta.values())]
    if not rows:
        return
    table = RollupDay.__table__
    stmt = conflict_insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=["unit", "role", "day"],
                                      set_={f: table.c[f] + stmt.excluded[f] for f in DAY_FIGURES})
    db.session.execute(stmt)


def _add_periods(deltas: dict[tuple[str, str, str, date], int]) -> None:
    """Add active counts to rollup_periods rows, creating them; rows in sorted order."""
    rows = [dict(unit=u, role=r, period=p, start=s, active=a)
            for (u, r, p, s), a in sorted(deltas.items()) if a]
    if not rows:
        return
    table = RollupPeriod.__table__
    stmt = conflict_insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit", "role", "period", "start"],
        set_={"active": table.c.active + stmt.excluded.active})
    db.session.execute(stmt)


def _count_marks(marks, sign: int) -> None:
    """Add *sign* for each (period, start, school_id, role) mark to the counters of its units."""
    if not marks:
        return
    chain_map = chains(m[2] for m in marks)
    days: dict = defaultdict(Counter)
    periods: Counter = Counter()
    for period, start, school_id, role in marks:
        for unit in chain_of(chain_map, school_id):
            if period == "day":
                days[(unit, role, start)]["active"] += sign
            else:
                periods[(unit, role, period, start)] += sign
    _add_days(days)
    _add_periods(periods)


def _insert_marks(user_id: int, role: str, marks: list[tuple[str, date, int | None]]) -> None:
    """Insert (period, start, school) marks of a person; count the ones that were not there yet."""
    if not marks:
        return
    table = ActiveMark.__table__
    stmt = (conflict_insert(table)
            .values([dict(user_id=user_id, period=p, start=s, school_id=school, role=role)
                     for p, s, school in marks])
            .on_conflict_do_nothing(index_elements=["user_id", "period", "start"])
            .returning(table.c.period, table.c.start, table.c.school_id))
    inserted = db.session.execute(stmt).all()
    _count_marks([(p, s, school, role) for p, s, school in inserted], +1)


def _lock_users(session: Session, user_ids) -> list[tuple[int, int | None]]:
    """Lock people's rows (FOR NO KEY UPDATE on PostgreSQL) and return (id, latest school id).

    Serialises the roll-up work of one person: an activation and a concurrent first action, or two
    concurrent transfers, then see each other's committed rows instead of both missing them.
    """
    ids = sorted({int(i) for i in user_ids if i is not None})
    if not ids:
        return []
    users = sources.table("users")
    stmt = select(users.c.id, users.c.school_id).where(users.c.id.in_(ids)).order_by(users.c.id)
    if is_postgres(session):
        stmt = stmt.with_for_update(key_share=True)
    return [tuple(r) for r in session.execute(stmt)]


def _has_space(user_id: int) -> bool:
    spaces = sources.table("spaces")
    return db.session.scalar(select(spaces.c.id).where(spaces.c.owner_id == user_id)) is not None


# --- hooks called by activity.record and spaces.activate ------------------------------------------

def activity_recorded(user, day: date) -> None:
    """Count *user* active on *day* and in its week and month, once each; call after the ActivityDay upsert."""
    if not _enabled or user.role not in ROLES:
        return
    _lock_users(db.session, [user.id])
    if not _has_space(user.id):
        return
    _insert_marks(user.id, user.role, [(p, period_start(p, day), user.school_id) for p in ("day", "week", "month")])


def space_activated(user_id: int, activated_dt: datetime, school_id: int | None) -> None:
    """Count a new space in its day at *school_id*; count activity the owner had before it existed.

    Called for every inserted space by the after_flush listener below, whichever code inserted it.
    """
    _lock_users(db.session, [user_id])
    users = sources.table("users")
    role = db.session.scalar(select(users.c.role).where(users.c.id == user_id))
    if role not in ROLES:
        return
    day = local_day(activated_dt)
    _add_days({(unit, role, day): Counter(new_activations=1) for unit in units_of_school(school_id)})
    rows = db.session.execute(select(ActivityDay.day, ActivityDay.school_id)
                              .where(ActivityDay.user_id == user_id).order_by(ActivityDay.id)).all()
    first: dict[tuple[str, date], int | None] = {}
    for row_day, row_school in rows:
        for p in ("day", "week", "month"):
            first.setdefault((p, period_start(p, row_day)), row_school)
    _insert_marks(user_id, role, [(p, s, school) for (p, s), school in first.items()])


def keep_history(user_ids, session: Session | None = None) -> None:
    """Keep the past counts of these people when they are deleted in this transaction (a PIPL erasure).

    Their marks still go (they name the person), but the day/period counters and new activations they
    made stay: anonymous figures. ``truth.rebuild()`` recounts from living rows, so it drops them.
    """
    session = session if session is not None else db.session()
    _note(session, _KEEP_HISTORY, user_ids)


def _forget_users(session: Session, user_ids) -> None:
    """Take deleted people's (or deleted spaces') activations and marks out of the day/period counters."""
    kept = set(user_ids) & session.info.get(_KEEP_HISTORY, set())
    if kept:
        session.execute(delete(ActiveMark.__table__).where(ActiveMark.__table__.c.user_id.in_(sorted(kept))))
        user_ids = set(user_ids) - kept
    if not user_ids:
        return
    users, spaces = sources.table("users"), sources.table("spaces")
    marks = ActiveMark.__table__
    with session.no_autoflush:
        for chunk in chunks(sorted(user_ids), 500):
            rows = session.execute(select(marks.c.period, marks.c.start, marks.c.school_id, marks.c.role)
                                   .where(marks.c.user_id.in_(chunk))).all()
            _count_marks([tuple(r) for r in rows], -1)
            session.execute(delete(marks).where(marks.c.user_id.in_(chunk)))
            spaced = session.execute(
                select(spaces.c.activated_dt, spaces.c.activated_school_id, users.c.role)
                .join(users, users.c.id == spaces.c.owner_id)
                .where(spaces.c.owner_id.in_(chunk), users.c.role.in_(ROLES))).all()
            chain_map = chains(r[1] for r in spaced)
            days: dict = defaultdict(Counter)
            for activated_dt, school_id, role in spaced:
                day = local_day(activated_dt if isinstance(activated_dt, datetime)
                                else datetime.fromisoformat(str(activated_dt)))
                for unit in chain_of(chain_map, school_id):
                    days[(unit, role, day)]["new_activations"] -= 1
            _add_days(days)


# --- noting what a transaction touched and recounting it before commit -----------------------------

_SESSION_KEYS = (_SCHOOLS, _OWNERS, _FULL, _LESSON_SCHOOLS, _LESSON_DAYS)
_LESSON_COLUMNS = WATCHED["lessons"]
_enabled = True  # see suspended()


@contextmanager
def suspended():
    """Keep no roll-ups inside the block, in every thread: scripts/bench/rollup_writes.py times writes without them.

    Roll-ups written meanwhile are wrong until ``learnspace stats rebuild-rollups``; never for the application.
    """
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True


def _note(session: Session, key: str, values) -> None:
    session.info.setdefault(key, set()).update(v for v in values if v is not None)


def _lesson_days(school_id, status, created_dt, published_dt) -> set[tuple[int, date]]:
    """The (school, day) rows whose uploaded/published figures a lesson in this state counts in."""
    days = set()
    if school_id is not None and created_dt is not None:
        days.add((school_id, local_day(created_dt)))
    if school_id is not None and status == PUBLISHED and published_dt is not None:
        days.add((school_id, local_day(published_dt)))
    return days


def _note_lessons(session: Session, changed: dict[int, set[str]], states: list[dict]) -> None:
    """Note the schools, teachers and days that changed lessons count in, before and after the change.

    *states* are the lessons' values in this session, old and new; the rows as the database has them
    now are read under a row lock too, so a concurrent change committed meanwhile is recounted as well.
    """
    lessons = sources.table("lessons")
    if changed:
        stmt = (select(*(lessons.c[c] for c in ("id",) + _LESSON_COLUMNS))
                .where(lessons.c.id.in_(sorted(changed))).order_by(lessons.c.id))
        if is_postgres(session):
            stmt = stmt.with_for_update()
        for row in session.execute(stmt):
            states.append(dict(row._mapping, changed=changed[row.id]))
    days, teachers, view_schools = set(), set(), set()
    for state in states:
        what = state["changed"]
        if what & {"school_id", "status", "created_dt", "published_dt"}:
            days |= _lesson_days(state["school_id"], state["status"], state["created_dt"], state["published_dt"])
        if what & {"teacher_id", "status"}:
            teachers.add(state["teacher_id"])
        if what & {"school_id", "status", "view_count"}:
            view_schools.add(state["school_id"])
    _note(session, _LESSON_DAYS, days)
    _note(session, _OWNERS, teachers)
    _note(session, _LESSON_SCHOOLS, view_schools)


# db.session (a scoped_session) stands for its sessionmaker, whose own Session subclass the listeners join.

@event.listens_for(db.session, "before_flush")
def _before_flush(session, flush_context, instances):
    """Note the schools, owners and lesson days whose figures this flush's changes of watched columns touch."""
    if not _enabled:
        return
    schools, owners, forget, moved = set(), set(), set(), set()
    lessons_changed: dict[int, set[str]] = {}
    lesson_states: list[dict] = []
    for obj in session.new:
        name = table_name(obj)
        if name == "users":
            schools.add(obj.school_id)
        elif name == "spaces":
            owners.add(obj.owner_id)
    for obj in session.deleted:
        name = table_name(obj)
        if name == "users":
            state = inspect(obj)
            schools.add(state.committed_state.get("school_id", obj.school_id))
            schools.add(obj.school_id)
            forget.add(obj.id)
        elif name == "spaces":
            owners.add(obj.owner_id)
            forget.add(obj.owner_id)
        elif name == "lessons":
            lessons_changed[obj.id] = set(_LESSON_COLUMNS)
    for obj in session.dirty:
        name = table_name(obj)
        if name == "users":
            state = inspect(obj)
            changed = False
            for attr in WATCHED["users"]:
                history = state.attrs[attr].history
                if history.added or history.deleted:
                    changed = True
                    if attr == "school_id":
                        schools.update(history.added)
                        schools.update(history.deleted)
            if changed:
                moved.add(obj.id)
                schools.add(obj.school_id)
                if "school_id" in state.committed_state:
                    schools.add(state.committed_state["school_id"])
        elif name == "spaces":
            state = inspect(obj)
            for attr in WATCHED["spaces"]:  # the owner: the space counts at the owner's school
                history = state.attrs[attr].history
                owners.update(history.added)
                owners.update(history.deleted)
        elif name == "lessons":
            state = inspect(obj)
            what = {c for c in _LESSON_COLUMNS if state.attrs[c].history.has_changes()}
            if what:
                lessons_changed[obj.id] = what
                new = {c: getattr(obj, c) for c in _LESSON_COLUMNS if c != "view_count"}
                old = {c: (state.attrs[c].history.deleted or [new[c]])[0] for c in new}
                lesson_states += [dict(new, changed=what), dict(old, changed=what)]
    # The school a concurrent transaction just moved the person to is not in our history: read it locked.
    schools.update(school for _, school in _lock_users(session, moved))
    _note(session, _SCHOOLS, schools)
    _note(session, _OWNERS, owners)
    _note_lessons(session, lessons_changed, lesson_states)
    _forget_users(session, {i for i in forget if i is not None})


@event.listens_for(db.session, "after_flush")
def _after_flush(session, flush_context):
    """Count the spaces this flush inserted and note the lessons it inserted (their defaults are set now)."""
    if not _enabled:
        return
    new_lessons = []
    for obj in list(session.new):  # still the objects this flush inserted
        name = table_name(obj)
        if name == "spaces":
            space_activated(obj.owner_id, obj.activated_dt, obj.activated_school_id)
        elif name == "lessons":  # here, not before the flush: created_dt gets its default in the INSERT
            new_lessons.append(dict({c: getattr(obj, c) for c in _LESSON_COLUMNS}, changed=set(_LESSON_COLUMNS)))
    if new_lessons:
        _note_lessons(session, {}, new_lessons)


@event.listens_for(db.session, "do_orm_execute")
def _bulk_statement(state):
    """Note schools touched by Core/bulk statements on users, spaces or lessons that bypass the flush."""
    if not (state.is_insert or state.is_update or state.is_delete) or not _enabled:
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name not in WATCHED:
        return
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    if state.is_insert and name != "lessons" and rows and all(isinstance(r, dict) for r in rows):
        column = "school_id" if name == "users" else "owner_id"
        if all(column in r for r in rows):
            _note(state.session, _SCHOOLS if name == "users" else _OWNERS, (r[column] for r in rows))
            return
    # An UPDATE/DELETE with a WHERE clause (or an INSERT without the column): who knows which schools.
    state.session.info[_FULL] = True


@event.listens_for(db.session, "before_commit")
def _before_commit(session):
    """Recount what the transaction noted: the roll-ups commit with the changes that moved them."""
    if _enabled:
        settle(session)


@event.listens_for(db.session, "after_transaction_end")
def _after_transaction_end(session, transaction):
    # Only when the whole transaction ends: a rolled-back savepoint (activate's lost race) keeps the notes.
    if transaction.parent is None:
        forget_notes(session)


def forget_notes(session: Session) -> None:
    """Drop what this transaction noted for recounting (a rebuild recounts everything anyway)."""
    for key in _SESSION_KEYS:
        session.info.pop(key, None)
    session.info.pop(_KEEP_HISTORY, None)


def settle(session: Session | None = None) -> None:
    """Recount every school and lesson day touched in this transaction.

    Runs before every commit of the application's session; call it to count a transaction's changes
    before then (the roll-up reads never do).
    """
    session = session if session is not None else db.session()
    info = session.info
    session.flush()  # pending changes note their schools in before_flush
    if not any(info.get(key) for key in _SESSION_KEYS):
        return
    people = set(info.pop(_SCHOOLS, ()))
    owners = info.pop(_OWNERS, set())
    view_schools = set(info.pop(_LESSON_SCHOOLS, ()))
    days = set(info.pop(_LESSON_DAYS, ()))
    full = info.pop(_FULL, False)
    for chunk in chunks(sorted(owners), 500):
        people.update(school for _, school in _lock_users(session, chunk))
    if full:
        every = set(session.scalars(select(sources.table("schools").c.id)))
        every.update(int(u.split(":")[1]) for u in session.scalars(
            select(RollupTotal.unit).where(RollupTotal.unit.like("school:%"))))
        people |= every
        view_schools |= every
        days |= set(counts.lesson_days(session))
        days.update((int(u.split(":")[1]), counts.as_date(d)) for u, d in session.execute(
            select(RollupDay.unit, RollupDay.day).where(RollupDay.unit.like("school:%"), RollupDay.role == "teacher",
                                                        (RollupDay.uploaded != 0) | (RollupDay.published != 0))))
    people.discard(None)
    view_schools.discard(None)
    # Days before totals: the first action of a day already locked day rows (one lock order, fewer deadlocks).
    if days:
        _recount_lesson_days(session, sorted(days))
    if people or view_schools:
        _recount_totals(session, people, view_schools)


def _lock_rows(session: Session, table, stmt, wanted: list[dict]) -> list:
    """Lock and return the roll-up rows *stmt* selects, creating the missing ones of *wanted* first.

    A concurrent recount of the same rows waits on the lock and then counts with our committed
    changes included (READ COMMITTED reads anew per statement).
    """
    if is_postgres(session):
        stmt = stmt.with_for_update()
    rows = session.execute(stmt).all()
    if len(rows) < len(wanted):
        keys = [c.name for c in table.primary_key.columns]
        session.execute(conflict_insert(table).values(wanted).on_conflict_do_nothing(index_elements=keys))
        rows = session.execute(stmt).all()
    return rows


def _recount_totals(session: Session, people: set[int], view_schools: set[int]) -> None:
    """Recount the people figures of *people* schools and the views of *view_schools*, and add the differences up."""
    table = RollupTotal.__table__
    school_ids = sorted(people | view_schools)
    chain_map = chains(school_ids)
    ancestors: dict = defaultdict(Counter)
    for chunk in chunks(school_ids, 500):
        units = {school_key(s): s for s in chunk}
        rows = _lock_rows(session, table, select(table.c.unit, table.c.role, *(table.c[f] for f in TOTAL_FIGURES))
                          .where(table.c.unit.in_(sorted(units))).order_by(table.c.unit, table.c.role),
                          [dict(unit=u, role=r, **dict.fromkeys(TOTAL_FIGURES, 0)) for u in sorted(units) for r in ROLES])
        stored = {(units[u], r): dict(zip(TOTAL_FIGURES, values)) for u, r, *values in rows}
        counted_people = counts.people_by_school(session, [s for s in chunk if s in people]) \
            if people.intersection(chunk) else {}
        counted_views = counts.views_by_school(session, [s for s in chunk if s in view_schools]) \
            if view_schools.intersection(chunk) else {}
        for (school_id, role), old in sorted(stored.items()):
            new = dict(old)
            if school_id in people:
                new.update(zip(TOTAL_FIGURES[:3], counted_people.get((school_id, role), (0, 0, 0))))
            if school_id in view_schools:
                new["views"] = counted_views.get(school_id, 0) if role == "teacher" else 0
            if new == old:
                continue
            session.execute(table.update().where(table.c.unit == school_key(school_id), table.c.role == role)
                            .values(**new))
            for unit in chain_of(chain_map, school_id)[1:]:
                ancestors[(unit, role)].update({f: new[f] - old[f] for f in TOTAL_FIGURES})
    rows = [dict(unit=u, role=r, **{f: delta.get(f, 0) for f in TOTAL_FIGURES})
            for (u, r), delta in sorted(ancestors.items()) if any(delta.values())]
    if rows:
        stmt = conflict_insert(table).values(rows)
        session.execute(stmt.on_conflict_do_update(index_elements=["unit", "role"],
                                                   set_={f: table.c[f] + stmt.excluded[f] for f in TOTAL_FIGURES}))


def _recount_lesson_days(session: Session, pairs: list[tuple[int, date]]) -> None:
    """Recount lessons uploaded and published on (school, day) pairs and add the differences up the chain."""
    table = RollupDay.__table__
    chain_map = chains(s for s, _ in pairs)
    ancestors: dict = defaultdict(Counter)
    for chunk in chunks(pairs, 500):
        keys = {(school_key(s), d): (s, d) for s, d in chunk}
        rows = _lock_rows(session, table, select(table.c.unit, table.c.day, table.c.uploaded, table.c.published)
                          .where(table.c.role == "teacher", tuple_(table.c.unit, table.c.day).in_(sorted(keys)))
                          .order_by(table.c.unit, table.c.day),
                          [dict(unit=u, role="teacher", day=d, **dict.fromkeys(DAY_FIGURES, 0)) for u, d in sorted(keys)])
        stored = {keys[(u, counts.as_date(d))]: (up, pub) for u, d, up, pub in rows}
        counted = counts.lesson_days(session, chunk)
        for (school_id, day), old in sorted(stored.items()):
            new = counted[(school_id, day)]
            if new == old:
                continue
            session.execute(table.update().where(table.c.unit == school_key(school_id), table.c.role == "teacher",
                                                 table.c.day == day).values(uploaded=new[0], published=new[1]))
            for unit in chain_of(chain_map, school_id)[1:]:
                ancestors[(unit, "teacher", day)].update(uploaded=new[0] - old[0], published=new[1] - old[1])
    _add_days(ancestors)
