#!/usr/bin/env python3
"""Benchmark: activation and usage statistics on N synthetic spaces in PostgreSQL (default 10,000,000).

What it does, in one run:

1. Creates the schema of a throwaway PostgreSQL database with Alembic (``flask db upgrade``,
   the production migrations). Without ``LEARNSPACE_TEST_POSTGRES_URL`` the script runs
   itself again inside ``scripts/lib.sh``'s ``ls_postgres_ensure``, exactly as
   ``scripts/test`` does, so the database (random name and role) is dropped at the end.
2. Generates a realistic world and streams it in with ``COPY`` (one chunk of schools at a
   time, so memory stays bounded whatever N is): 1 province, 14 cities, 120 counties,
   about N/333 schools (30,000 at 10M) of very different sizes, their rostered teachers and
   students (activation rate 55–98 % per school, 1 % disabled, 1 % transferred to another
   school after activating), one space per activated person with ``activated_dt`` over the
   last 365 days (peaks at the start of the autumn and spring terms), admins of every level,
   and ``activity_days`` rows after each activation (``--activity`` active days per space over
   the year, the kinds weighted towards sign-in; the school at the action is the old school
   before a transfer and the new one after it). Lessons are generated for teachers with a
   space (``--lessons`` per teacher, two thirds published, skewed view counts).
   Secondary indexes and foreign keys of the loaded tables are dropped before the COPY and
   rebuilt afterwards, then every table is ANALYZEd; all of that counts as load time.
3. Builds the roll-up rows for the whole year from those base tables with ``rollups.rebuild()`` (what
   ``learnspace stats rebuild-rollups`` runs), so they are consistent with them; for small N (or
   ``--check``) every row is then compared with ``rollups.ground_truth()``.
4. Times the dashboard (``learnspace.stats.operations.dashboard``: the unit's own row, its children's
   rows, the time series) for the province, every city, 12 counties and 30 schools over the
   dashboard's default range (the last 90 days), and the same dashboard with its roll-up reads replaced
   by the equivalent ground-truth ``COUNT(*)`` queries over the base tables (``GroundTruthReads``), in
   the same run; prints p50/p95 per level and the ratio, and checks both give the same figures.
   Target: p95 ≤ 200 ms at 10M.

Run:  .venv/bin/python scripts/bench/stats.py [--n 10000000] [--repeat 5] [--days 90]
      (--n 20000 takes about a minute; the 10M run about 25 minutes on 2 cores, half of it rebuilding the roll-ups)
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CHINA_OFFSET = 8 * 3600  # Asia/Shanghai has no daylight saving time: local = UTC + 8 h

CITIES = [  # (code, name, counties) - Hunan's 14 prefecture-level divisions, 120 counties in all
    ("430100", "长沙市", 9), ("430200", "株洲市", 9), ("430300", "湘潭市", 5), ("430400", "衡阳市", 12),
    ("430500", "邵阳市", 12), ("430600", "岳阳市", 9), ("430700", "常德市", 9), ("430800", "张家界市", 4),
    ("430900", "益阳市", 6), ("431000", "郴州市", 11), ("431100", "永州市", 11), ("431200", "怀化市", 12),
    ("431300", "娄底市", 3), ("433100", "湘西土家族苗族自治州", 8),
]
STAGES = ["小学"] * 6 + ["初中"] * 3 + ["高中", "九年一贯制", "完全中学"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "子涵欣怡梓轩浩宇诺雨桐思远一鸣佳琪嘉懿煜城梦瑶俊杰紫萱晨曦睿泽语嫣天佑雅静志强建华丽娟秀英国庆海燕"
KIND_WEIGHTS = {"sign_in": 0.55, "watch": 0.2, "upload": 0.06, "publish": 0.04, "comment": 0.07,
                "note": 0.06, "announce": 0.02}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the world -----------------------------------------------------------------------------------

class World:
    """Sizes of every school and the id ranges they use; the rows themselves are made per chunk."""

    def __init__(self, n: int, seed: int, end: date, activity: float, lessons: float):
        self.n, self.seed, self.end, self.activity, self.lessons = n, seed, end, activity, lessons
        self.start = end - timedelta(days=364)
        rng = np.random.default_rng(seed)
        self.counties: list[tuple[str, str, str]] = []  # (code, name, city code)
        for city_code, city_name, count in CITIES:
            for k in range(count):
                self.counties.append((f"{city_code[:4]}{k + 2:02d}", f"{city_name[:2]}第{k + 1}区县", city_code))
        n_schools = max(len(self.counties), round(n / 333))
        # Big counties have many schools, and schools differ a lot in size (village schools to 3,000 pupils).
        county_weight = rng.lognormal(0, 0.5, len(self.counties))
        self.school_county = np.sort(rng.choice(len(self.counties), n_schools, p=county_weight / county_weight.sum()))
        self.school_county[: len(self.counties)] = np.arange(len(self.counties))  # every county has a school
        self.school_county.sort()
        size = rng.lognormal(0, 0.8, n_schools)
        spaces = np.floor(size / size.sum() * n).astype(np.int64)
        spaces[rng.choice(n_schools, n - int(spaces.sum()), replace=False)] += 1  # exactly n spaces
        self.spaces = spaces
        self.rate = rng.uniform(0.55, 0.98, n_schools)  # activation rate of the school
        users = np.ceil(spaces / self.rate).astype(np.int64) + 1  # at least one person without a space
        self.users = users
        self.user_offset = np.concatenate([[0], np.cumsum(users)[:-1]])  # user id = offset + index + 1
        self.space_offset = np.concatenate([[0], np.cumsum(spaces)[:-1]])
        self.n_schools = n_schools
        self.n_rostered = int(users.sum())
        # activation day weights: term starts (1 September, 1 March) and a little less at weekends
        days = np.array([self.start + timedelta(days=i) for i in range(365)])
        doy = np.array([(d - date(d.year, 9, 1)).days for d in days])
        dom = np.array([(d - date(d.year, 3, 1)).days for d in days])
        weight = 1 + 6 * np.exp(-((doy / 12.0) ** 2)) + 4 * np.exp(-((dom / 12.0) ** 2))
        weight *= np.array([0.6 if d.weekday() >= 5 else 1.0 for d in days])
        self.day_p = weight / weight.sum()
        self.start_epoch = int(datetime(self.start.year, self.start.month, self.start.day,
                                        tzinfo=timezone.utc).timestamp()) - CHINA_OFFSET  # local midnight

    def regions(self):
        yield ("430000", "湖南省", "province", None)
        for code, name, _ in CITIES:
            yield (code, name, "city", "430000")
        for code, name, city in self.counties:
            yield (code, name, "county", city)

    def school_rows(self):
        for i in range(self.n_schools):
            county = self.counties[self.school_county[i]][0]
            stage = STAGES[i % len(STAGES)]
            yield (i + 1, f"4{i:09d}", f"{self.counties[self.school_county[i]][1]}第{i + 1}{stage}", stage, county)

    def chunks(self, max_users: int = 200_000):
        """Yield (first school, last school + 1) ranges holding at most about max_users people."""
        first, total = 0, 0
        for i, count in enumerate(self.users.tolist()):
            total += count
            if total >= max_users:
                yield first, i + 1
                first, total = i + 1, 0
        if first < self.n_schools:
            yield first, self.n_schools


def chunk_rows(world: World, s0: int, s1: int):
    """Generate the people, spaces, activity and lessons of schools s0..s1-1 as numpy columns."""
    rng = np.random.default_rng([world.seed, s0])
    schools = np.arange(s0, s1)
    users, spaces = world.users[s0:s1], world.spaces[s0:s1]
    n = int(users.sum())
    school = np.repeat(schools, users)
    local = np.arange(n) - np.repeat(np.cumsum(users) - users, users)
    user_id = np.repeat(world.user_offset[s0:s1], users) + local + 1
    has_space = local < np.repeat(spaces, users)
    # teachers activate more often than students: about 10 % of spaces, 4 % of the rest
    teacher = rng.random(n) < np.where(has_space, 0.10, 0.04)
    disabled = rng.random(n) < 0.01
    act_day = rng.choice(365, n, p=world.day_p)
    act_sec = world.start_epoch + act_day * 86400 + rng.integers(7 * 3600, 22 * 3600, n)
    # 1 % of people with a space moved to another school after activating: mostly a neighbour
    # (usually in the same county), sometimes anywhere in the province
    moved = has_space & (rng.random(n) < 0.01) & (act_day < 364)
    far = rng.integers(0, world.n_schools, n)
    near = np.clip(school + rng.choice([-1, 1], n), 0, world.n_schools - 1)
    current = np.where(moved, np.where(rng.random(n) < 0.7, near, far), school)
    moved &= current != school
    move_day = act_day + 1 + (rng.random(n) * (364 - act_day)).astype(np.int64)

    people = dict(id=user_id, school=current, teacher=teacher, disabled=disabled,
                  rostered=world.start_epoch - rng.integers(1, 400, n) * 86400)
    sp = np.flatnonzero(has_space)
    space = dict(id=np.repeat(world.space_offset[s0:s1], spaces) + np.arange(len(sp))
                 - np.repeat(np.cumsum(spaces) - spaces, spaces) + 1,
                 owner=user_id[sp], at=act_sec[sp], school=school[sp], oidc=rng.random(len(sp)) < 0.6)

    # activity: Poisson(--activity) active days per space owner, on days after the activation
    k = rng.poisson(world.activity, len(sp))
    who = np.repeat(sp, k)
    left = 365 - act_day[who]
    day = act_day[who] + (rng.random(len(who)) * left).astype(np.int64)
    kinds = rng.choice(len(KIND_WEIGHTS), len(who), p=np.array(list(KIND_WEIGHTS.values())))
    key = (who.astype(np.int64) * 400 + day) * 8 + kinds
    key, first = np.unique(key, return_index=True)  # one row per (person, day, kind)
    who, day, kinds = who[first], day[first], kinds[first]
    at_school = np.where(moved[who] & (day >= move_day[who]), current[who], school[who])
    first_sec = world.start_epoch + day * 86400 + rng.integers(7 * 3600, 20 * 3600, len(who))
    count = rng.geometric(0.5, len(who))
    last_sec = np.minimum(first_sec + (count - 1) * rng.integers(60, 3600, len(who)),
                          world.start_epoch + day * 86400 + 86399)  # the same local day
    activity = dict(user=user_id[who], day=day, kind=kinds, school=at_school, count=count, first=first_sec,
                    last=last_sec)

    # lessons: teachers with a space, at their current school
    tw = sp[teacher[sp]]
    m = rng.poisson(world.lessons, len(tw))
    owner = np.repeat(tw, m)
    created = np.maximum(act_sec[owner], act_sec[owner] + (rng.random(len(owner)) * (
        world.start_epoch + 365 * 86400 - act_sec[owner])).astype(np.int64))
    published = rng.random(len(owner)) < 0.67
    lessons = dict(teacher=user_id[owner], school=current[owner], created=created, published=published,
                   views=np.where(published, rng.zipf(1.6, len(owner)).clip(max=100_000) - 1, 0))
    return people, space, activity, lessons


# --- COPY text -----------------------------------------------------------------------------------

def ts(seconds: np.ndarray) -> np.ndarray:
    """UTC timestamps as text COPY understands (the session time zone is UTC)."""
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")


def local_dates(world: World, day: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.datetime64(world.start) + day.astype("timedelta64[D]"), unit="D")


def lines(*columns) -> bytes:
    """Tab-separated COPY text from equally long columns (lists or numpy arrays; None is NULL)."""
    cols = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns]
    out = "\n".join("\t".join("\\N" if v is None else str(v) for v in row) for row in zip(*cols))
    return (out + "\n").encode() if out else b""


def names(rng, n: int) -> np.ndarray:
    pool = np.array([s + g1 + g2 for s in SURNAMES[:40] for g1 in GIVEN[:20] for g2 in GIVEN[20:40]], dtype=object)
    return pool[rng.integers(0, len(pool), n)]


# --- database ------------------------------------------------------------------------------------

def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def schema_objects(conn, tables: list[str], kinds: tuple[str, ...] = ("f", "u")):
    """The secondary indexes and the foreign-key/unique (/primary key) constraints of *tables*, as SQL."""
    constraints = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
           FROM pg_constraint c WHERE c.contype = ANY(%s) AND c.conrelid::regclass::text = ANY(%s)
           ORDER BY c.contype DESC""", (list(kinds), tables)).fetchall()  # u, p before f when re-adding
    indexes = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
           WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        (tables,)).fetchall()
    return constraints, indexes


def drop_secondary(conn, tables, kinds=("f", "u")):
    constraints, indexes = schema_objects(conn, tables, kinds)
    for table, name, _ in sorted(constraints, key=lambda c: not c[2].startswith("FOREIGN")):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.commit()
    return constraints, indexes


def restore_secondary(conn, constraints, indexes):
    conn.execute("SET maintenance_work_mem = '512MB'")
    for name, definition in indexes:
        log(f"  index {name}")
        conn.execute(definition)
        conn.commit()
    for table, name, definition in constraints:
        log(f"  constraint {name}")
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.commit()


class Copier:
    """One connection per table with its COPY open, so one pass over the generator fills them all."""

    def __init__(self, url: str, stack: contextlib.ExitStack):
        import psycopg

        self.url, self.stack, self.psycopg, self.copies, self.rows = url, stack, psycopg, {}, {}

    def open(self, table: str, columns: str):
        conn = self.stack.enter_context(self.psycopg.connect(self.url))
        conn.execute("SET TIME ZONE 'UTC'")
        cur = conn.cursor()
        # a writer thread sends while this one formats the next chunk (its queue holds at most 128 MiB)
        writer = self.psycopg.copy.QueuedLibpqWriter(cur)
        self.copies[table] = self.stack.enter_context(cur.copy(f"COPY {table} ({columns}) FROM STDIN",
                                                               writer=writer))
        self.rows[table] = 0

    def write(self, table: str, data: bytes, rows: int):
        if rows:
            self.copies[table].write(data)
            self.rows[table] += rows


BASE_TABLES = ["regions", "schools", "users", "spaces", "activity_days", "catalog_nodes", "lessons"]
KIND_NAMES = list(KIND_WEIGHTS)


def load_base(url: str, world: World) -> dict:
    """COPY the generated world into the base tables; return row counts."""
    import psycopg

    with psycopg.connect(url) as conn:
        constraints, indexes = drop_secondary(conn, BASE_TABLES)
    with contextlib.ExitStack() as stack:
        copier = Copier(url, stack)
        copier.open("regions", "code, name, level, parent_code, created_dt")
        copier.open("schools", "id, code, name, stage, county_code, created_dt")
        copier.open("users", "id, real_name, role, school_id, region_code, is_disabled, rostered_dt, updated_dt")
        copier.open("spaces", "id, owner_id, activated_dt, activated_school_id, activation_method")
        copier.open("activity_days", "user_id, day, kind, school_id, count, first_dt, last_dt")
        copier.open("catalog_nodes", "id, key, level, name, position, path, stage, subject, created_dt")
        copier.open("lessons", "teacher_id, school_id, title, description, stage, subject, grade, edition, "
                               "catalog_node_id, lesson_type, language, visibility, status, created_dt, "
                               "updated_dt, published_dt, view_count")
        born = ts(np.array([world.start_epoch - 400 * 86400]))[0]
        regions = list(world.regions())
        copier.write("regions", lines(*zip(*[r + (born,) for r in regions])), len(regions))
        schools = [row + (born,) for row in world.school_rows()]
        copier.write("schools", lines(*zip(*schools)), len(schools))
        copier.write("catalog_nodes", lines([1], ["bench-math"], ["section"], ["勾股定理"], [0], ["/1/"], ["初中"],
                                             ["数学"], [born]), 1)
        chunks = list(world.chunks())
        for number, (s0, s1) in enumerate(chunks):
            people, space, act, lesson = chunk_rows(world, s0, s1)
            rng = np.random.default_rng([world.seed, s0, 1])
            n = len(people["id"])
            rostered = ts(people["rostered"])
            copier.write("users", lines(
                people["id"], names(rng, n), np.where(people["teacher"], "teacher", "student"), people["school"] + 1,
                [None] * n, np.where(people["disabled"], "t", "f"), rostered, rostered), n)
            m = len(space["id"])
            copier.write("spaces", lines(space["id"], space["owner"], ts(space["at"]), space["school"] + 1,
                                         np.where(space["oidc"], "oidc", "code")), m)
            k = len(act["user"])
            copier.write("activity_days", lines(
                act["user"], local_dates(world, act["day"]), np.array(KIND_NAMES, dtype=object)[act["kind"]],
                act["school"] + 1, act["count"], ts(act["first"]), ts(act["last"])), k)
            q = len(lesson["teacher"])
            created = ts(lesson["created"])
            copier.write("lessons", lines(
                lesson["teacher"], lesson["school"] + 1, ["勾股定理（第1课时）"] * q, [""] * q, ["初中"] * q,
                ["数学"] * q, ["八年级"] * q, ["人教版"] * q, [1] * q, ["新授课"] * q, ["zh"] * q,
                np.where(rng.random(q) < 0.5, "public", "school"),
                np.where(lesson["published"], "published", "draft"), created, created,
                np.where(lesson["published"], created, None), lesson["views"]), q)
            if number % 10 == 0 or number == len(chunks) - 1:
                log(f"  chunk {number + 1}/{len(chunks)}: schools {s1:,}/{world.n_schools:,}, "
                    f"users {copier.rows['users']:,}, spaces {copier.rows['spaces']:,}, "
                    f"activity rows {copier.rows['activity_days']:,}, peak RSS {rss_mib():.0f} MiB")
        # admins: a platform admin, one admin per region, one per school (they never count as rostered)
        first = world.n_rostered + 1
        admin_rows = [(first, "平台管理员", "platform_admin", None, None)]
        admin_rows += [(first + 1 + i, "区域管理员", "region_admin", None, r[0]) for i, r in enumerate(regions)]
        base = first + 1 + len(regions)
        admin_rows += [(base + i, "学校管理员", "school_admin", i + 1, None) for i in range(world.n_schools)]
        copier.write("users", lines(*zip(*[r + ("f", born, born) for r in admin_rows])), len(admin_rows))
        counts = dict(copier.rows)
    log("rebuilding indexes and constraints")
    with psycopg.connect(url) as conn:
        restore_secondary(conn, constraints, indexes)
        for table, column in [("users", "id"), ("schools", "id"), ("spaces", "id"), ("activity_days", "id"),
                              ("lessons", "id"), ("catalog_nodes", "id")]:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                         f"(SELECT coalesce(max({column}), 1) FROM {table}))")
        conn.commit()
    return counts


def analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --- roll-ups ------------------------------------------------------------------------------------

def build_rollups() -> dict:
    """Fill the roll-up tables from the base tables with rollups.rebuild() (what 'learnspace stats
    rebuild-rollups' runs: set-based SQL, the definitions of rollups.ground_truth); return row counts."""
    from learnspace.activity import rollups
    from learnspace.extensions import db

    counts = rollups.rebuild(progress=lambda done, total: log(f"  rebuild step {done}/{total}"))
    db.session.commit()
    return {f"rollup {name}": count for name, count in counts.items()}


def check_rollups() -> str:
    """Compare every stored roll-up row with rollups.ground_truth() (only for small N: it runs in Python)."""
    from learnspace.activity import rollups

    stored, truth = rollups.stored(), rollups.ground_truth()
    for name in ("totals", "days", "periods", "marks"):
        a, b = getattr(stored, name), getattr(truth, name)
        if a != b:
            diff = (set(a.items()) ^ set(b.items())) if isinstance(a, dict) else (a ^ b)
            raise SystemExit(f"roll-up {name} differ from ground_truth() in {len(diff)} rows, e.g. {sorted(diff)[:3]}")
    return (f"all roll-up rows equal rollups.ground_truth(): {len(truth.totals):,} totals, {len(truth.days):,} days, "
            f"{len(truth.periods):,} weeks/months, {len(truth.marks):,} marks")


# --- timing --------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def time_calls(call, units, repeat: int, answers: dict | None = None) -> list[float]:
    """Milliseconds of call(unit) for every unit, *repeat* times each (first call of each unit included);
    the last answer for each unit goes into *answers*."""
    samples = []
    for _ in range(repeat):
        for unit in units:
            start = time.perf_counter()
            answer = call(unit)
            samples.append((time.perf_counter() - start) * 1000)
            if answers is not None:
                answers[unit] = answer
    return samples


def sample_units(world: World, rng) -> dict[str, list]:
    """Units of every level to measure: the province, every city, 12 counties, 30 schools."""
    counties = [c[0] for c in world.counties]
    return {
        "province": [("province", "430000")],
        "city": [("city", c[0]) for c in CITIES],
        "county": [("county", c) for c in rng.choice(counties, min(12, len(counties)), replace=False).tolist()],
        "school": [("school", int(s) + 1) for s in rng.choice(world.n_schools, min(30, world.n_schools),
                                                                 replace=False).tolist()],
    }


def database_size(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def report(args, world: World, counts: dict, figures: dict, results: dict, size: int) -> None:
    """Print the figures as a Markdown table (the README's Benchmarks section takes it as it is)."""
    print()
    print(f"N = {args.n:,} spaces, {world.n_rostered:,} rostered people, {world.n_schools:,} schools, "
          f"{len(world.counties)} counties, {len(CITIES)} cities; year {world.start} .. {world.end}")
    print("rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))
    print(f"load: base tables (COPY, then indexes and constraints) {figures['load_base']:.0f} s, "
          f"roll-ups {figures['rollups']:.0f} s, VACUUM ANALYZE {figures['analyze']:.0f} s; "
          f"database {size / 2**30:.1f} GiB; peak RSS of this process {rss_mib():.0f} MiB")
    if "check" in figures:
        print(f"check: {figures['check']}")
    mismatches = results["mismatches"]
    print(f"dashboard with roll-ups == dashboard from COUNT(*): "
          f"{'yes, for every unit measured' if not mismatches else 'NO for ' + ', '.join(mismatches)}")
    print(f"reads: {results['label']}")
    print(f"ground truth: {results['truth_label']}")
    print()
    print("| level | dashboard: units × calls | p50 | p95 | ground truth: units × calls | p50 | p95 | ratio of p50 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for level, row in results["levels"].items():
        fast, slow = row["fast"], row["slow"]
        f50, f95 = percentile(fast, 0.5), percentile(fast, 0.95)
        line = f"| {level} | {row['units']} × {len(fast) // row['units']} | {f50:.1f} ms | {f95:.1f} ms | "
        if slow:
            s50, s95 = percentile(slow, 0.5), percentile(slow, 0.95)
            line += (f"{row['truth_units']} × {len(slow) // row['truth_units']} | {s50:,.0f} ms | {s95:,.0f} ms | "
                     f"{s50 / f50:,.0f}× |")
        else:
            line += "– | – | – | – |"
        print(line)
    print()
    print("mean SQL time per dashboard call (the rest is Python):")
    for level, row in results["levels"].items():
        mean = sum(row["fast"]) / len(row["fast"])
        print(f"  {level:8} {mean:7.1f} ms per call: " + ", ".join(f"{k} {v:.1f} ms" for k, v in row["sql"].items()))
        for spent, statement in row["slowest"]:
            print(f"           {spent:7.1f} ms  {statement}")


# --- ground truth: the dashboard's roll-up reads done with COUNT(*) over the base tables ---------

class GroundTruthReads:
    """The read functions of learnspace.activity.rollups (role_totals, totals, range_figures,
    new_activations, active_in, active_in_periods, daily, period_active: same arguments, same return shapes) answered from users, spaces,
    lessons, schools and activity_days with COUNT(*) (the definitions of rollups.ground_truth), only
    for the units asked.

    The dashboard is timed twice: once as it is, once with this object in place of the roll-up
    module it reads, so everything else on the page (the children, the series) is the same.
    """

    def __init__(self, session):
        self.session = session

    @staticmethod
    def _group(units: list[str]):
        """(SQL expression of a school's unit, WHERE clause on sc, parameters) for units of one kind."""
        if units == ["all"]:
            return "'all'", "TRUE", {}
        kinds = {u.split(":")[0] for u in units}
        if kinds == {"school"}:
            return "'school:' || sc.id", "sc.id = ANY(%(ids)s)", {"ids": [int(u.split(":")[1]) for u in units]}
        if kinds != {"region"}:
            raise ValueError(f"units of one kind expected, got {sorted(kinds)}")
        codes = [u.split(":")[1] for u in units]
        width = 2 if codes[0].endswith("0000") else 4 if codes[0].endswith("00") else 6
        pad = "0" * (6 - width)
        return (f"'region:' || substr(sc.county_code, 1, {width}) || '{pad}'",
                f"substr(sc.county_code, 1, {width}) = ANY(%(prefixes)s)", {"prefixes": [c[:width] for c in codes]})

    @staticmethod
    def _roles(role):
        return ["teacher", "student"] if role is None else [role]

    def _run(self, sql: str, params: dict):
        # psycopg parameters through the DBAPI connection of the session's own transaction
        cursor = self.session.connection().connection.cursor()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def totals(self, units, role=None):
        from learnspace.activity.rollups import Totals

        units = list(dict.fromkeys(units))
        key, where, params = self._group(units)
        roles = self._roles(role)
        rows = self._run(f"""SELECT {key}, count(*), count(s.id), count(*) FILTER (WHERE u.role = 'teacher' AND EXISTS (
                SELECT 1 FROM lessons l WHERE l.teacher_id = u.id AND l.status = 'published'))
            FROM users u JOIN schools sc ON sc.id = u.school_id
            LEFT JOIN spaces s ON s.owner_id = u.id
            WHERE u.role = ANY(%(roles)s) AND NOT u.is_disabled AND {where} GROUP BY 1""", {**params, "roles": roles})
        found = {k: [int(n), int(a), int(p), 0] for k, n, a, p in rows}
        if "teacher" in roles:  # lesson figures are kept under the role "teacher"
            for k, views in self._run(f"""SELECT {key}, sum(l.view_count) FROM lessons l JOIN schools sc ON sc.id = l.school_id
                    WHERE l.status = 'published' AND {where} GROUP BY 1""", params):
                found.setdefault(k, [0, 0, 0, 0])[3] = int(views or 0)
        return {u: Totals(*found.get(u, (0, 0, 0, 0))) for u in units}

    def role_totals(self, units):
        teachers, students = self.totals(units, "teacher"), self.totals(units, "student")
        return {u: {"teacher": teachers[u], "student": students[u]} for u in teachers}

    @staticmethod
    def add_roles(by_role, role=None):
        from learnspace.activity.rollups import add_roles

        return add_roles(by_role, role)

    def range_figures(self, units, start, end, role=None):
        from learnspace.activity.rollups import RangeFigures
        from learnspace.china_time import utc_bounds

        units = list(dict.fromkeys(units))
        new = {k: int(n) for k, n in self._new(units, start, end, role, False)}
        made = {}
        if "teacher" in self._roles(role):
            key, where, params = self._group(units)
            low, high = utc_bounds(start, end)
            for k, uploaded, published in self._run(f"""SELECT {key},
                    count(*) FILTER (WHERE l.created_dt >= %(low)s AND l.created_dt < %(high)s),
                    count(*) FILTER (WHERE l.status = 'published' AND l.published_dt >= %(low)s AND l.published_dt < %(high)s)
                    FROM lessons l JOIN schools sc ON sc.id = l.school_id WHERE {where} GROUP BY 1""",
                                                     {**params, "low": low, "high": high}):
                made[k] = (int(uploaded), int(published))
        return {u: RangeFigures(new.get(u, 0), *made.get(u, (0, 0))) for u in units}

    def _new(self, units, start, end, role, by_day: bool):
        from learnspace.china_time import utc_bounds

        key, where, params = self._group(units)
        low, high = utc_bounds(start, end)
        group = "date(timezone('Asia/Shanghai', s.activated_dt))" if by_day else key
        return self._run(f"""SELECT {group}, count(*) FROM spaces s JOIN users u ON u.id = s.owner_id
            JOIN schools sc ON sc.id = s.activated_school_id
            WHERE u.role = ANY(%(roles)s) AND s.activated_dt >= %(low)s AND s.activated_dt < %(high)s AND {where}
            GROUP BY 1""", {**params, "roles": self._roles(role), "low": low, "high": high})

    def new_activations(self, units, start, end, role=None):
        units = list(dict.fromkeys(units))
        found = {k: int(n) for k, n in self._new(units, start, end, role, False)}
        return {u: found.get(u, 0) for u in units}

    def _active(self, units, period: str, first: date, after: date, role, by_start: bool):
        """Active space owners per unit (or per period start): each person once per period, at the
        school of their first counted action in it (the activity_days row with the smallest id)."""
        start = {"day": "a.day", "week": "date(date_trunc('week', a.day::timestamp))",
                 "month": "date(date_trunc('month', a.day::timestamp))"}[period]
        key, where, params = self._group(units)
        # Only people with some activity in the units can be counted there, so only their rows are
        # ordered; which school comes first is still decided over all of their rows in the period.
        here = where.replace("sc.", "sc2.")
        return self._run(f"""SELECT {'f.start' if by_start else key}, count(*) FROM (
                SELECT DISTINCT ON (a.user_id, {start}) a.user_id, {start} AS start, a.school_id
                FROM activity_days a JOIN users u ON u.id = a.user_id JOIN spaces s ON s.owner_id = a.user_id
                WHERE u.role = ANY(%(roles)s) AND a.day >= %(first)s AND a.day < %(after)s
                  AND a.user_id IN (SELECT a2.user_id FROM activity_days a2 JOIN schools sc2 ON sc2.id = a2.school_id
                                    WHERE a2.day >= %(first)s AND a2.day < %(after)s AND {here})
                ORDER BY a.user_id, {start}, a.id) f
            JOIN schools sc ON sc.id = f.school_id WHERE {where} GROUP BY 1""",
                         {**params, "roles": self._roles(role), "first": first, "after": after})

    def active_in(self, units, period, day, role=None):
        from learnspace.activity.rollups import next_period, period_start

        units = list(dict.fromkeys(units))
        first = period_start(period, day)
        found = {k: int(n) for k, n in self._active(units, period, first, next_period(period, first), role, False)}
        return {u: found.get(u, 0) for u in units}

    def active_in_periods(self, units, days, role=None):
        found = {period: self.active_in(units, period, day, role) for period, day in days.items()}
        return {u: {period: found[period][u] for period in days} for u in dict.fromkeys(units)}

    def daily(self, unit, start, end, role=None):
        from learnspace.activity.rollups import DayFigures

        new = {d: int(n) for d, n in self._new([unit], start, end, role, True)}
        active = {d: int(n) for d, n in self._active([unit], "day", start, end + timedelta(days=1), role, True)}
        return [DayFigures(start + timedelta(days=i), new.get(start + timedelta(days=i), 0),
                           active.get(start + timedelta(days=i), 0)) for i in range((end - start).days + 1)]

    def period_active(self, unit, period, start, end, role=None):
        from learnspace.activity.rollups import next_period, period_start

        if period == "day":
            return [(d.day, d.active) for d in self.daily(unit, start, end, role)]
        first = period_start(period, start)
        last = period_start(period, end)
        found = {d: int(n) for d, n in self._active([unit], period, first, next_period(period, last), role, True)}
        out, s = [], first
        while s <= end:
            out.append((s, found.get(s, 0)))
            s = next_period(period, s)
        return out


class SqlClock:
    """Milliseconds spent in SQL statements while active, by what they read: roll-up tables, lessons, other."""

    def __init__(self, engine):
        self.engine, self.spent, self.started = engine, {"roll-ups": 0.0, "lessons": 0.0, "other": 0.0}, {}
        self.statements: dict[str, float] = {}

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.started[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        elapsed = (time.perf_counter() - self.started.pop(id(cursor), time.perf_counter())) * 1000
        kind = "roll-ups" if "rollup_" in statement else "lessons" if "lessons" in statement else "other"
        self.spent[kind] += elapsed
        shape = " ".join(statement.split())[:160]
        self.statements[shape] = self.statements.get(shape, 0.0) + elapsed

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def measure(world: World, codes: dict[str, list], repeat: int, truth_repeat: int, truth_units: int,
            days: int) -> dict:
    """Time stats.operations.dashboard() per level, with roll-ups and with GroundTruthReads; compare the figures."""
    from learnspace.extensions import db
    from learnspace.orgs.models import Region, School
    from learnspace.stats import operations
    from learnspace.stats.drilldown import region_unit, school_unit
    from learnspace.stats.periods import parse_range

    period = parse_range((world.end - timedelta(days=days - 1)).isoformat(), world.end.isoformat(), None)
    levels = {}
    for level, items in codes.items():
        levels[level] = [school_unit(db.session.get(School, code)) if kind == "school"
                         else region_unit(db.session.get(Region, code)) for kind, code in items]
    rollup_reads = operations.rollups
    truth = GroundTruthReads(db.session)
    results = {"label": f"learnspace.stats.operations.dashboard(unit, {period.label} by {period.by}, role=None): "
                        "own row, children's rows, series, target",
               "truth_label": "the same dashboard() with its roll-up reads replaced by COUNT(*) over users, spaces, lessons, "
                              "schools and activity_days (GroundTruthReads)",
               "levels": {}, "mismatches": []}
    for level, units in levels.items():
        log(f"measuring {level}: {len(units)} units")
        operations.rollups = rollup_reads
        with SqlClock(db.engine) as clock:
            fast = time_calls(lambda u: operations.dashboard(u, period), units, repeat)
        answers = {u: operations.dashboard(u, period) for u in units}
        # the ground truth takes seconds per call at 10M: a few units of each level are enough
        checked = units[:truth_units]
        operations.rollups = truth
        try:
            expected = {}  # the timed calls' own answers: the ground truth takes minutes at province level
            slow = time_calls(lambda u: operations.dashboard(u, period), checked, truth_repeat, expected)
        finally:
            operations.rollups = rollup_reads
        for unit in expected:
            a, b = answers[unit], expected[unit]
            same = (a.total == b.total and a.rows == b.rows and a.new_series == b.new_series
                    and a.active_series == b.active_series)
            if not same:
                results["mismatches"].append(unit.label)
        db.session.rollback()
        results["levels"][level] = {"units": len(units), "fast": fast, "slow": slow, "truth_units": len(checked),
                                    "sql": {k: v / len(fast) for k, v in clock.spent.items()},
                                    "slowest": sorted(((v / len(fast), k) for k, v in clock.statements.items()),
                                                      reverse=True)[:3]}
        log(f"  dashboard p50 {percentile(fast, 0.5):.1f} ms p95 {percentile(fast, 0.95):.1f} ms"
            + (f"; ground truth p50 {percentile(slow, 0.5):.0f} ms p95 {percentile(slow, 0.95):.0f} ms" if slow else ""))
    return results


# --- main ----------------------------------------------------------------------------------------

def run_inside_throwaway_database() -> int:
    """Run this script again with a throwaway PostgreSQL database from scripts/lib.sh (dropped on exit)."""
    script = (f". {shlex.quote(str(ROOT / 'scripts' / 'lib.sh'))}; ls_postgres_ensure; "
              f'LEARNSPACE_BENCH_THROWAWAY=1 "$0" "$@"')
    return subprocess.call(["bash", "-c", script, sys.executable, *sys.argv])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="spaces to generate (default 10,000,000)")
    parser.add_argument("--activity", type=float, default=2.0,
                        help="mean active days per space over the year (activity_days rows)")
    parser.add_argument("--lessons", type=float, default=0.5, help="mean lessons per teacher with a space")
    parser.add_argument("--repeat", type=int, default=5, help="calls per unit for the dashboard reads")
    parser.add_argument("--truth-repeat", type=int, default=1, help="calls per unit for the ground truth")
    parser.add_argument("--truth-units", type=int, default=3,
                        help="units per level timed with the ground truth (the first of those measured)")
    parser.add_argument("--days", type=int, default=90, help="date range of the dashboard (default: its own 90)")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=None,
                        help="compare every roll-up row with rollups.ground_truth() (default: when N is small)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=date.fromisoformat, default=None,
                        help="last day of the generated year (default: today in Asia/Shanghai)")
    args = parser.parse_args()

    if not os.environ.get("LEARNSPACE_TEST_POSTGRES_URL"):
        sys.exit(run_inside_throwaway_database())

    url = os.environ["LEARNSPACE_TEST_POSTGRES_URL"]
    end = args.end or (datetime.now(timezone.utc) + timedelta(hours=8)).date()
    work = Path(tempfile.mkdtemp(prefix="ls-bench-stats-"))
    os.environ.update(LEARNSPACE_VAR_DIR=str(work), LEARNSPACE_DATABASE_URL=url,
                      LEARNSPACE_SEARCH_DIR=str(work / "search"))
    from flask_migrate import downgrade, upgrade

    from learnspace import create_app
    from learnspace.extensions import db

    app = create_app({"STORAGE_BACKEND": "memory"})
    figures = {}
    with app.app_context():
        downgrade(revision="base")  # a rerun against a kept database starts clean
        upgrade()
        db.session.remove()
        db.engine.dispose()

        world = World(args.n, args.seed, end, args.activity, args.lessons)
        log(f"world: {world.n_schools:,} schools, {world.n_rostered:,} rostered people, {args.n:,} spaces, "
            f"{world.start} .. {world.end}")
        start = time.perf_counter()
        counts = load_base(psycopg_url(url), world)
        figures["load_base"] = time.perf_counter() - start
        log(f"base tables loaded in {figures['load_base']:.0f} s: " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))

        start = time.perf_counter()
        counts.update(build_rollups())
        figures["rollups"] = time.perf_counter() - start
        log(f"roll-ups built in {figures['rollups']:.0f} s")
        start = time.perf_counter()
        analyze(psycopg_url(url))
        figures["analyze"] = time.perf_counter() - start
        log(f"VACUUM ANALYZE in {figures['analyze']:.0f} s; peak RSS {rss_mib():.0f} MiB")

        if args.check or (args.check is None and world.n_rostered <= 500_000):
            start = time.perf_counter()
            figures["check"] = check_rollups()
            log(f"{figures['check']} ({time.perf_counter() - start:.0f} s)")
        codes = sample_units(world, np.random.default_rng(args.seed))
        results = measure(world, codes, args.repeat, args.truth_repeat, args.truth_units, args.days)

    size = database_size(psycopg_url(url))
    report(args, world, counts, figures, results, size)


if __name__ == "__main__":
    main()
