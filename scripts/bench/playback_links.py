#!/usr/bin/env python3
"""Benchmark: what short-lived playback links cost, the renewal endpoint against presigning alone.

What runs: a MinIO of its own (random root credentials, free port, temporary
data directory) with the app's least-privilege user provisioned, and the app in
a subprocess served by werkzeug (threaded, the server ``learnspace run`` uses)
on a real socket with a throwaway SQLite database: a school, its teacher, a
published lesson visible to the school with a recording in MinIO, and a
student of that school with a local login. A ``requests`` client signed in as
the student calls ``GET /files/<id>/play-url`` (what the player asks when its
link has expired: session, access check, presigning, JSON) N times, one after
the other over a kept-alive connection, and the presigned link it gets is
fetched once to check it works. The reference is the presigning alone
(``storage.delivery.presigned_get_url`` in this process, N times): pure
computation (HMAC-SHA256), no network.

Prints latency p50/p95 of both (ms), their ratio, and what it means per viewer
at the link lifetime (``--lifetime``, default the app's 60 s): a player renews
at most once per lifetime while it keeps needing new ranges (a seek or a
buffer refill after the link's life; Chromium otherwise streams on over the
connection it opened), so at most 60/lifetime requests a minute per viewer, and
the app's time for them.

Run: .venv/bin/python scripts/bench/playback_links.py [--n 2000] [--lifetime 60] [--keep]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from served_app import start_app  # noqa: E402  (scripts/bench/served_app.py)

PASSWORD = "Bench-passw0rd"
TEACHER, STUDENT = "T4301020001001", "G430102201501010011"


def prepare_database(env: dict) -> tuple[int, str]:
    """Create the schema, a school, a published lesson with a recording and a student; return (file id, key)."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from learnspace import create_app
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.orgs import operations as orgs
    from learnspace.spaces import operations as spaces
    from tests.fixtures.lessons import make_lesson
    from tests.fixtures.media import store_ready_file

    app = create_app()
    with app.app_context():
        upgrade()
        for code, name in [("430000", "湖南省"), ("430100", "长沙市"), ("430102", "芙蓉区")]:
            orgs.create_region(code, name)
        school = orgs.create_school("4301020001", "芙蓉区第一小学", "小学", "430102")
        teacher = User(role="teacher", real_name="李老师", school_id=school.id, teacher_number=TEACHER,
                       login_name=TEACHER)
        student = User(role="student", real_name="张小明", school_id=school.id, student_number=STUDENT,
                       login_name=STUDENT)
        db.session.add_all([teacher, student])
        db.session.flush()
        for person in (teacher, student):
            accounts.set_password(person, PASSWORD)
            spaces.activate(person, "admin")
        db.session.commit()
        lesson_id = make_lesson(teacher.id, school.id, status="published", visibility="school")
        file_id = store_ready_file(lesson_id, os.urandom(1024 * 1024), original_name="课堂实录.mp4")
        return file_id, db.session.get(LessonFile, file_id).object_key






def sign_in(base: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"login_name": STUDENT, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 302, response.text[:500]
    return session


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Return p50 and p95 of *samples* (seconds) in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


def time_renewals(session, url: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = session.get(url, headers={"Accept": "application/json"})
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text[:300]
    return samples


def time_signing(env: dict, key: str, n: int, lifetime: int) -> list[float]:
    os.environ.update(env)
    from learnspace import create_app
    from learnspace.storage.delivery import presigned_get_url

    app = create_app()
    samples = []
    with app.app_context():
        presigned_get_url(key, expires_seconds=lifetime, content_type="video/mp4")  # builds the signer once
        for _ in range(n):
            start = time.perf_counter()
            presigned_get_url(key, expires_seconds=lifetime, content_type="video/mp4")
            samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="requests and signings timed (default 2000)")
    parser.add_argument("--lifetime", type=int, default=60, help="link lifetime in seconds, 1–60 (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if not 1 <= args.lifetime <= 60:
        parser.error("--lifetime must be between 1 and 60")

    import requests

    from tests.fixtures.minio_process import MinioProcess

    work = Path(tempfile.mkdtemp(prefix="ls-bench-links-"))
    server = MinioProcess(work / "minio-data").start()
    app_proc = None
    try:
        env = {**server.app_env("learnspace-bench"), "LEARNSPACE_VAR_DIR": str(work / "var"),
               "LEARNSPACE_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
               "LEARNSPACE_PRESIGN_SECONDS": str(args.lifetime)}
        file_id, key = prepare_database(env)
        app_proc, base = start_app(env)
        session = sign_in(base)
        url = f"{base}/files/{file_id}/play-url"
        time_renewals(session, url, 50)  # warm up imports, pools and the signer
        link = session.get(url).json()
        assert link["expires_in"] == args.lifetime
        assert f"X-Amz-Credential={server.access_key}" not in link["url"], "signed by the root user"
        got = requests.get(link["url"], headers={"Range": "bytes=0-15"}, timeout=10)
        assert got.status_code == 206, f"the renewed link does not work: HTTP {got.status_code}"

        print(f"renewal: GET /files/{file_id}/play-url × {args.n} over HTTP …", flush=True)
        renew_p50, renew_p95 = percentiles(time_renewals(session, url, args.n))
        print(f"reference: presigned_get_url × {args.n} in process …", flush=True)
        sign_p50, sign_p95 = percentiles(time_signing(env, key, args.n, args.lifetime))

        per_minute = 60 / args.lifetime
        app_ms = per_minute * renew_p50
        print()
        print(f"link lifetime:            {args.lifetime} s")
        print(f"renewal endpoint:         p50 {renew_p50:6.2f} ms   p95 {renew_p95:6.2f} ms   "
              "(HTTP round trip: session, access check, presigning, JSON)")
        print(f"presigning alone:         p50 {sign_p50:6.3f} ms   p95 {sign_p95:6.3f} ms")
        print(f"ratio renewal/presigning: p50 {renew_p50 / sign_p50:6.1f}×   p95 {renew_p95 / sign_p95:6.1f}×")
        print(f"per viewer:               at most {per_minute:.0f} renewal(s) a minute while it needs new ranges → "
              f"{app_ms:.1f} ms of round trips a minute; one request thread serves "
              f"{60_000 / app_ms:,.0f} such viewers back to back")
    finally:
        if app_proc is not None:
            app_proc.terminate()
            app_proc.wait(10)
        server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
