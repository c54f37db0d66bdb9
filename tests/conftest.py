"""Shared fixtures: a real MinIO server, a real SQLite or PostgreSQL database, the app.

``LEARNSPACE_TEST_DB`` picks the database (``sqlite`` by default, or
``postgresql`` with ``LEARNSPACE_TEST_POSTGRES_URL``); ``scripts/test`` runs the
suite once with each. MinIO is started here on a free port with fresh random
credentials, so two runs never collide.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def minio_server(tmp_path_factory):
    """Start a real MinIO server for the whole session."""
    from tests.fixtures.minio_process import MinioNotStarted, MinioProcess

    data = tmp_path_factory.mktemp("minio-data")
    try:
        server = MinioProcess(data, log_path=data.parent / "minio.log").start()
    except MinioNotStarted as exc:
        pytest.exit(str(exc), returncode=2)
    yield {"endpoint": server.endpoint, "access_key": server.access_key, "secret_key": server.secret_key,
           "process": server.proc}
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """Return the URL of the real database this run tests against."""
    kind = os.environ.get("LEARNSPACE_TEST_DB", "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'learnspace.db'}"
    if kind == "postgresql":
        url = os.environ.get("LEARNSPACE_TEST_POSTGRES_URL")
        if not url:
            pytest.exit("LEARNSPACE_TEST_DB=postgresql needs LEARNSPACE_TEST_POSTGRES_URL (scripts/test sets it)",
                        returncode=2)
        return url
    pytest.exit(f"unknown LEARNSPACE_TEST_DB={kind}", returncode=2)


@pytest.fixture(scope="session")
def oidc_world():
    """Real OpenID Connect provider processes (see tests/fixtures/oidc.py)."""
    from tests.fixtures.oidc import OIDCWorld

    world = OIDCWorld()
    yield world
    world.stop()


@pytest.fixture(scope="session")
def app_env(tmp_path_factory, minio_server, database_url, oidc_world):
    """Environment variables for an app pointed at the test MinIO, database and identity providers."""
    import json

    var = tmp_path_factory.mktemp("var")
    return {
        "LEARNSPACE_OIDC_PROVIDERS": json.dumps(oidc_world.entries, ensure_ascii=False),
        "LEARNSPACE_VAR_DIR": str(var),
        "LEARNSPACE_DATABASE_URL": database_url,
        "LEARNSPACE_MINIO_ENDPOINT": minio_server["endpoint"],
        "LEARNSPACE_MINIO_ACCESS_KEY": minio_server["access_key"],
        "LEARNSPACE_MINIO_SECRET_KEY": minio_server["secret_key"],
        "LEARNSPACE_MINIO_BUCKET": "learnspace-test",
        "LEARNSPACE_SEARCH_DIR": str(var / "search"),
    }


@pytest.fixture(scope="session")
def app(app_env):
    """The application, with the schema created by Alembic (not create_all)."""
    os.environ.update(app_env)
    from flask_migrate import downgrade, upgrade

    from learnspace import create_app
    from learnspace.search.generations import ensure_index
    from learnspace.storage import get_storage

    app = create_app({"TESTING": True})
    with app.app_context():
        if app_env["LEARNSPACE_DATABASE_URL"].startswith("postgresql"):
            downgrade(revision="base")  # a rerun against the same database starts clean
        upgrade()
        get_storage().ensure_bucket()
        ensure_index()
    return app


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Empty every table after each test that used the app, so tests stay independent."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from learnspace.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def ctx(app):
    """An application context for calling operations directly."""
    with app.app_context():
        yield
        from learnspace.extensions import db
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """A small province: two counties with two schools each, and admins at every level."""
    from tests.fixtures.world import build_world

    with app.app_context():
        return build_world()


# Real argon2id with the cheapest parameters everywhere (one test opts out and
# checks the production parameters); and make_app for a second "worker" app.
from tests.fixtures.apps import make_app  # noqa: E402,F401
from tests.fixtures.backends import empty_postgres_app, sqlite_app  # noqa: E402,F401
from tests.fixtures.fast_hashing import fast_password_hashing, real_password_hasher  # noqa: E402,F401
