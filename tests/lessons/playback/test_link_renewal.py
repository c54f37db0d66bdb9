"""Short-lived playback links: their life, their expiry at MinIO, and renewal only while the lesson is visible."""
from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.lessons.playback.conftest import RECORDING

#: the short life the integration tests give links, so they can watch one die
SHORT = 2


def fetch(url: str, **headers) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


# --- the lifetime -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, duration, setting, expected", [
    ("recording", 2700.4, 60, 60),   # a 45-minute lesson no longer stretches its link
    ("recording", None, 60, 60),
    ("recording", 30.0, 5, 5),
    ("lesson_plan", None, 60, 60),
    ("recording", 2700.4, 3600, 60),  # whatever the setting says, never past a minute
    ("recording", None, 0, 1),
])
def test_url_lifetime_is_the_setting_and_never_more_than_a_minute(kind, duration, setting, expected):
    from learnspace.lessons.playback import MAX_URL_SECONDS, url_lifetime

    assert MAX_URL_SECONDS == 60
    assert url_lifetime(SimpleNamespace(kind=kind, duration_seconds=duration), setting) == expected


def test_the_default_link_life_is_a_minute_and_longer_settings_are_refused(monkeypatch, tmp_path):
    from learnspace.config import ConfigError, load_config, validate

    monkeypatch.setenv("LEARNSPACE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LEARNSPACE_MINIO_ACCESS_KEY", "learnspace-app-x")
    monkeypatch.setenv("LEARNSPACE_MINIO_SECRET_KEY", "a-long-secret-value")
    monkeypatch.delenv("LEARNSPACE_PRESIGN_SECONDS", raising=False)
    config = load_config()
    validate(config)
    assert config["LEARNSPACE"].presign_seconds == 60
    for bad in ("61", "900", "0"):
        monkeypatch.setenv("LEARNSPACE_PRESIGN_SECONDS", bad)
        with pytest.raises(ConfigError, match="LEARNSPACE_PRESIGN_SECONDS must be between 1 and 60"):
            validate(load_config())


def test_download_and_play_links_live_the_configured_minute(recording_id, viewer, minio_server):
    """Both redirects and the play-url answer carry X-Amz-Expires=60 and the app user's key, never the root one."""
    student = viewer("student_a1")
    links = [student.get(f"/files/{recording_id}/{action}").headers["Location"] for action in ("play", "download")]
    body = student.get(f"/files/{recording_id}/play-url").get_json()
    assert body["expires_in"] == 60
    for link in [*links, body["url"]]:
        query = parse_qs(urlsplit(link).query)
        assert query["X-Amz-Expires"] == ["60"]
        assert query["X-Amz-Credential"][0].split("/")[0] == minio_server["app_access_key"]
        assert minio_server["access_key"] not in link


# --- renewal, against MinIO ---------------------------------------------------------------------------

@pytest.fixture
def short_links(make_app, login_names):
    """A student of the lesson's school on an app whose links live SHORT seconds."""
    from tests.fixtures.people import signed_in

    return signed_in(make_app({"LEARNSPACE_PRESIGN_SECONDS": str(SHORT)}), login_names["student_a1"])


def renewed(client, file_id: int) -> requests.Response:
    return client.get(f"/files/{file_id}/play-url", headers={"Accept": "application/json"})


def test_an_expired_link_is_refused_and_a_renewed_one_plays_on(short_links, recording_id):
    """After its life MinIO answers 403; the renewal endpoint hands out a fresh link that serves the bytes."""
    old = short_links.get(f"/files/{recording_id}/play").headers["Location"]
    assert fetch(old, Range="bytes=0-9").content == RECORDING[:10]
    time.sleep(SHORT + 1.5)
    assert fetch(old, Range="bytes=500000-500009").status_code == 403

    response = renewed(short_links, recording_id)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["expires_in"] == SHORT and body["url"] != old
    got = fetch(body["url"], Range="bytes=500000-500009")
    assert got.status_code == 206 and got.content == RECORDING[500000:500010]


def _withdraw(lesson):
    from learnspace.lessons import operations

    operations.withdraw(lesson)


def _delete(lesson):
    from learnspace.lessons import operations

    operations.delete_lesson(lesson)


def _make_private(lesson):
    from learnspace.lessons import operations

    operations.update_lesson(lesson, visibility="private")


@pytest.mark.parametrize("change", [_withdraw, _delete, _make_private], ids=["withdrawn", "deleted", "private"])
def test_after_access_ends_the_old_link_dies_and_renewal_is_refused(app, short_links, recording_id, lesson_id,
                                                                    change):
    """Withdrawn, deleted or made less visible: renewal answers 404 at once, the old link is 403 after its life."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson

    link = renewed(short_links, recording_id).get_json()["url"]
    assert fetch(link, Range="bytes=0-9").status_code == 206
    with app.app_context():
        change(db.session.get(Lesson, lesson_id))
        db.session.commit()
    refused = renewed(short_links, recording_id)
    assert refused.status_code == 404 and "url" not in (refused.get_json() or {})
    assert short_links.get(f"/files/{recording_id}/play").status_code == 404
    time.sleep(SHORT + 1.5)
    expired = fetch(link, Range="bytes=0-9")
    assert expired.status_code == 403 and b"expired" in expired.content


def test_renewal_is_refused_to_a_viewer_who_may_not_see_the_lesson(recording_id, viewer, client):
    """A student of another county and an anonymous visitor get 404 and no link."""
    for outsider in (viewer("student_b1"), client):
        response = renewed(outsider, recording_id)
        assert response.status_code == 404 and b"X-Amz" not in response.data


def test_in_proxy_mode_renewal_points_at_the_app_itself(make_app, recording_id, login_names):
    """The app checks access on every range request there, so its own URL is the link and never expires."""
    from tests.fixtures.people import signed_in

    proxied = signed_in(make_app({"LEARNSPACE_PLAYBACK_MODE": "proxy"}), login_names["student_a1"])
    assert renewed(proxied, recording_id).get_json() == {"url": f"/files/{recording_id}/play", "expires_in": None}
