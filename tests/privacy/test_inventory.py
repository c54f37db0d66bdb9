"""The data inventory classifies every mapped column, and only those."""
from __future__ import annotations

import pytest

import learnspace.models  # noqa: F401  (every table registered)
from learnspace.extensions import db
from learnspace.privacy import inventory
from learnspace.privacy.inventory import INVENTORY

KINDS = {inventory.ID, inventory.CONTENT, inventory.PSEUDO, inventory.NONE}
PROTECTIONS = {inventory.ENCRYPTED, inventory.HASHED, inventory.MASKED, inventory.SCOPED, inventory.PLAIN}


def _mapped() -> dict[str, set[str]]:
    return {name: {c.name for c in table.columns} for name, table in db.metadata.tables.items()}


def test_every_mapped_column_is_classified_and_nothing_else():
    missing, stale = inventory.check(_mapped())
    assert not missing, f"columns the privacy inventory does not classify (learnspace/privacy/inventory.py): {missing}"
    assert not stale, f"the privacy inventory names columns that no longer exist: {stale}"


def test_classifications_use_the_known_words_and_name_real_columns():
    for name, spec in INVENTORY.items():
        assert spec.on_delete in ("delete", "anonymise", "keep", "none"), name
        assert spec.why.strip(), f"{name}: say why"
        for column, (kind, protection) in spec.columns.items():
            assert kind in KINDS and protection in PROTECTIONS, f"{name}.{column}"
        for column in spec.owner + spec.refs + spec.secret:
            assert column in spec.columns, f"{name}: {column} is not one of its columns"


def test_every_column_pointing_at_a_person_is_an_owner_or_a_ref():
    """A foreign key to users is a decision: the row is the person's (owner) or names them as an actor (ref)."""
    for name, table in db.metadata.tables.items():
        for column in table.columns:
            if any(fk.column.table.name == "users" for fk in column.foreign_keys):
                spec = INVENTORY[name]
                assert column.name in spec.owner + spec.refs, f"{name}.{column.name} points at users"


def test_identifying_columns_are_protected_and_not_plain():
    for name, spec in INVENTORY.items():
        for column, (kind, protection) in spec.columns.items():
            if kind in (inventory.ID, inventory.CONTENT):
                assert protection != inventory.PLAIN, f"{name}.{column} holds personal data unprotected"


@pytest.mark.parametrize("column", ["id_card_encrypted", "id_card_hash", "password_hash"])
def test_secrets_of_the_users_table_never_reach_an_export(column):
    assert column in INVENTORY["users"].secret


def test_a_new_or_a_dropped_column_is_reported():
    """The check compares with what is mapped: a column gained, or one gone, is named."""
    mapped = _mapped()
    mapped["users"] = mapped["users"] | {"nickname"}
    mapped["comments"] = mapped["comments"] - {"body"}
    mapped["new_table"] = {"id"}
    missing, stale = inventory.check(mapped)
    assert missing == ["new_table.id", "users.nickname"]
    assert stale == ["comments.body"]


def test_the_inventory_command_lists_personal_columns_with_their_protection():
    from click.testing import CliRunner

    from learnspace.privacy.cli import privacy_group

    out = CliRunner().invoke(privacy_group, ["inventory"]).output
    assert "users  [删除]" in out
    assert "id_card_encrypted        可识别身份，保护：加密" in out
    assert "catalog_nodes" not in out  # no personal column there
    assert "catalog_nodes" in CliRunner().invoke(privacy_group, ["inventory", "--all"]).output
