"""Resident ID-card numbers (GB 11643): validation, masking, encryption, keyed look-up hash."""
from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest
from cryptography.exceptions import InvalidTag

from learnspace.accounts import idcard
from learnspace.errors import ValidationError


def gb11643_check(first17: str) -> str:
    """The check character computed independently from the standard's formula.

    W_i = 2^(i-1) mod 11 for positions 18..2, a_1 = (12 - sum mod 11) mod 11, 10 written as X.
    """
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    total = sum(int(d) * w for d, w in zip(first17, weights))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(region: str = "430102", born: str = "20150101", seq: str = "001") -> str:
    first17 = region + born + seq
    return first17 + gb11643_check(first17)


# --- validation ------------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "11010519491231002X",  # the example printed in GB 11643 itself
    make_id("430102", "20150101", "001"),
    make_id("440305", "19800229", "123"),  # leap day
    make_id("650102", "20000101", "999"),
])
def test_valid_numbers_are_accepted_unchanged(number):
    """A number with a correct birth date and check character validates to itself."""
    assert idcard.validate(number) == number


def test_independent_check_digit_agrees_with_standard_example():
    """Guard the test helper: it reproduces the standard's published example."""
    assert gb11643_check("11010519491231002") == "X"


def test_wrong_check_digit_is_refused_with_chinese_reason():
    """Changing only the last character makes the number invalid, and the message says why."""
    good = make_id()
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValidationError) as info:
        idcard.validate(wrong)
    assert "校验位" in info.value.message


@pytest.mark.parametrize("born", ["20150230", "20151301", "20150100", "18991231"])
def test_impossible_birth_date_is_refused_even_with_right_check_digit(born):
    """February 30th, month 13, day 0 or a year before 1900 are refused as a bad birth date."""
    with pytest.raises(ValidationError) as info:
        idcard.validate(make_id(born=born))
    assert "出生日期" in info.value.message


def test_birth_date_in_the_future_is_refused():
    """Nobody on a roster is born tomorrow."""
    tomorrow = (date.today() + timedelta(days=1)).strftime("%Y%m%d")
    with pytest.raises(ValidationError) as info:
        idcard.validate(make_id(born=tomorrow))
    assert "出生日期" in info.value.message


@pytest.mark.parametrize("raw", ["", "1234", "11010519491231002", "11010519491231002XX", "1101051949123100ZX",
                                 "A1010519491231002X"])
def test_wrong_length_or_characters_are_refused(raw):
    """Only 17 digits followed by a digit or X are accepted."""
    with pytest.raises(ValidationError) as info:
        idcard.validate(raw)
    assert "18 位" in info.value.message


def test_full_width_digits_and_lowercase_x_are_normalised():
    """Input typed with a Chinese IME (full-width digits, ｘ or x) validates to the plain form."""
    assert idcard.validate("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert idcard.validate("11010519491231002x") == "11010519491231002X"
    assert idcard.validate(" 110105 19491231 002X ") == "11010519491231002X"


# --- masking -----------------------------------------------------------------------

def test_mask_keeps_first_three_and_last_four():
    """The display form shows 3 + 11 stars + 4 characters, like 110***********123X."""
    assert idcard.mask("11010519491231002X") == "110***********002X"
    masked = idcard.mask(make_id())
    assert len(masked) == 18 and masked.count("*") == 11


# --- encryption and look-up hash -----------------------------------------------------

def test_encryption_round_trips_and_hides_the_number(ctx):
    """decrypt(encrypt(n)) == n; the blob neither contains n nor repeats between encryptions."""
    number = make_id()
    first, second = idcard.encrypt(number), idcard.encrypt(number)
    assert idcard.decrypt(first) == number
    assert idcard.decrypt(second) == number
    assert first != second  # a fresh nonce every time
    assert number.encode() not in first and number[6:14].encode() not in first


def test_tampered_ciphertext_is_rejected(ctx):
    """AES-GCM authenticates: flipping one byte makes decryption fail instead of returning garbage."""
    blob = bytearray(idcard.encrypt(make_id()))
    blob[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        idcard.decrypt(bytes(blob))


def test_lookup_hash_is_stable_and_distinguishes_numbers(ctx):
    """The same number always hashes the same; another number hashes differently; no plaintext."""
    number = make_id()
    digest = idcard.lookup_hash(number)
    assert digest == idcard.lookup_hash(number)
    assert digest != idcard.lookup_hash(make_id(seq="002"))
    assert len(digest) == 64 and number not in digest


def test_lookup_hash_and_encryption_depend_on_the_data_key(app, make_app):
    """Under another data key the hash differs and the old ciphertext cannot be read."""
    number = make_id()
    with app.app_context():
        digest = idcard.lookup_hash(number)
        blob = idcard.encrypt(number)
    other_key = base64.urlsafe_b64encode(bytes(range(32))).decode()
    other = make_app(env={"LEARNSPACE_DATA_KEY": other_key})
    with other.app_context():
        assert idcard.lookup_hash(number) != digest
        with pytest.raises(InvalidTag):
            idcard.decrypt(blob)
    same = make_app()  # same key as the main app (read from the var dir): same hash
    with same.app_context():
        assert idcard.lookup_hash(number) == digest


@pytest.mark.parametrize("bad_key", ["not base64 at all!", base64.urlsafe_b64encode(b"short").decode()])
def test_malformed_data_key_fails_fast_with_a_clear_message(make_app, bad_key):
    """A data key that is not 32 bytes of URL-safe base64 stops the app at start-up."""
    from learnspace.config import ConfigError

    with pytest.raises(ConfigError, match="LEARNSPACE_DATA_KEY must be 32 bytes"):
        make_app(env={"LEARNSPACE_DATA_KEY": bad_key})


def test_set_id_card_stores_only_ciphertext_hash_and_mask(app, world):
    """The person row keeps the encrypted number, its keyed hash and the mask; never the plaintext."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from tests.fixtures.people import stored_text

    number = make_id("430102", "20140505", "321")
    with app.app_context():
        person = db.session.get(User, world.people["student_b1"])
        accounts.set_id_card(person, number[:17] + number[17].lower())
        db.session.commit()
        assert person.id_card_masked == idcard.mask(number)
        assert person.id_card_hash == idcard.lookup_hash(number)
        assert idcard.decrypt(person.id_card_encrypted) == number
    assert number not in stored_text(app)


def test_set_id_card_refuses_an_invalid_number_and_keeps_the_old_one(app, world):
    """A bad number raises and leaves the stored one as it was."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        person = db.session.get(User, world.people["student_a1"])
        before = (person.id_card_hash, person.id_card_masked)
        good = make_id()
        with pytest.raises(ValidationError):
            accounts.set_id_card(person, good[:17] + ("0" if good[17] != "0" else "1"))
        assert (person.id_card_hash, person.id_card_masked) == before
