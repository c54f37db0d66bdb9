#!/usr/bin/env python3
"""Load benchmark: LearnSpace under gunicorn + PostgreSQL + MinIO, driven by simulated pupils and teachers.

What runs (loopback only; everything is stopped at the end, every phase is bounded in time):
a MinIO of its own (tests/fixtures/minio_process.py), a throwaway PostgreSQL database next to the one
in LEARNSPACE_TEST_POSTGRES_URL (the role needs CREATEDB; dropped at the end), `learnspace init` and
`learnspace demo` on it (lessons, spaces, catalogue, search index), a `learnspace worker`, and the app
under gunicorn with learnspace/serving/gunicorn_conf.py.

The driver (asyncio + httpx, one process) signs in the demo pupil and teacher a few times each and shares
those sessions among the simulated users. Each user waits 1-3 s between pages and opens a space, a
lesson page, a search or the catalogue (weights below); a few teachers upload a small recording through
the resumable protocol (start, part URLs, PUT to MinIO, complete). For each user count it prints
p50/p95/max per page kind and the errors (HTTP >= 400, time-outs of 30 s).

Saturation: the same gunicorn settings serve a bare Flask "hello" app, and then LearnSpace's lesson page,
each hammered by --concurrency clients without think time for --saturation-seconds; their req/s and ratio.

    .venv/bin/python scripts/bench/load.py                          # 50, 200 and 500 users, 60 s each
    .venv/bin/python scripts/bench/load.py --users 50 --seconds 30  # one short phase

The driver shares the machine with the server: on a small machine it takes a good part of a core at
500 users, so the figures are a floor for the server, not its ceiling.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

#: page kind → weight of a browsing step
WEIGHTS = {"space": 25, "lesson": 35, "search": 20, "catalogue": 20}
SEARCHES = ["勾股定理", "在牛肚子里旅行", "分数", "三角形", "古诗", "英语", "实验", "认识时间"]
MIB = 1024 * 1024
UPLOAD_BYTES = 6 * MIB  # one part (the part size is at least 8 MiB)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env: dict, *args: str, timeout: float = 900) -> str:
    """Run `learnspace ARGS` in this checkout and return its output (fail loudly)."""
    done = subprocess.run([sys.executable, "-m", "learnspace.cli", *args], env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise SystemExit(f"learnspace {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def seed(env: dict, lessons_for_uploads: int) -> tuple[dict[str, str], str, list[int]]:
    """Load the demo; return its password logins (login → password) and draft lessons for the uploading teacher."""
    cli(env, "init")
    out = cli(env, "demo")
    listed = out.split("demo accounts", 1)[-1]
    passwords = dict(re.findall(r"^  (\S+)\s+(\S+)", listed, re.M))
    os.environ.update(env)
    from sqlalchemy import select

    from learnspace import create_app
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from tests.fixtures.lessons import make_lesson

    app = create_app()
    with app.app_context():
        people = db.session.scalars(select(User).where(User.login_name.in_(passwords),
                                                       User.role.in_(("teacher", "student")))).all()
        teacher = next(p for p in people if p.role == "teacher")
        lessons = [make_lesson(teacher.id, teacher.school_id) for _ in range(lessons_for_uploads)]
        # pupils first: the driver's discovery browses as the first account
        logins = {p.login_name: passwords[p.login_name] for p in sorted(people, key=lambda p: p.role != "student")}
        db.session.remove()
        db.engine.dispose()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # create_app configured logging at INFO
    return logins, teacher.login_name, lessons


def start_gunicorn(env: dict, app_path: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    out = log.open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:learnspace.serving.gunicorn_conf",
                             app_path], env={**env, "LEARNSPACE_BIND": f"127.0.0.1:{port}"}, cwd=str(ROOT),
                            stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
        try:
            if httpx.get(f"{base}/healthz" if "wsgi" in app_path else base, timeout=5).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"gunicorn did not answer within 120 s; see {log}")


def cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by gunicorn's workers, the children of *master* (Linux /proc)."""
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def stop(proc: subprocess.Popen | None) -> None:
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()


async def sign_in(client, login: str, password: str) -> str:
    """Sign *client* in through the form; return the CSRF token for the JSON API."""
    for attempt in range(20):
        page = (await client.get("/login")).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        answer = await client.post("/login", data={"login_name": login, "password": password, "csrf_token": token})
        if answer.status_code != 429:
            break
        # One sign-in per account at a time (accounts.throttle.hold_account): the other driver process has it.
        await asyncio.sleep(0.5 + random.random())
    if answer.status_code != 302:
        raise SystemExit(f"sign-in of {login} failed: {answer.status_code}")
    space = (await client.get("/space")).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', space).group(1)


async def discover(client) -> dict[str, list[str]]:
    """Collect URLs of each page kind from what a signed-in pupil sees."""
    found: dict[str, set] = {"space": set(), "lesson": set(), "catalogue": {"/catalog"}}
    for path in ("/", "/search", "/browse", "/catalog", "/lessons"):
        html = (await client.get(path)).text
        found["space"] |= set(re.findall(r'href="(/spaces/\d+|/people/\d+/space)"', html))
        found["lesson"] |= set(re.findall(r'href="(/lessons/\d+)"', html))
        found["catalogue"] |= set(re.findall(r'href="(/catalog/\d+)"', html))
    found["space"] |= {"/space"}
    urls = {kind: sorted(values) for kind, values in found.items()}
    urls["search"] = [f"/search?q={q}" for q in SEARCHES]
    for kind, values in urls.items():
        if not values:
            raise SystemExit(f"found no {kind} page to visit; is the demo loaded?")
    return urls


class Stats:
    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.why: dict[str, str] = {}  # the first failure of each kind, printed with the table

    def add(self, kind: str, seconds: float, ok: bool, why: str = "") -> None:
        self.times.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.why.setdefault(kind, why)


async def browse(client, urls: dict, stats: Stats, deadline: float, rng: random.Random) -> None:
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    await asyncio.sleep(rng.uniform(0, 3))  # users arrive spread out, not in one burst
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        url = rng.choice(urls[kind])
        start = time.perf_counter()
        why = ""
        try:
            status = (await client.get(url)).status_code
            ok, why = status < 400, f"{url}: HTTP {status}"
        except Exception as exc:  # time-out, reset: counted as an error of this kind
            ok, why = False, f"{url}: {exc!r}"
        stats.add(kind, time.perf_counter() - start, ok, why)
        await asyncio.sleep(rng.uniform(1, 3))


async def upload(client, csrf: str, lessons: list[int], stats: Stats, deadline: float, rng: random.Random,
                 http) -> None:
    """A teacher uploading small recordings one after the other through the resumable protocol."""
    headers = {"X-CSRFToken": csrf}
    body = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + os.urandom(UPLOAD_BYTES - 32)
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()  # as upload.js sends it
    await asyncio.sleep(rng.uniform(0, 5))
    while time.monotonic() < deadline and lessons:
        lesson = lessons.pop()
        start = time.perf_counter()
        ok, why = False, ""
        try:
            started = await client.post(f"/api/lessons/{lesson}/uploads", headers=headers,
                                        json={"kind": "recording", "filename": "课堂实录.mp4", "size": len(body)})
            why = f"start: {started.status_code} {started.text[:200]}"
            if started.status_code == 201:
                info = started.json()
                urls = (await client.post(f"/api/uploads/{info['id']}/part-urls", headers=headers,
                                          json={"parts": [{"number": 1}]})).json()["urls"]
                put = await http.put(urls["1"], content=body, headers={"x-amz-checksum-sha256": checksum})
                why = f"PUT to MinIO: {put.status_code} {put.text[:200]}"
                if put.status_code == 200:
                    done = await client.post(f"/api/uploads/{info['id']}/complete", headers=headers)
                    ok, why = done.status_code == 202, f"complete: {done.status_code} {done.text[:200]}"
        except Exception as exc:
            why = repr(exc)
        stats.add("upload", time.perf_counter() - start, ok, why)
        await asyncio.sleep(rng.uniform(5, 10))


async def phase(base: str, accounts: dict, teacher_login: str, lessons: list[int], users: int, seconds: float,
                uploaders: int) -> Stats:
    import httpx

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(30)
    rng = random.Random(users)
    stats = Stats()
    # A few sessions per account, shared by the users: sign-in (argon2id) is not what is measured.
    sessions = []
    for login, password in accounts.items():
        for _ in range(3):
            client = httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout)
            csrf = await sign_in(client, login, password)
            sessions.append((login, client, csrf))
    urls = await discover(sessions[0][1])
    teacher = [s for s in sessions if s[0] == teacher_login]
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=timeout) as minio:
        tasks = [browse(sessions[i % len(sessions)][1], urls, stats, deadline, random.Random(rng.random()))
                 for i in range(users)]
        tasks += [upload(teacher[i % len(teacher)][1], teacher[i % len(teacher)][2], lessons, stats, deadline,
                         random.Random(rng.random()), minio) for i in range(uploaders)]
        await asyncio.gather(*tasks)
    for _, client, _ in sessions:
        await client.aclose()
    return stats


def _hammer(job: tuple) -> tuple[int, int]:
    """One driver process: *threads* keep-alive connections (http.client, cheap on the client) GET *path*."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    base, path, threads, seconds, cookie = job
    host, port = urlsplit(base).hostname, urlsplit(base).port
    counts = [[0, 0] for _ in range(threads)]
    deadline = time.monotonic() + seconds

    def loop(count):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while time.monotonic() < deadline:
            try:
                conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                ok = False
            count[0] += 1
            count[1] += not ok

    workers = [threading.Thread(target=loop, args=(c,)) for c in counts]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def in_children(kind: str, jobs: list) -> list:
    """Run each job in a child process of this script (``load.py --child``: job in on stdin, JSON result out)."""
    import json

    children = [subprocess.Popen([sys.executable, __file__, "--child", kind], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, cwd=str(ROOT)) for _ in jobs]
    for child, job in zip(children, jobs):
        child.stdin.write(json.dumps(job))
        child.stdin.close()
    results = []
    for child in children:
        out = child.stdout.read()
        if child.wait(timeout=600):
            raise SystemExit(f"a driver process failed (exit {child.returncode})")
        results.append(json.loads(out))
    return results


def _child(kind: str) -> None:
    import json

    job = json.loads(sys.stdin.read())
    result = _hammer(job) if kind == "hammer" else _phase_in_process(job)
    print(json.dumps(result))


def saturate(base: str, path: str, concurrency: int, seconds: float, processes: int) -> tuple[float, int]:
    """Closed loop without think time from *processes* driver processes: return (requests per second, errors)."""
    results = in_children("hammer", [(base, path, max(1, concurrency // processes), seconds, "")] * processes)
    return sum(r[0] for r in results) / seconds, sum(r[1] for r in results)


def _phase_in_process(job: tuple) -> tuple[dict, dict, dict]:
    """One driver process's share of a phase (its own sign-ins and event loop); returns the Stats' dicts."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stats = asyncio.run(phase(*job))
    return stats.times, stats.errors, stats.why


def run_phase(base, accounts, teacher_login, lessons, users, seconds, uploaders, processes) -> Stats:
    """Split *users* (and the uploaders) over *processes* driver processes: one asyncio loop tops out near
    200 requests per second on a small machine, below what 500 users ask for."""
    jobs = []
    for i in range(processes):
        share = users // processes + (i < users % processes)
        mine = uploaders // processes + (i < uploaders % processes)
        jobs.append((base, accounts, teacher_login, lessons[i::processes], share, seconds, mine))
    results = in_children("phase", jobs)
    merged = Stats()
    for times, errors, why in results:
        for kind, values in times.items():
            merged.times.setdefault(kind, []).extend(values)
        for kind, n in errors.items():
            merged.errors[kind] = merged.errors.get(kind, 0) + n
        for kind, text in why.items():
            merged.why.setdefault(kind, text)
    return merged


def report(users: int, stats: Stats, seconds: float) -> None:
    total = sum(len(v) for v in stats.times.values())
    print(f"\n{users} users, {seconds:.0f} s: {total} requests, {total / seconds:.1f} req/s")
    print(f"| {'page':10s} | {'count':>6s} | {'p50 ms':>7s} | {'p95 ms':>7s} | {'max ms':>7s} | {'errors':>6s} |")
    print(f"|{'-' * 12}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    for kind in [*WEIGHTS, "upload"]:
        times = stats.times.get(kind, [])
        if times:
            print(f"| {kind:10s} | {len(times):6d} | {percentile(times, .5) * 1000:7.0f} | "
                  f"{percentile(times, .95) * 1000:7.0f} | {max(times) * 1000:7.0f} | {stats.errors.get(kind, 0):6d} |")
    for kind, why in stats.why.items():
        print(f"  first {kind} error: {why}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200, 500], help="simulated users per phase")
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase (default 60)")
    parser.add_argument("--uploaders", type=int, default=3, help="teachers uploading during each phase (default 3)")
    parser.add_argument("--concurrency", type=int, default=32, help="clients of the saturation runs (default 32)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, MinIO data)")
    parser.add_argument("--driver-processes", type=int, default=2, help="processes of the driver (default 2)")
    parser.add_argument("--saturation-seconds", type=float, default=20, help="length of each saturation run")
    args = parser.parse_args()
    url = os.environ.get("LEARNSPACE_BENCH_POSTGRES_URL") or os.environ.get("LEARNSPACE_TEST_POSTGRES_URL")
    if not url:
        parser.error("set LEARNSPACE_TEST_POSTGRES_URL (a role with CREATEDB; scripts/test makes one)")

    from tests.fixtures.backends import worker_database
    from tests.fixtures.minio_process import MinioProcess

    work = Path(tempfile.mkdtemp(prefix="ls-bench-load-"))
    log = work / "gunicorn.log"
    minio = MinioProcess(work / "minio-data").start()
    worker = app = hello = None
    try:
        with worker_database(url, "load") as database:
            env = {**os.environ, **minio.app_env("learnspace-load"), "PYTHONPATH": str(ROOT),
                   "LEARNSPACE_VAR_DIR": str(work / "var"), "LEARNSPACE_DATABASE_URL": database,
                   "LEARNSPACE_SEARCH_DIR": str(work / "var" / "search"), "LEARNSPACE_SEARCH_WARM_UP": "1",
                   "LEARNSPACE_SEARCH_DRAIN_AFTER_REQUEST": "0", "LEARNSPACE_ACCESS_LOG": str(work / "access.log"),
                   # every simulated user comes from 127.0.0.1 and shares a few accounts: sign-in ceilings would trip
                   "LEARNSPACE_TRUSTED_NETWORKS": "127.0.0.0/8", "LEARNSPACE_LOGIN_ACCOUNT_LIMIT": "100000"}
            print(f"seeding (demo) in {work} …", flush=True)
            started = time.monotonic()
            accounts, teacher_login, lessons = seed(env, args.uploaders * 40 * len(args.users))
            print(f"seeded in {time.monotonic() - started:.0f} s; sign-ins: {', '.join(accounts)}", flush=True)
            worker = subprocess.Popen([sys.executable, "-m", "learnspace.cli", "worker"], env=env, cwd=str(ROOT),
                                      stdout=(work / "worker.log").open("ab"), stderr=subprocess.STDOUT)
            app, base = start_gunicorn(env, "learnspace.wsgi:app", log)
            from learnspace.serving import gunicorn_conf
            print(f"gunicorn: {gunicorn_conf.workers} workers × {gunicorn_conf.threads} threads "
                  f"({os.cpu_count()} CPUs); PostgreSQL, MinIO, worker and this driver on the same machine")
            time.sleep(5)  # the workers' search warm-up (jieba) before measuring
            for users in args.users:
                used = lessons[:args.uploaders * 40]
                del lessons[:args.uploaders * 40]  # a lesson takes one recording: each phase gets new ones
                cpu_before = cpu_seconds(app.pid)
                stats = run_phase(base, accounts, teacher_login, used, users, args.seconds, args.uploaders,
                                  args.driver_processes)
                report(users, stats, args.seconds)
                served = sum(len(v) for v in stats.times.values())
                used_cpu = cpu_seconds(app.pid) - cpu_before
                print(f"  app workers' CPU: {used_cpu:.1f} s of {args.seconds:.0f} s "
                      f"({used_cpu / args.seconds * 100:.0f}% of one core), {used_cpu / served * 1000:.1f} ms a request"
                      f" (sign-ins included)")

            sat_path = asyncio.run(_public_lesson(base))
            ours, ours_errors = saturate(base, sat_path, args.concurrency, args.saturation_seconds,
                                         args.driver_processes)
            stop(app)
            app = None
            hello, hello_base = start_gunicorn({**env, "PYTHONPATH": f"{ROOT / 'scripts' / 'bench'}:{ROOT}"},
                                               "hello_app:app", log)
            bare, bare_errors = saturate(hello_base, "/", args.concurrency, args.saturation_seconds,
                                         args.driver_processes)
            print(f"\nsaturation ({args.concurrency} clients, no think time, {args.saturation_seconds:.0f} s each):")
            print(f"  bare Flask hello:           {bare:7.1f} req/s ({bare_errors} errors)")
            print(f"  LearnSpace {sat_path:15s} {ours:7.1f} req/s ({ours_errors} errors)")
            print(f"  ratio LearnSpace / hello:   {ours / bare:7.3f}")
    finally:
        for proc in (app, hello, worker):
            stop(proc)
        minio.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


async def _public_lesson(base: str) -> str:
    """A lesson page an anonymous visitor may open (the saturation target: a real page with a query or two)."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        html = (await client.get("/search")).text
        for path in re.findall(r'href="(/lessons/\d+)"', html):
            if (await client.get(path)).status_code == 200:
                return path
    return "/search"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2])
    else:
        main()
