#!/usr/bin/env python3
"""Benchmark: upload a file through the app's API (parts straight to MinIO) and with the SDK, in the same run.

What runs: a MinIO of its own (random credentials, free port, temporary data
directory), and the app in a subprocess served by werkzeug (threaded, the
server ``learnspace run`` uses) on a real socket, with a throwaway SQLite
database. A ``requests`` client signs in through the login form (CSRF token
included) and drives the JSON API exactly as the browser does: start, then
part URLs in batches and the parts PUT straight to MinIO, N in flight, each
with its base64 SHA-256 in ``x-amz-checksum-sha256`` (MinIO checks it), then complete. The same generated file
is put straight into MinIO with the SDK (``put_object`` with the same part size
and ``num_parallel_uploads``).

Prints both throughputs (MiB/s; for the app, wall clock from the start request
until complete answers "verifying", i.e. the object is whole in MinIO), their
ratio (target ≥ 0.9), the worker's verification separately (the job
``lessons.verify_upload`` run in this process: sniffing, SHA-256 read-back,
ffprobe; MiB/s), and the app server's RSS growth during the upload (VmHWM,
reset just before via clear_refs; the sign-in's argon2id, 64 MiB by design,
happens before).

With ``--teachers N`` (e.g. 5), N teachers upload one file each at the same
time while another client fetches a page (/space) over and over: prints
whether every upload completed and the p50/p95 of the page fetch.

Run (MinIO binary from scripts/install-minio or $LEARNSPACE_MINIO_BIN):
    .venv/bin/python scripts/bench/upload.py                 # 1 GiB, 8 MiB parts, 4 in flight
    .venv/bin/python scripts/bench/upload.py --size 4096     # 4 GiB
    .venv/bin/python scripts/bench/upload.py --teachers 5    # five concurrent 1 GiB uploads and page fetches
Options: --size MiB, --part MiB, --parallel N, --rounds N, --teachers N, --keep (keep the work directory).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import queue
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from served_app import start_app  # noqa: E402  (scripts/bench/served_app.py)

MIB = 1024 * 1024
PASSWORD = "Bench-passw0rd"


#: part URLs asked for in one request (the API's limit is 100)
URL_BATCH = 100


def generate(path: Path, size: int) -> None:
    """Write *size* bytes that start like an MP4 (an ftyp box) and go on with incompressible noise."""
    head = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    with path.open("wb") as out:
        out.write(head)
        left = size - len(head)
        while left:
            block = os.urandom(min(8 * MIB, left))
            out.write(block)
            left -= len(block)


def prepare_database(env: dict, teachers: int = 1) -> list[tuple[str, int]]:
    """Create the schema, a school, teachers with a local login and space, a lesson each; return (login, lesson)."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from learnspace import create_app
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs
    from learnspace.spaces import operations as spaces
    from learnspace.storage import get_storage
    from tests.fixtures.lessons import make_lesson

    app = create_app()
    with app.app_context():
        upgrade()
        get_storage().ensure_bucket()
        for code, name in [("430000", "湖南省"), ("430100", "长沙市"), ("430102", "芙蓉区")]:
            orgs.create_region(code, name)
        school = orgs.create_school("4301020001", "芙蓉区第一小学", "小学", "430102")
        made = []
        for i in range(teachers):
            login = f"T43010200010{i + 1:02d}"
            teacher = User(role="teacher", real_name=f"李老师{i + 1}", school_id=school.id, teacher_number=login,
                           login_name=login)
            db.session.add(teacher)
            db.session.flush()
            accounts.set_password(teacher, PASSWORD)
            spaces.activate(teacher, "admin")
            db.session.commit()
            made.append((login, make_lesson(teacher.id, school.id)))
        return made




def proc_status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux: write 5 to clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def sign_in(base: str, login: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"login_name": login, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 302, response.text[:500]
    space = session.get(f"{base}/space").text
    session.headers["X-CSRFToken"] = re.search(r'<meta name="csrf-token" content="([^"]+)"', space).group(1)
    return session


class RssSampler(threading.Thread):
    """Sample a process's RSS every few milliseconds, remembering the peak per phase."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.phase, self.peaks, self.running = pid, "start", {}, True

    def run(self) -> None:
        while self.running:
            try:
                rss = proc_status(self.pid, "VmRSS")
            except (OSError, KeyError):
                return
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
            time.sleep(0.005)


def upload_through_app(session, base: str, lesson_id: int, path: Path, parallel: int,
                       sampler: RssSampler | None = None) -> dict:
    """Upload *path* as the browser does (parts straight to MinIO, *parallel* in flight); return the timings."""
    import urllib3

    size = path.stat().st_size
    start = time.perf_counter()
    started = session.post(f"{base}/api/lessons/{lesson_id}/uploads",
                           json={"kind": "recording", "filename": "课堂实录（基准测试）.mp4", "size": size})
    assert started.status_code == 201, started.text
    info = started.json()
    part_size, count = info["part_size"], info["part_count"]
    if sampler:
        sampler.phase = "parts"
    # As upload.js does: URLs are asked for ahead, a batch at a time (they need no checksum); each sender
    # reads a part, hashes it (SHA-256, sent as x-amz-checksum-sha256 for MinIO to check) and PUTs it.
    # Memory stays at one part per sender.
    urls: queue.Queue = queue.Queue()
    errors: list[BaseException] = []

    def fetch_urls() -> None:
        try:
            for first in range(1, count + 1, URL_BATCH):
                numbers = range(first, min(first + URL_BATCH, count + 1))
                answer = session.post(f"{base}/api/uploads/{info['id']}/part-urls",
                                      json={"parts": [{"number": n} for n in numbers]})
                assert answer.status_code == 200, answer.text
                for number in numbers:
                    urls.put((number, answer.json()["urls"][str(number)]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            for _ in range(parallel):
                urls.put(None)

    http = urllib3.PoolManager(maxsize=parallel)  # what the SDK sends with too
    fd = os.open(path, os.O_RDONLY)

    def sender() -> None:
        while (item := urls.get()) is not None:
            if errors:
                continue
            number, url = item
            data = os.pread(fd, part_size, (number - 1) * part_size)
            checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
            response = http.request("PUT", url, body=data, headers={"x-amz-checksum-sha256": checksum})
            if response.status != 200:
                errors.append(AssertionError(f"PUT of a part: {response.status} {response.data[:200]!r}"))

    threads = [threading.Thread(target=fetch_urls)] + [threading.Thread(target=sender) for _ in range(parallel)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.close(fd)
    if errors:
        raise errors[0]
    parts_done = time.perf_counter()
    if sampler:
        sampler.phase = "complete"
    done = session.post(f"{base}/api/uploads/{info['id']}/complete")
    finished = time.perf_counter()
    assert done.status_code == 202 and done.json()["status"] == "verifying", done.text
    return {"id": info["id"], "seconds": finished - start, "part_seconds": parts_done - start,
            "complete_seconds": finished - parts_done, "parts": count, "part_size": part_size}


def verify_in_worker(env: dict, file_id: int) -> tuple[float, dict]:
    """Run the verification job of *file_id* in this process, as ``learnspace worker`` would; return seconds, row."""
    os.environ.update(env)
    from learnspace import create_app
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.lessons.verification import verify_upload_job

    app = create_app()
    with app.app_context():
        file = db.session.get(LessonFile, file_id)
        payload = {"file_id": file.id, "object_key": file.object_key}
        db.session.commit()
        start = time.perf_counter()
        verify_upload_job(payload)
        db.session.commit()
        seconds = time.perf_counter() - start
        file = db.session.get(LessonFile, file_id)
        return seconds, {"status": file.status, "sha256": file.sha256}


def upload_direct(server, bucket: str, path: Path, part_size: int, parallel: int, key: str = "bench/direct") -> float:
    """Put *path* straight into MinIO with the SDK as a new object *key*; return the seconds it took."""
    from minio import Minio

    client = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
    size = path.stat().st_size
    start = time.perf_counter()
    with path.open("rb") as source:
        client.put_object(bucket, key, source, size, part_size=part_size, num_parallel_uploads=parallel)
    seconds = time.perf_counter() - start
    client.remove_object(bucket, key)
    return seconds


def page_fetches(base: str, session_headers: dict, cookies, stop: threading.Event) -> list[float]:
    """Fetch /space over and over until *stop*; return the seconds each fetch took."""
    import requests

    client = requests.Session()
    client.headers.update(session_headers)
    client.cookies.update(cookies)
    took = []
    while not stop.is_set():
        start = time.perf_counter()
        response = client.get(f"{base}/space")
        took.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        time.sleep(0.05)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--size", type=int, default=1024, help="file size in MiB (default 1024 = 1 GiB)")
    parser.add_argument("--part", type=int, default=8, help="part size in MiB (default 8)")
    parser.add_argument("--parallel", type=int, default=4, help="parts in flight at once (default 4)")
    parser.add_argument("--teachers", type=int, default=1, help="teachers uploading at once (default 1)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of one direct and one app run, order alternating (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.part < 5:
        parser.error("--part must be at least 5 (MiB): S3's smallest part")

    from tests.fixtures.minio_process import MinioProcess

    work = Path(tempfile.mkdtemp(prefix="ls-bench-upload-"))
    server = MinioProcess(work / "minio-data").start()
    app_proc = None
    try:
        bucket = "learnspace-bench"
        env = {**server.app_env(bucket), "LEARNSPACE_VAR_DIR": str(work / "var"),
               "LEARNSPACE_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
               "LEARNSPACE_UPLOAD_CHUNK_BYTES": str(args.part * MIB),
               "LEARNSPACE_RECORDING_MAX_BYTES": str(max(args.size * MIB, 4 * 1024 * MIB)),
               "LEARNSPACE_SPACE_QUOTA_BYTES": str(4 * args.size * MIB + 1024 * MIB)}
        lessons = prepare_database(env, args.teachers)
        path = work / "recording.mp4"
        print(f"generating {args.size} MiB …", flush=True)
        generate(path, args.size * MIB)
        digest = hashlib.sha256()
        with path.open("rb") as source:
            while block := source.read(8 * MIB):
                digest.update(block)

        app_proc, base = start_app(env)
        # Sign in first (argon2id hashing takes 64 MiB by design), and warm up imports and pools.
        sessions = [sign_in(base, login) for login, _ in lessons]
        upload_through_app(sessions[0], base, lessons[0][1], small_copy(path, work), 1)
        if args.teachers > 1:
            concurrent(args, base, sessions, lessons, path, env)
            return

        # Rounds of one direct and one app run, the order alternating (direct first in odd rounds), each
        # into a new object with the disks synced in between: whichever runs first into an idle page cache
        # is faster, and a single pair measures that order more than the two paths.
        rss_before = proc_status(app_proc.pid, "VmRSS")
        peak_reset = reset_peak(app_proc.pid)
        hwm_before = proc_status(app_proc.pid, "VmHWM")
        sampler = RssSampler(app_proc.pid)
        sampler.start()
        direct_runs, app_runs = [], []
        for round_no in range(1, args.rounds + 1):
            for which in (("direct", "app") if round_no % 2 else ("app", "direct")):
                os.sync()  # the previous run's dirty pages written now, not during this run
                if which == "direct":
                    direct_runs.append(upload_direct(server, bucket, path, args.part * MIB, args.parallel,
                                                     key=f"bench/direct-{round_no}"))
                else:
                    app_runs.append(upload_through_app(sessions[0], base, lessons[0][1], path, args.parallel,
                                                       sampler))
            print(f"round {round_no}: direct {direct_runs[-1]:.2f} s, app {app_runs[-1]['seconds']:.2f} s "
                  f"({'direct' if round_no % 2 else 'app'} first)", flush=True)
        hwm_after = proc_status(app_proc.pid, "VmHWM")
        sampler.running = False
        growth = hwm_after - (rss_before if peak_reset else hwm_before)
        direct = statistics.median(direct_runs)
        middle = statistics.median(run["seconds"] for run in app_runs)
        result = min(app_runs, key=lambda run: abs(run["seconds"] - middle))  # the median run (its complete time)
        ratios = [d / a["seconds"] for d, a in zip(direct_runs, app_runs)]
        os.sync()
        print("worker: verification job (sniff, SHA-256 read-back, ffprobe) …", flush=True)
        verify_seconds, row = verify_in_worker(env, result["id"])
        assert row["sha256"] == digest.hexdigest(), "the stored file's SHA-256 differs from the generated file's"

        size_mib = args.size
        app_rate, direct_rate = size_mib / middle, size_mib / direct
        print()
        print(f"file:                 {size_mib} MiB, {result['parts']} parts of {result['part_size'] // MIB} MiB, "
              f"{args.parallel} in flight")
        print(f"direct to MinIO:      {direct:7.2f} s  {direct_rate:8.1f} MiB/s  (SDK put_object; median of "
              + ", ".join(f"{d:.2f}" for d in direct_runs) + " s)")
        print(f"through the app:      {middle:7.2f} s  {app_rate:8.1f} MiB/s  start → parts → complete "
              f"(\"verifying\"; complete {result['complete_seconds']:.2f} s; median of "
              + ", ".join(f"{a['seconds']:.2f}" for a in app_runs) + " s)")
        print(f"ratio app/direct:     {app_rate / direct_rate:7.3f}   (target ≥ 0.9; per round "
              + ", ".join(f"{r:.2f}" for r in ratios) + ")")
        print(f"worker verification:  {verify_seconds:7.2f} s  {size_mib / verify_seconds:8.1f} MiB/s  "
              f"→ {row['status']}")
        print(f"app server RSS:       {rss_before / MIB:.1f} MiB before, peak {hwm_after / MIB:.1f} MiB during "
              f"→ growth {growth / MIB:.1f} MiB"
              + ("" if peak_reset else "  [clear_refs not permitted: growth measured from the earlier peak]"))
        print(json.dumps({"size_mib": size_mib, "direct_mib_s": round(direct_rate, 1), "app_mib_s": round(app_rate, 1),
                          "ratio": round(app_rate / direct_rate, 3), "verify_s": round(verify_seconds, 2),
                          "verify_mib_s": round(size_mib / verify_seconds, 1),
                          "rss_growth_mib": round(growth / MIB, 1)}))
    finally:
        if app_proc is not None:
            app_proc.terminate()
            app_proc.wait(10)
        server.stop()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def concurrent(args, base: str, sessions: list, lessons: list, path: Path, env: dict) -> None:
    """N teachers upload at once while a page is fetched over and over; print completes and page latency."""
    print(f"{args.teachers} teachers upload {args.size} MiB each at once, {args.parallel} parts in flight each, "
          "while /space is fetched over and over …", flush=True)
    stop = threading.Event()
    fetched: list[float] = []
    fetcher = threading.Thread(target=lambda: fetched.extend(
        page_fetches(base, dict(sessions[0].headers), sessions[0].cookies, stop)))
    fetcher.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(args.teachers) as pool:
        results = list(pool.map(lambda i: upload_through_app(sessions[i], base, lessons[i][1], path, args.parallel),
                                range(args.teachers)))
    wall = time.perf_counter() - start
    stop.set()
    fetcher.join()
    verified = [verify_in_worker(env, r["id"])[1]["status"] for r in results]
    fetched.sort()
    p50, p95 = fetched[len(fetched) // 2], fetched[min(len(fetched) - 1, int(len(fetched) * 0.95))]
    total = args.size * args.teachers
    print()
    print(f"uploads completed:    {sum(1 for _ in results)}/{args.teachers} (\"verifying\"), then verified: "
          f"{verified.count('ready')}/{args.teachers} ready")
    print(f"wall clock:           {wall:7.2f} s for {total} MiB  {total / wall:8.1f} MiB/s together; per upload "
          + ", ".join(f"{r['seconds']:.1f}" for r in results) + " s")
    print(f"page /space:          {len(fetched)} fetches, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(json.dumps({"teachers": args.teachers, "size_mib": args.size, "completed": len(results),
                      "ready": verified.count("ready"), "wall_s": round(wall, 2),
                      "page_p50_ms": round(p50 * 1000), "page_p95_ms": round(p95 * 1000)}))


def small_copy(path: Path, work: Path) -> Path:
    """A 6 MiB file with the same head, for the warm-up upload."""
    small = work / "warm-up.mp4"
    with path.open("rb") as source, small.open("wb") as out:
        out.write(source.read(6 * MIB))
    return small




if __name__ == "__main__":
    main()
