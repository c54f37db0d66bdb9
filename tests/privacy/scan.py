"""Find what is left of a person: every table's columns pointing at users, and every text/JSON column."""
from __future__ import annotations

import json

from sqlalchemy import JSON, String, Text, func, select


def leftovers(user_id: int, needles: list[str]) -> list[str]:
    """Return where *user_id* (in a column pointing at users) or one of *needles* (in any text) still appears."""
    from learnspace.extensions import db

    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "users" for fk in column.foreign_keys) or (
                    table.name == "users" and column.name == "id"):
                n = db.session.scalar(select(func.count()).select_from(table).where(column == user_id))
                if n:
                    found.append(f"{table.name}.{column.name} = {user_id} ({n} rows)")
            elif isinstance(column.type, (String, Text, JSON)):
                for value in db.session.scalars(select(column).where(column.is_not(None))):
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    hits = [n for n in needles if n and n in text]
                    if hits:
                        found.append(f"{table.name}.{column.name} contains {hits}")
    return found
