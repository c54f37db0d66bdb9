"""``GET /healthz``: 200 when the database, MinIO and the search index are up; 503 naming what is down."""
from __future__ import annotations

import time

import pytest

from tests.fixtures.helpers import free_port


@pytest.fixture
def other_app(make_app):
    """Build a second app from the session's environment with some LEARNSPACE_* settings changed."""
    return lambda **env: make_app(env={f"LEARNSPACE_{name}": value for name, value in env.items()})


def healthz(app):
    started = time.monotonic()
    response = app.test_client().get("/healthz")
    return response, response.get_json(), time.monotonic() - started


def test_all_parts_up_answers_200_with_each_part_ok(app):
    """With the real database, MinIO and index the answer is 200, status ok, nothing failing."""
    response, body, _ = healthz(app)
    assert response.status_code == 200, body
    assert response.mimetype == "application/json"
    assert body["status"] == "ok" and body["failing"] == []
    for part in ("database", "storage", "search"):
        assert body[part]["ok"] is True, body
    assert body["search"]["detail"].startswith("ok")


def test_minio_down_answers_503_naming_storage(other_app):
    """MinIO unreachable (nothing listens on the port): 503, only storage failing, answered quickly."""
    response, body, elapsed = healthz(other_app(MINIO_ENDPOINT=f"127.0.0.1:{free_port()}"))
    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["failing"] == ["storage"], body
    assert body["storage"]["ok"] is False and body["storage"]["detail"].startswith("unreachable")
    assert body["database"]["ok"] is True and body["search"]["ok"] is True
    assert elapsed < 10


def test_missing_bucket_answers_503_naming_storage(other_app):
    """MinIO up but the configured bucket never created: storage is reported as failing with the reason."""
    response, body, _ = healthz(other_app(MINIO_BUCKET="ls-no-such-bucket"))
    assert response.status_code == 503
    assert body["failing"] == ["storage"], body
    assert "ls-no-such-bucket" in body["storage"]["detail"]


def test_missing_search_index_answers_503_naming_search(other_app, tmp_path):
    """An empty search directory (index never created): 503 with search failing and a hint to run init."""
    empty = tmp_path / "empty-index"
    empty.mkdir()
    response, body, _ = healthz(other_app(SEARCH_DIR=str(empty)))
    assert response.status_code == 503
    assert body["failing"] == ["search"]
    assert "learnspace init" in body["search"]["detail"]


def test_search_directory_that_does_not_exist_answers_503(other_app, tmp_path):
    """A search directory path that does not exist is reported, not a 500."""
    response, body, _ = healthz(other_app(SEARCH_DIR=str(tmp_path / "gone")))
    assert response.status_code == 503
    assert body["failing"] == ["search"]


def test_corrupt_search_index_answers_503_naming_search(other_app, tmp_path):
    """Garbage where the Whoosh table of contents and segments should be: search failing, not a 500."""
    garbage = tmp_path / "garbage-index"
    garbage.mkdir()
    (garbage / "_MAIN_1.toc").write_bytes(b"\x00\xffnot a whoosh toc" * 50)
    (garbage / "MAIN_abcdefgh.seg").write_bytes(b"junk" * 100)
    response, body, _ = healthz(other_app(SEARCH_DIR=str(garbage)))
    assert response.status_code == 503
    assert body["failing"] == ["search"]
    assert body["search"]["ok"] is False


def test_database_down_answers_503_naming_database(other_app):
    """A database nobody answers on: 503 with database failing; the other parts are still checked."""
    response, body, elapsed = healthz(
        other_app(DATABASE_URL=f"postgresql+psycopg://nobody:x@127.0.0.1:{free_port()}/none"))
    assert response.status_code == 503
    assert body["failing"] == ["database"]
    assert body["database"]["detail"].startswith("unreachable")
    assert body["storage"]["ok"] is True
    assert elapsed < 10


def test_two_parts_down_are_both_named(other_app, tmp_path):
    """MinIO and the index both down: both are listed in ``failing``."""
    response, body, _ = healthz(other_app(MINIO_ENDPOINT=f"127.0.0.1:{free_port()}",
                                          SEARCH_DIR=str(tmp_path / "none")))
    assert response.status_code == 503
    assert sorted(body["failing"]) == ["search", "storage"]
