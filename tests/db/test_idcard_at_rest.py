"""ID-card numbers never reach the database in plain text: encrypted, keyed-hashed, masked."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from learnspace.accounts import idcard
from learnspace.accounts.models import User
from learnspace.accounts.roster import import_roster
from learnspace.extensions import db
from learnspace.orgs.operations import get_school_by_code
from tests.fixtures.rawfile import read_database_files
from tests.fixtures.rosters import SCHOOL, csv_bytes, student, teacher, valid_id

#: numbers that share no digits run with any 学籍号 or 教师编号 the tests use, so a hit means a leak
NUMBERS = [valid_id("51010419880214357"), valid_id("65010219750909246"), valid_id("32050219850612001")]


@pytest.fixture
def imported(world, ctx):
    """Import a roster with three ID-card numbers (one ending in X) and commit it."""
    assert NUMBERS[2].endswith("X")
    rows = [student("甲同学", "G430102201601017001", NUMBERS[0]),
            student("乙同学", "G430102201601017002", NUMBERS[1].lower()),
            teacher("丙老师", "T430102007003", NUMBERS[2].lower())]
    import_roster(io.BytesIO(csv_bytes(rows)), "r.csv", get_school_by_code(SCHOOL))
    db.session.commit()
    return NUMBERS


def forms_of(number: str) -> list[bytes]:
    """Byte patterns that would give the number away: UTF-8, UTF-16 and the 17 leading digits."""
    return [number.encode(), number.encode("utf-16-le"), number[:17].encode(), number.lower().encode()]


def test_the_sqlite_file_holds_no_plaintext_id_number_but_does_hold_the_masked_form(sqlite_app):
    """Scan the raw SQLite file and its WAL: no ID number in any encoding, while the masked text is found."""
    from learnspace.orgs import operations as orgs

    with sqlite_app.app_context():
        for code, name in [("430000", "湖南省"), ("430100", "长沙市"), ("430102", "芙蓉区")]:
            orgs.create_region(code, name)
        school = orgs.create_school(SCHOOL, "芙蓉区第一小学", "小学", "430102")
        rows = [student("甲同学", "G430102201601017001", NUMBERS[0]),
                student("乙同学", "G430102201601017002", NUMBERS[1].lower()),
                teacher("丙老师", "T430102007003", NUMBERS[2].lower())]
        import_roster(io.BytesIO(csv_bytes(rows)), "r.csv", school)
        db.session.commit()
        path = Path(db.engine.url.database)
        before_checkpoint = read_database_files(path)
        # A pooled DBAPI connection outside any transaction (as SQLite requires): no extra file descriptor to close.
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(FULL)")
        finally:
            raw.close()
        after_checkpoint = read_database_files(path)

    for raw_bytes in (before_checkpoint, after_checkpoint):
        for number in NUMBERS:
            for pattern in forms_of(number):
                assert pattern not in raw_bytes, f"plaintext ID-card digits found in {path}"
    for number in NUMBERS:
        assert idcard.mask(number).encode() in after_checkpoint  # the scan does see the users table


def test_no_column_of_any_table_holds_a_plaintext_id_number(imported):
    """Read every column of every table back (text and binary): no plaintext number anywhere."""
    seen_masked = set()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            for value in row:
                if isinstance(value, (bytes, bytearray, memoryview)):
                    blob = bytes(value)
                    for number in imported:
                        assert number.encode() not in blob and number[:17].encode() not in blob, table.name
                elif isinstance(value, str):
                    for number in imported:
                        assert number not in value.upper() and number[:17] not in value, table.name
                    seen_masked.update(n for n in imported if value == idcard.mask(n))
    assert seen_masked == set(imported)


def test_the_stored_form_is_encrypted_keyed_and_masked(imported):
    """The blob decrypts with the data key only, the hash is keyed (not a bare SHA-256), the mask shows 3+4."""
    people = {p.student_number or p.teacher_number: p for p in db.session.scalars(
        select(User).where(User.id_card_hash.is_not(None), User.school.has(code=SCHOOL)))}
    teacher_row = people["T430102007003"]
    assert teacher_row.id_card_masked == "320***********001X"
    assert idcard.decrypt(teacher_row.id_card_encrypted) == NUMBERS[2]
    for number, person in zip(imported, [people["G430102201601017001"], people["G430102201601017002"],
                                         teacher_row]):
        assert person.id_card_hash == idcard.lookup_hash(number)
        assert person.id_card_hash != hashlib.sha256(number.encode()).hexdigest()
        assert len(person.id_card_encrypted) == 12 + len(number) + 16  # nonce + ciphertext + GCM tag
    # the same number encrypts differently each time (random nonce), so equal blobs reveal nothing
    assert idcard.encrypt(NUMBERS[0]) != idcard.encrypt(NUMBERS[0])


def test_the_data_key_is_needed_to_decrypt(imported, app):
    """With a different data key the stored blob does not decrypt and look-ups do not match."""
    from cryptography.exceptions import InvalidTag

    person = db.session.scalar(select(User).where(User.student_number == "G430102201601017001"))
    settings = app.config["LEARNSPACE"]
    original = settings.data_key
    try:
        settings.data_key = bytes(32)
        with pytest.raises(InvalidTag):
            idcard.decrypt(person.id_card_encrypted)
        assert idcard.lookup_hash(NUMBERS[0]) != person.id_card_hash
    finally:
        settings.data_key = original
    assert idcard.decrypt(person.id_card_encrypted) == NUMBERS[0]
