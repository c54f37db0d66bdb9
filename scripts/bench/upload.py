#!/usr/bin/env python3
"""Benchmark: upload a 1 GiB file through the app's upload API, and straight to MinIO, in the same run.

What runs: a MinIO of its own (random credentials, free port, temporary data
directory), and the app in a subprocess served by werkzeug (threaded, the
server ``learnspace run`` uses) on a real socket, with a throwaway SQLite
database. A ``requests`` client signs in through the login form (CSRF token
included) and drives the JSON API exactly as a script would: start, PUT every
chunk, complete (server-side compose, SHA-256 read-back, type sniffing and
ffprobe for a recording). The same generated file is then put straight into
MinIO with the minio SDK (``put_object`` with the same part size and
parallelism).

Prints both throughputs (MiB/s; for the app, wall clock from the start request
to the verified object), their ratio, the ratio of the chunk transfer alone
(the complete step adds work the direct path does not do: a server-side copy
to join the chunks and a read-back for the SHA-256), and the app server's peak
RSS growth during the upload (VmHWM of the server process, reset just before
the upload via clear_refs, minus its RSS at that moment; the sign-in, whose
argon2id hashing takes 64 MiB by design, happens before). Target (issue 4): the
app path reaches at least 80 % of the direct throughput, with RSS growth under
64 MiB.

Run (the full benchmark; MinIO binary from scripts/install-minio or $LEARNSPACE_MINIO_BIN):
    .venv/bin/python scripts/bench/upload.py                 # 1 GiB, 8 MiB chunks, 3 chunks in flight
    .venv/bin/python scripts/bench/upload.py --size 256      # a quicker check
Options: --size MiB, --chunk MiB, --parallel N, --chunk-sha (send X-Chunk-SHA256 with every chunk),
--keep (keep the work directory).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
PASSWORD = "Bench-passw0rd"
LOGIN = "T4301020001001"


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


def prepare_database(env: dict) -> int:
    """Create the schema, a school, a teacher with a local login and space, and a lesson; return its id."""
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
        teacher = User(role="teacher", real_name="李老师", school_id=school.id, teacher_number=LOGIN, login_name=LOGIN)
        db.session.add(teacher)
        db.session.flush()
        accounts.set_password(teacher, PASSWORD)
        spaces.activate(teacher, "admin")
        db.session.commit()
        return make_lesson(teacher.id, school.id)


def serve(port: int) -> None:
    """Run the app on 127.0.0.1:*port* with werkzeug's threaded server (the --serve subprocess)."""
    import logging

    from werkzeug.serving import run_simple

    from learnspace import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple("127.0.0.1", port, create_app(), threaded=True)


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


def sign_in(base: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"login_name": LOGIN, "password": PASSWORD, "csrf_token": token},
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


def upload_through_app(session, base: str, lesson_id: int, path: Path, parallel: int, chunk_sha: bool,
                       sampler: RssSampler | None = None) -> dict:
    """Upload *path* through the JSON API with a signed-in *session*; return timings and the server's answer."""
    import requests

    size = path.stat().st_size
    start = time.perf_counter()
    started = session.post(f"{base}/api/lessons/{lesson_id}/uploads",
                           json={"kind": "recording", "filename": "课堂实录（基准测试）.mp4", "size": size})
    assert started.status_code == 201, started.text
    info = started.json()
    local = threading.local()

    def send(index: int) -> None:
        if not hasattr(local, "session"):  # one connection per thread, same sign-in
            local.session = requests.Session()
            local.session.cookies.update(session.cookies)
            local.session.headers.update(session.headers)
        with path.open("rb") as source:
            source.seek(index * info["chunk_size"])
            data = source.read(info["chunk_size"])
        headers = {"Content-Type": "application/octet-stream"}
        if chunk_sha:
            headers["X-Chunk-SHA256"] = hashlib.sha256(data).hexdigest()
        response = local.session.put(f"{base}/api/uploads/{info['id']}/chunks/{index}", data=data, headers=headers)
        assert response.status_code == 200, response.text

    if sampler:
        sampler.phase = "chunks"
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(send, range(info["chunk_count"])))
    chunks_done = time.perf_counter()
    if sampler:
        sampler.phase = "complete"
    done = session.post(f"{base}/api/uploads/{info['id']}/complete", json={})
    finished = time.perf_counter()
    assert done.status_code == 200 and done.json()["status"] == "ready", done.text
    return {"seconds": finished - start, "chunk_seconds": chunks_done - start, "complete_seconds": finished - chunks_done,
            "chunks": info["chunk_count"], "chunk_size": info["chunk_size"], "sha256": done.json()["sha256"]}


def upload_direct(server, bucket: str, path: Path, part_size: int, parallel: int) -> float:
    """Put *path* straight into MinIO with the SDK; return the seconds it took."""
    from minio import Minio

    client = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
    size = path.stat().st_size
    start = time.perf_counter()
    with path.open("rb") as source:
        client.put_object(bucket, "bench/direct", source, size, part_size=part_size, num_parallel_uploads=parallel)
    seconds = time.perf_counter() - start
    client.remove_object(bucket, "bench/direct")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="file size in MiB (default 1024 = 1 GiB)")
    parser.add_argument("--chunk", type=int, default=8, help="chunk and part size in MiB (default 8)")
    parser.add_argument("--parallel", type=int, default=3, help="chunks/parts in flight at once (default 3)")
    parser.add_argument("--chunk-sha", action="store_true", help="send X-Chunk-SHA256 with every chunk")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.chunk < 5:
        parser.error("--chunk must be at least 5 (MiB): MinIO's smallest composable part")

    from tests.fixtures.helpers import free_port
    from tests.fixtures.minio_process import MinioProcess

    work = Path(tempfile.mkdtemp(prefix="ls-bench-upload-"))
    server = MinioProcess(work / "minio-data").start()
    app_proc = None
    try:
        bucket = "learnspace-bench"
        env = {**server.app_env(bucket), "LEARNSPACE_VAR_DIR": str(work / "var"),
               "LEARNSPACE_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
               "LEARNSPACE_UPLOAD_CHUNK_BYTES": str(args.chunk * MIB),
               "LEARNSPACE_RECORDING_MAX_BYTES": str(max(args.size * MIB, 4 * 1024 * MIB)),
               "LEARNSPACE_SPACE_QUOTA_BYTES": str(4 * args.size * MIB + 1024 * MIB)}
        lesson_id = prepare_database(env)
        path = work / "recording.mp4"
        print(f"generating {args.size} MiB …", flush=True)
        generate(path, args.size * MIB)
        digest = hashlib.sha256()
        with path.open("rb") as source:
            while block := source.read(8 * MIB):
                digest.update(block)

        port = free_port()
        app_proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env={**os.environ, **env},
                                    cwd=str(ROOT))
        base = f"http://127.0.0.1:{port}"
        wait_for(base, app_proc)
        # Sign in first (argon2id hashing takes 64 MiB by design), and warm up imports and pools.
        session = sign_in(base)
        upload_through_app(session, base, lesson_id, small_copy(path, work), 1, args.chunk_sha)

        print(f"direct: minio SDK put_object, part {args.chunk} MiB, {args.parallel} in parallel …", flush=True)
        direct = upload_direct(server, bucket, path, args.chunk * MIB, args.parallel)

        rss_before = proc_status(app_proc.pid, "VmRSS")
        peak_reset = reset_peak(app_proc.pid)
        hwm_before = proc_status(app_proc.pid, "VmHWM")
        print(f"app: HTTP API on {base}, chunk {args.chunk} MiB, {args.parallel} in flight …", flush=True)
        sampler = RssSampler(app_proc.pid)
        sampler.start()
        result = upload_through_app(session, base, lesson_id, path, args.parallel, args.chunk_sha, sampler)
        hwm_after = proc_status(app_proc.pid, "VmHWM")
        sampler.running = False
        assert result["sha256"] == digest.hexdigest(), "the stored file's SHA-256 differs from the generated file's"
        growth = hwm_after - (rss_before if peak_reset else hwm_before)

        size_mib = args.size
        app_rate, direct_rate = size_mib / result["seconds"], size_mib / direct
        transfer_rate = size_mib / result["chunk_seconds"]
        print()
        print(f"file:                 {size_mib} MiB, {result['chunks']} chunks of {result['chunk_size'] // MIB} MiB, "
              f"{args.parallel} in flight{', X-Chunk-SHA256 sent' if args.chunk_sha else ''}")
        print(f"direct to MinIO:      {direct:7.2f} s  {direct_rate:8.1f} MiB/s  (SDK put_object: no verification)")
        print(f"through the app:      {result['seconds']:7.2f} s  {app_rate:8.1f} MiB/s  end to end, verified object")
        print(f"  chunks into MinIO:  {result['chunk_seconds']:7.2f} s  {transfer_rate:8.1f} MiB/s")
        print(f"  complete:           {result['complete_seconds']:7.2f} s            "
              "compose, SHA-256 read-back, sniffing, ffprobe (see the server's 'verified in' log line)")
        print(f"ratio app/direct:     {app_rate / direct_rate:7.1%}   end to end (target ≥ 80 %)")
        print(f"                      {transfer_rate / direct_rate:7.1%}   chunk transfer only")
        print(f"app server RSS:       {rss_before / MIB:.1f} MiB before, peak {hwm_after / MIB:.1f} MiB during "
              f"→ growth {growth / MIB:.1f} MiB (target < 64 MiB)"
              + ("" if peak_reset else "  [clear_refs not permitted: growth measured from the earlier peak]"))
        print("                      sampled peak RSS: "
              + ", ".join(f"{phase} {rss / MIB:.1f} MiB" for phase, rss in sampler.peaks.items()))
        print(json.dumps({"size_mib": size_mib, "direct_mib_s": round(direct_rate, 1), "app_mib_s": round(app_rate, 1),
                          "app_transfer_mib_s": round(transfer_rate, 1), "ratio": round(app_rate / direct_rate, 3),
                          "transfer_ratio": round(transfer_rate / direct_rate, 3),
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


def small_copy(path: Path, work: Path) -> Path:
    """A 6 MiB file with the same head, for the warm-up upload."""
    small = work / "warm-up.mp4"
    with path.open("rb") as source, small.open("wb") as out:
        out.write(source.read(6 * MIB))
    return small


def wait_for(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the app server exited; see the messages above")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit("the app server did not answer within 60 s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
