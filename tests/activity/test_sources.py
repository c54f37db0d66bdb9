"""The domain columns the roll-ups count (activity/rollups/sources.py) exist in the mapped models, as declared.

activity imports no domain package, so a renamed or retyped column would otherwise break the roll-ups only
when a statistics page or a write ran; these tests fail first. No database needed: the models' metadata is enough.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.types import TypeDecorator

import learnspace.models  # noqa: F401  (every domain's tables in db.metadata)
from learnspace.accounts.models import ROLES as ACCOUNT_ROLES
from learnspace.activity.rollups import sources
from learnspace.extensions import db
from learnspace.lessons.models import STATUSES as LESSON_STATUSES

ACTIVITY = Path(sources.__file__).resolve().parents[1]


def _python_type(column) -> type:
    kind = column.type
    if isinstance(kind, TypeDecorator):  # UTCDateTime is a DateTime underneath
        kind = kind.impl_instance
    return kind.python_type


@pytest.mark.parametrize("table, column", [(t, c) for t, columns in sources.READ.items() for c in columns])
def test_each_counted_column_exists_with_a_compatible_type(table, column):
    """Every declared table.column is in db.metadata, and its type gives the Python type the roll-ups expect."""
    assert table in db.metadata.tables, f"the roll-ups count table {table!r}, which no model maps any more"
    mapped = db.metadata.tables[table]
    assert column in mapped.c, f"the roll-ups count {table}.{column}, which the model no longer has"
    expected, actual = sources.READ[table][column], _python_type(mapped.c[column])
    assert issubclass(actual, expected), f"{table}.{column} is {actual.__name__}, the roll-ups expect {expected.__name__}"


@pytest.mark.parametrize("table, column", [(t, c) for t, columns in sources.WATCHED.items() for c in columns])
def test_each_watched_column_is_a_mapped_attribute_of_the_same_name(table, column):
    """The listeners read changes by attribute (history of obj.<column>): the mapped attribute must carry that name."""
    assert column in sources.READ[table], f"{table}.{column} is watched but not declared in READ"
    mapper = next(m for m in db.Model.registry.mappers if m.local_table is db.metadata.tables[table])
    attribute = mapper.column_attrs.get(column)
    assert attribute is not None and attribute.columns[0] is db.metadata.tables[table].c[column], \
        f"{mapper.class_.__name__}.{column} is not the mapped attribute of {table}.{column}"


def test_the_inserted_rows_the_listeners_read_are_mapped_too():
    """after_flush reads a new space's owner, time and school; before_flush a new person's school."""
    for table, columns in (("spaces", ("owner_id", "activated_dt", "activated_school_id")), ("users", ("id", "school_id"))):
        mapper = next(m for m in db.Model.registry.mappers if m.local_table is db.metadata.tables[table])
        assert all(c in mapper.column_attrs for c in columns), table


def test_the_counted_values_are_values_the_domains_use():
    """Roles "teacher" and "student" exist on users; "published" is a lesson status."""
    assert set(sources.ROLES) <= set(ACCOUNT_ROLES)
    assert sources.PUBLISHED in LESSON_STATUSES


def test_the_roll_ups_may_use_only_declared_columns():
    """table() gives only the declared columns, so code reading another one fails in any test that runs it."""
    users = sources.table("users")
    assert users.c.school_id is db.metadata.tables["users"].c.school_id
    with pytest.raises(AttributeError, match="do not declare column 'real_name'"):
        users.c.real_name  # noqa: B018
    with pytest.raises(AttributeError):
        users.alias("u").c.password_hash  # noqa: B018
    with pytest.raises(KeyError, match="do not declare table 'identities'"):
        sources.table("identities")
    # and the view works wherever SQLAlchemy takes a table
    spaces = sources.table("spaces")
    assert "LEFT OUTER JOIN spaces" in str(select(users.c.id).select_from(users.outerjoin(spaces, spaces.c.owner_id == users.c.id)))


def test_a_column_missing_from_the_models_is_named_at_first_use(monkeypatch):
    """A declaration the models no longer satisfy fails with a message naming the column and this module."""
    monkeypatch.setitem(sources.READ, "lessons", {**sources.READ["lessons"], "views_total": int})
    monkeypatch.setattr(sources, "_found", {})
    with pytest.raises(LookupError, match=r"lessons\.views_total.*sources\.py"):
        sources.table("lessons")


def test_activity_reaches_other_domains_tables_only_through_sources():
    """No module of activity but sources.py looks tables up in db.metadata or sorts objects by __tablename__."""
    offenders = []
    for path in ACTIVITY.rglob("*.py"):
        if path.name == "sources.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "tables" \
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "metadata":
                offenders.append(f"{path.name}:{node.lineno} metadata.tables")
            if isinstance(node, ast.Constant) and node.value == "__tablename__":
                offenders.append(f"{path.name}:{node.lineno} getattr __tablename__")
    assert offenders == []
