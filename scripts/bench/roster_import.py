#!/usr/bin/env python3
"""Benchmark: import a 100,000-row roster CSV (GBK) into SQLite, streaming.

Prints rows per second, the ratio against a reference measured in the same run
(just parsing and decoding the same CSV with the csv module, the floor any import
pays), and the peak Python heap during the import compared with the file size,
which shows the file is streamed rather than read whole.

Run:  .venv/bin/python scripts/bench/roster_import.py [--rows 100000]
It needs no MinIO: storage is the in-memory stand-in, since nothing is stored there.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def write_roster(path: Path, rows: int, school_code: str) -> None:
    from learnspace.accounts.idcard import check_digit

    surnames, given = "王李张刘陈杨黄赵吴周", "子涵欣怡梓轩浩宇诺雨桐思远"
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "角色", "学校标识码", "学籍号", "教师编号", "身份证号", "年级", "班级"])
        for i in range(rows):
            n = i // 4  # every fourth row has an ID number; n keeps them all distinct
            first17 = f"430102{2010 + n % 6}{1 + (n // 6) % 12:02d}{1 + (n // 72) % 28:02d}{(n // 2016) % 1000:03d}"
            id_card = first17 + check_digit(first17) if i % 4 == 0 else ""
            name = surnames[i % 10] + given[i % 13] + given[(i // 13) % 13]
            writer.writerow([name, "学生", school_code, f"G{i:017d}", "", id_card, f"{1 + i % 6}年级", f"{1 + i % 8}班"])


def reference_parse(path: Path) -> int:
    with path.open("r", encoding="gb18030", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ls-bench-"))
    os.environ.update(LEARNSPACE_VAR_DIR=str(work), LEARNSPACE_DATABASE_URL=f"sqlite:///{work / 'bench.db'}")
    from flask_migrate import upgrade

    from learnspace import create_app
    from learnspace.accounts.roster import import_roster
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs

    app = create_app({"STORAGE_BACKEND": "memory"})
    with app.app_context():
        upgrade()
        for code, name in [("430000", "湖南省"), ("430100", "长沙市"), ("430102", "芙蓉区")]:
            orgs.create_region(code, name)
        school = orgs.create_school("4301020001", "芙蓉区第一小学", "小学", "430102")
        db.session.commit()

        path = work / "roster.csv"
        write_roster(path, args.rows, school.code)
        size_mb = path.stat().st_size / 2**20

        start = time.perf_counter()
        parsed = reference_parse(path)
        reference = time.perf_counter() - start

        tracemalloc.start()
        start = time.perf_counter()
        with path.open("rb") as stream:
            result = import_roster(stream, path.name, school)
        db.session.commit()
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        start = time.perf_counter()
        with path.open("rb") as stream:
            again = import_roster(stream, path.name, school)
        db.session.commit()
        reimport = time.perf_counter() - start

    print(f"roster rows:           {parsed:,} ({size_mb:.1f} MiB GBK CSV)")
    print(f"reference csv parse:   {reference:.2f} s")
    print(f"first import:          {elapsed:.2f} s  ({result.created / elapsed:,.0f} rows/s, "
          f"{elapsed / reference:.1f}x the bare parse)")
    print(f"re-import (no change): {reimport:.2f} s  (unchanged={again.unchanged:,}, {reimport / reference:.1f}x)")
    print(f"peak Python heap:      {peak / 2**20:.1f} MiB during import (file {size_mb:.1f} MiB)")


if __name__ == "__main__":
    main()
