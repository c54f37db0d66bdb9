"""The domain columns the roll-ups count: the one place activity names another domain's tables.

activity is a service (DESIGN.md section 3, layer 8) and imports no domain package, so it reaches
users, spaces, lessons, schools and regions by name, through ``db.metadata``. Every table, column and
value it relies on is declared here, and ``table()`` lets the roll-up code use only those columns
(any other raises AttributeError). tests/activity/test_sources.py checks the declarations against the
mapped models: renaming or retyping a counted column fails that test, not a statistics page.
"""
from __future__ import annotations

from datetime import datetime

from ...extensions import db

#: table → column → the Python type the roll-ups expect of it: what they read (COUNT(*), joins, chains)
READ: dict[str, dict[str, type]] = {
    "users": {"id": int, "school_id": int, "role": str, "is_disabled": bool},
    "spaces": {"id": int, "owner_id": int, "activated_dt": datetime, "activated_school_id": int},
    "lessons": {"id": int, "school_id": int, "teacher_id": int, "status": str, "created_dt": datetime,
                "published_dt": datetime, "view_count": int},
    "schools": {"id": int, "county_code": str},
    "regions": {"code": str, "parent_code": str},
}

#: table → the mapped attributes (named as their columns) whose change changes a figure; the session
#: listeners of upkeep watch these, and every insert and delete of a row of these tables
WATCHED: dict[str, tuple[str, ...]] = {
    "users": ("school_id", "role", "is_disabled"),
    "spaces": ("owner_id",),
    "lessons": ("school_id", "teacher_id", "status", "created_dt", "published_dt", "view_count"),
}

#: values of users.role that are counted (figures are kept per role)
ROLES = ("teacher", "student")
#: the value of lessons.status of a published lesson
PUBLISHED = "published"


class Columns:
    """The declared columns of one table, by attribute (``t.c.school_id``) or by name (``t.c["school_id"]``)."""

    def __init__(self, columns: dict):
        self._columns = columns

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_columns"][name]
        except KeyError:
            raise AttributeError(f"the roll-ups do not declare column {name!r} (see activity/rollups/sources.py)") \
                from None

    def __getitem__(self, name: str):
        return getattr(self, name)

    def __iter__(self):
        return iter(self._columns.values())


class Source:
    """A domain table as the roll-ups may use it: ``.c`` has only the declared columns.

    Usable wherever SQLAlchemy takes a table (select_from, join); ``alias()`` keeps the restriction.
    """

    def __init__(self, table, names):
        self.table = table
        self.c = Columns({name: table.c[name] for name in names})

    def __clause_element__(self):
        return self.table

    def alias(self, name: str) -> Source:
        return Source(self.table.alias(name), [c.name for c in self.c])

    def join(self, right, onclause=None, isouter: bool = False):
        return self.table.join(right, onclause, isouter=isouter)

    def outerjoin(self, right, onclause=None):
        return self.table.outerjoin(right, onclause)


_found: dict[str, Source] = {}


def table(name: str) -> Source:
    """Return the declared columns of a domain table (looked up in db.metadata; this service imports no domain)."""
    found = _found.get(name)
    if found is None:
        if name not in READ:
            raise KeyError(f"the roll-ups do not declare table {name!r} (see activity/rollups/sources.py)")
        mapped = db.metadata.tables.get(name)
        missing = [c for c in READ[name] if mapped is None or c not in mapped.c]
        if missing:
            raise LookupError(f"the roll-ups count {', '.join(f'{name}.{c}' for c in missing)}, which the models "
                              "no longer have: update activity/rollups/sources.py and the code that reads them")
        found = _found[name] = Source(mapped, READ[name])
    return found


def table_name(obj) -> str | None:
    """Return the table a mapped object is a row of (the listeners sort changed objects with it)."""
    mapped = getattr(type(obj), "__table__", None)
    return getattr(mapped, "name", None)
