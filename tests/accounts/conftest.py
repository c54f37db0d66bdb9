"""Fixtures shared by this folder's tests (defined in tests/fixtures/)."""
from tests.fixtures.apps import make_app  # noqa: F401
from tests.fixtures.fast_hashing import fast_password_hashing, real_password_hasher  # noqa: F401
