from __future__ import annotations

import pytest

from tests.fixtures.browse import build_browse_world
from tests.fixtures.people import signed_in


@pytest.fixture
def bw(app, world):
    """The browsing world (tests.fixtures.browse.build_browse_world)."""
    return build_browse_world(app, world)


@pytest.fixture
def as_person(app, bw):
    """Return ``as_person(key)``: a test client signed in as that person (None: anonymous)."""
    def sign_in(key):
        return app.test_client() if key is None else signed_in(app, bw.logins[key])
    return sign_in
