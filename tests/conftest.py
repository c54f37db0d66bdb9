"""Shared fixtures: a real MinIO server, a real SQLite or PostgreSQL database, the app.

``LEARNSPACE_TEST_DB`` picks the database (``sqlite`` by default, or
``postgresql`` with ``LEARNSPACE_TEST_POSTGRES_URL``). ``scripts/test`` runs the
whole suite on PostgreSQL (production's database) and the tests marked
``sqlite`` (``SQLITE_SET`` below) on SQLite too. MinIO is started here on a
free port with fresh random credentials, so two runs never collide.

Under pytest-xdist (``-n 2``) every worker has its own MinIO server, its own
var/search directories (``tmp_path_factory`` is per worker) and, on PostgreSQL,
its own database created next to the one in ``LEARNSPACE_TEST_POSTGRES_URL``
and dropped at the end (the role needs CREATEDB; scripts/test's role has it).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import tests.fixtures.snapshots  # noqa: F401  (its engine event must see every write from the start)

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

#: The tests that ``scripts/test`` also runs on SQLite (marker ``sqlite``). PostgreSQL
#: is production's database and runs everything; SQLite runs what goes through SQL
#: that differs between the two (upserts, locks, roll-up queries, migrations), the
#: concurrency tests, and the smoke tests. An entry ending in "/" is a folder
#: (wherever it sits under tests/), "FILE::NAME" one test, any other a file path
#: ending; each must still match something (pytest refuses to start otherwise).
SQLITE_SET = {
    # The dialect itself.
    "db/": "migrations up and down, engine and connection options, ID cards at rest",
    # ON CONFLICT upserts (transactions.conflict_insert) and the dialect-specific roll-up SQL.
    "activity/": "ActivityDay upserts and the roll-up upkeep",
    "stats/test_dashboard.py": "figures read through the roll-up queries",
    "study/test_learning.py": "watch progress and watch days: ON CONFLICT DO UPDATE",
    # Time-stamps compared in SQL: text on SQLite, so the UTC conversion on the way in matters.
    "accounts/test_login.py": "sign-in throttling counts the events newer than a cut-off",
    "admin/test_code_batches.py": "code batches: live codes and the reprint window compared with now in SQL",
    "accounts/test_reset.py": "reset codes: expiry compared in SQL, throttled failures, sessions ended",
    "accounts/test_throttle.py": "progressive delays: the n-th newest failure and the latest one, compared in SQL",
    "directory/test_recent.py": "recent changes since a China-time midnight",
    "spaces/test_teacher_space.py::test_visits_count_distinct_visitor_days_not_reloads_or_the_owner":
        "space visits: ON CONFLICT DO NOTHING",
    "spaces/test_teacher_space.py::test_the_same_visitor_counts_again_on_a_new_local_day":
        "space visits: ON CONFLICT DO NOTHING, day boundaries",
    "lessons/test_pages.py::test_anonymous_visitors_count_once_a_day_by_their_cookie_and_old_rows_are_pruned":
        "lesson views: ON CONFLICT DO NOTHING, the partial index of pending views, batches and pruning",
    "lessons/test_view_counts.py": "view batches racing: SKIP LOCKED vs the single writer",
    "moderation/test_blocked_words.py": "blocked terms (sqlite_autoincrement)",
    # Concurrency and locking: FOR UPDATE is a no-op on SQLite, which locks the whole file instead.
    "spaces/test_activation.py": "two activations racing (FOR UPDATE, unique insert)",
    "oidc/test_concurrent_sign_in.py": "concurrent first sign-ins creating one account",
    "search/test_concurrency.py": "index writers in several threads and processes",
    "jobs/": "the job queue: claims (SKIP LOCKED vs the single writer), leases, dedupe index, workers killed",
    "search/test_indexing.py": "the search outbox drained in step with commits",
    "search/test_freshness.py": "rename rows expanded by a bulk INSERT; catalogue subtrees found with LIKE on paths",
    "uploads/test_lifecycle.py": "upload lifecycle: deletion after commit, rows locked FOR UPDATE",
    "uploads/test_upload_api.py": "parts in flight at once, two completes racing (FOR UPDATE vs BEGIN IMMEDIATE)",
    "uploads/test_reconcile.py": "reconciling the database with MinIO: time-stamps compared in SQL",
    "uploads/test_minio_failure.py": "MinIO dying between parts, around complete, under the worker: nothing half-written",
    # Smoke: the app boots, reports healthy and its CLI works on SQLite.
    "test_smoke_boot.py": "smoke: boot, health, login page",
    "test_health.py": "smoke: /healthz with each part down",
    "test_metrics.py::test_job_gauges_show_depth_retries_and_the_oldest_due_wait":
        "/metrics job gauges: due times compared with now in SQL",
    "privacy/test_export_and_delete.py": "deletion leans on ON DELETE rules (SQLite's foreign keys) and the "
                                          "export job ends its transaction half way (SQLite's one writer)",
    "test_cli.py": "smoke: the console script on a new SQLite file",
    "demo/test_lessons.py": "smoke: scripts/run --demo loads (and reloads) the demo into the embedded default",
}


def _sqlite_entries(relative: str, name: str | None = None) -> list[str]:
    """The SQLITE_SET entries that test *name* of *relative* (a path under tests/; any test if None) falls under."""
    padded = "/" + relative
    found = []
    for entry in SQLITE_SET:
        path, _, test = entry.partition("::")
        if path.endswith("/"):
            matches = f"/{path}" in padded
        else:
            matches = padded.endswith(f"/{path}") and (not test or name is None or name == test)
        if matches:
            found.append(entry)
    return found


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite: also run on SQLite by scripts/test (SQLITE_SET in tests/conftest.py)")
    found = set()
    for path in TESTS.rglob("test_*.py"):
        for entry in _sqlite_entries(path.relative_to(TESTS).as_posix()):
            test = entry.partition("::")[2]
            if not test or f"def {test}(" in path.read_text(encoding="utf-8"):
                found.add(entry)
    missing = [entry for entry in SQLITE_SET if entry not in found]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py SQLITE_SET names {', '.join(missing)}, which no test "
                                "under tests/ matches any more: update the list")


def pytest_collection_modifyitems(config, items):
    """Mark the tests of ``SQLITE_SET`` with ``sqlite``."""
    for item in items:
        try:
            relative = item.path.relative_to(TESTS).as_posix()
        except ValueError:
            continue
        if _sqlite_entries(relative, getattr(item, "originalname", item.name)):
            item.add_marker(pytest.mark.sqlite)


#: the session app's bucket; its MinIO user may touch nothing else
APP_BUCKET = "learnspace-test"


@pytest.fixture(scope="session")
def minio_server(tmp_path_factory):
    """Start a real MinIO server for the whole session (versitygw with LEARNSPACE_TEST_S3=versitygw)."""
    from tests.fixtures.minio_process import MinioNotStarted
    from tests.fixtures.s3_alt import server_class

    data = tmp_path_factory.mktemp("minio-data")
    try:
        server = server_class()(data, log_path=data.parent / "minio.log").start()
    except MinioNotStarted as exc:
        pytest.exit(str(exc), returncode=2)
    # The session app runs as the least-privilege user scripts/run makes, limited to its bucket;
    # access_key/secret_key stay the root credentials for tests of storage itself.
    app_user = server.provision_app_user(APP_BUCKET)
    yield {"endpoint": server.endpoint, "access_key": server.access_key, "secret_key": server.secret_key,
           "process": server.proc, "server": server,  # server: a test may kill() and start() it again
           "app_access_key": app_user.access_key, "app_secret_key": app_user.secret_key, "app_bucket": APP_BUCKET}
    server.stop()


@pytest.fixture(scope="session")
def postgres_url():
    """The PostgreSQL URL of this process: ``LEARNSPACE_TEST_POSTGRES_URL``, or an xdist worker's own database."""
    url = os.environ.get("LEARNSPACE_TEST_POSTGRES_URL")
    if not url:
        yield None
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield url
        return
    from tests.fixtures.backends import worker_database

    with worker_database(url, worker) as own:
        yield own


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, request) -> str:
    """Return the URL of the real database this run tests against."""
    kind = os.environ.get("LEARNSPACE_TEST_DB", "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'learnspace.db'}"
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
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
        "LEARNSPACE_MINIO_ACCESS_KEY": minio_server["app_access_key"],
        "LEARNSPACE_MINIO_SECRET_KEY": minio_server["app_secret_key"],
        "LEARNSPACE_MINIO_BUCKET": APP_BUCKET,
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
    from tests.fixtures.snapshots import mark_empty
    from tests.fixtures.tables import empty_tables

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            # Most tests fill a handful of the ~40 tables: one query finds them and only
            # those are emptied (no sequence is reset).
            empty_tables(conn, list(reversed(db.metadata.sorted_tables)))
        mark_empty(db.engine)  # the builders' replays start from here (tests/fixtures/snapshots.py)


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
def world(app, request):
    """A small province: two counties with two schools each, and admins at every level."""
    from tests.fixtures.world import build_world, world_from_snapshot

    if "real_password_hasher" in request.fixturenames:  # the snapshot's hashes use the cheap parameters
        with app.app_context():
            return build_world()
    return world_from_snapshot(app)


# Real argon2id with the cheapest parameters everywhere (one test opts out and
# checks the production parameters); and make_app for a second "worker" app.
from tests.fixtures.apps import make_app  # noqa: E402,F401
from tests.fixtures.backends import empty_postgres_app, sqlite_app  # noqa: E402,F401
from tests.fixtures.fast_hashing import fast_password_hashing, real_password_hasher  # noqa: E402,F401
from tests.fixtures.worker import worker_thread  # noqa: E402,F401
