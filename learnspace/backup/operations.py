"""Backup and restore of a whole instance: the database, the bucket's objects, and the keys (apart).

A backup folder holds:
    manifest.json          what is inside: versions, row counts per table, object count, SHA-256 of every file
    database.dump          pg_dump custom format (PostgreSQL), or database.sqlite (SQLite)
    objects/index.jsonl    one line per object: key, size, SHA-256, headers (Content-Type, user metadata)
    objects/data/...       the objects' bytes, by key
    keys/                  the data key (decrypts ID-card numbers) and the secret key, with a README:
                           keep this folder apart from the rest (another medium, another person)
The manifest is written last: a folder without one is an unfinished backup and is refused by restore.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from flask import current_app

from ..extensions import db
from ..storage import archive
from . import database
from .database import BackupError

FORMAT = 1
MANIFEST = "manifest.json"
OBJECTS = "objects"
KEYS = "keys"
KEY_FILES = {"data.key": "LEARNSPACE_DATA_KEY", "secret.key": "LEARNSPACE_SECRET_KEY"}
KEYS_README = """# 密钥 / keys — 请与备份的其余部分分开保管

- data.key：解密身份证号的数据密钥（AES-GCM，以及查找身份证号用的 HMAC 密钥由它派生）。
  丢失它，数据库里加密的身份证号再也无法解密；泄露它，拿到数据库备份的人就能解密身份证号。
- secret.key：网站的会话签名密钥（Flask SECRET_KEY）。恢复后沿用它，已登录的人不必重新登录。

保管：把本文件夹存到与数据库备份不同的介质或位置（例如交给另一位管理员、放进保险柜里的 U 盘），
只有恢复时才放回备份文件夹（或用 `learnspace restore DIR --keys 其他路径` 指定）。
恢复时这两个文件写进新环境的 var 目录（权限 0600）；如果新环境用环境变量 LEARNSPACE_DATA_KEY /
LEARNSPACE_SECRET_KEY 提供密钥，请把它们设为这里的值。

Keep this folder apart from the database backup: data.key decrypts the ID-card numbers in it.
"""

Echo = Callable[[str], None]


def _sha256_text(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()


def _key_values() -> dict[str, str]:
    settings = current_app.config["LEARNSPACE"]
    return {"data.key": base64.urlsafe_b64encode(settings.data_key).decode(), "secret.key": settings.secret_key}


def _version() -> str:
    try:
        return metadata.version("learnspace")
    except metadata.PackageNotFoundError:
        return "unknown"


def backup(folder: Path, echo: Echo, progress=None) -> dict:
    """Write a complete backup into *folder* (new or empty); return the manifest."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"备份目录 {folder} 不是空的：请指定一个新目录。 / backup folder is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)

    dump_name = "database.sqlite" if database.dialect() == "sqlite" else "database.dump"
    echo(f"[1/3] 数据库 → {dump_name} …")
    facts = database.dump(folder / dump_name)
    dump_size = (folder / dump_name).stat().st_size
    echo(f"      完成：{len(facts['tables'])} 张表，{sum(facts['tables'].values()):,} 行，{dump_size:,} 字节")

    echo(f"[2/3] 存储对象 → {OBJECTS}/ …")
    count, size = archive.export_bucket(folder / OBJECTS, progress)
    echo(f"      完成：{count:,} 个对象，{size:,} 字节")

    echo(f"[3/3] 密钥 → {KEYS}/（请与其余部分分开保管，见 {KEYS}/README.md）")
    keys = folder / KEYS
    keys.mkdir(mode=0o700)
    key_sums = {}
    for name, value in _key_values().items():
        path = keys / name
        path.write_text(value + "\n")
        path.chmod(0o600)
        key_sums[name] = _sha256_text(value)
    (keys / "README.md").write_text(KEYS_README)

    manifest = {
        "format": FORMAT,
        "created_dt": started.isoformat(timespec="seconds"),
        "finished_dt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "learnspace_version": _version(),
        "alembic_revision": facts["alembic_revision"],
        "database": {"dialect": facts["dialect"], "file": dump_name, "size": dump_size, "tool": facts["tool"],
                     "server_version": facts.get("server_version"),
                     "sha256": archive.file_sha256(folder / dump_name)},
        "tables": facts["tables"],
        "objects": {"folder": OBJECTS, "count": count, "bytes": size,
                    "index_sha256": archive.file_sha256(folder / OBJECTS / archive.INDEX)},
        "keys": {"folder": KEYS, "sha256": key_sums},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    echo(f"备份完成：{folder}（清单 {MANIFEST}）")
    return manifest


def read_manifest(folder: Path) -> dict:
    """Read and check a backup's manifest."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} 中没有 {MANIFEST}：不是完整的备份（备份可能中途失败）。 / not a complete backup")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不认识的备份格式 {manifest.get('format')!r}（本版本读取格式 {FORMAT}）。")
    return manifest


def _read_keys(manifest: dict, keys_dir: Path) -> dict[str, str]:
    values = {}
    for name, expected in manifest["keys"]["sha256"].items():
        path = keys_dir / name
        if not path.is_file():
            raise BackupError(f"找不到密钥文件 {path}：请把单独保管的 keys 文件夹放回备份目录，或用 --keys 指定。"
                              f" / key file missing")
        value = path.read_text().strip()
        if _sha256_text(value) != expected:
            raise BackupError(f"密钥文件 {path} 与备份清单不符（不是这次备份的密钥）。 / key does not match the manifest")
        values[name] = value
    for name, value in values.items():
        env = os.environ.get(KEY_FILES[name])
        if env and env.strip() != value:
            raise BackupError(f"环境变量 {KEY_FILES[name]} 设置了另一把密钥：请把它设为 {keys_dir / name} 中的值，"
                              f"或取消设置。 / {KEY_FILES[name]} differs from the backup's key")
    return values


def verify(folder: Path, manifest: dict, keys_dir: Path) -> dict[str, str]:
    """Check every file of the backup against the manifest before anything is written; return the keys."""
    folder = Path(folder)
    dump = folder / manifest["database"]["file"]
    if not dump.is_file() or archive.file_sha256(dump) != manifest["database"]["sha256"]:
        raise BackupError(f"数据库文件 {dump} 缺失或已损坏（SHA-256 与清单不符）。 / database file missing or damaged")
    objects = folder / manifest["objects"]["folder"]
    if archive.file_sha256(objects / archive.INDEX) != manifest["objects"]["index_sha256"]:
        raise BackupError("对象清单 objects/index.jsonl 已损坏（SHA-256 与清单不符）。")
    problems = archive.verify_folder(objects)
    if problems:
        raise BackupError(f"{len(problems)} 个对象文件缺失或已损坏，例如：{problems[0]}")
    return _read_keys(manifest, keys_dir)


def check_target_empty(force: bool) -> None:
    """Refuse a target database or bucket that holds anything, unless *force*."""
    tables = database.table_names()
    bucket_empty = archive.bucket_is_empty()
    if force or (not tables and bucket_empty):
        return
    what = []
    if tables:
        what.append(f"数据库已有 {len(tables)} 张表")
    if not bucket_empty:
        what.append("存储桶中已有对象")
    raise BackupError("目标环境不是空的（" + "，".join(what) + "）。恢复只写入新建的空数据库和空存储桶；"
                      "确定要覆盖现有数据，请加 --force。 / the target is not empty: use a new database and bucket, "
                      "or --force to overwrite")


def _write_keys(values: dict[str, str], echo: Echo) -> None:
    settings = current_app.config["LEARNSPACE"]
    var = Path(settings.var_dir)
    var.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for name, value in values.items():
        path = var / name
        if path.exists() and path.read_text().strip() != value:
            path.rename(var / f"{name}.replaced-{stamp}")  # made at the target's first start: kept, not lost
        tmp = var / f".{name}.restoring"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        os.replace(tmp, path)
    # This process goes on with the restored keys too (the search rebuild, the checks after it).
    settings.data_key = base64.urlsafe_b64decode(values["data.key"].encode())
    settings.secret_key = values["secret.key"]
    current_app.secret_key = values["secret.key"]
    echo(f"      密钥已写入 {var}（data.key、secret.key，权限 0600）")


def restore(folder: Path, echo: Echo, *, force: bool = False, keys_dir: Path | None = None,
            progress=None, search_progress=None) -> dict:
    """Restore a backup into this (empty) environment, migrate, and rebuild search; return a summary."""
    from flask_migrate import upgrade

    from ..search.nodes import forget_all
    from ..search.writer import rebuild

    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["database"]["dialect"] != database.dialect():
        raise BackupError(f"备份的数据库是 {manifest['database']['dialect']}，目标是 {database.dialect()}："
                          "不能直接恢复到另一种数据库。 / the backup's database is of another kind")
    echo("[1/5] 校验备份文件（SHA-256）…")
    keys = verify(folder, manifest, Path(keys_dir) if keys_dir else folder / manifest["keys"]["folder"])
    check_target_empty(force)
    echo("[2/5] 密钥 → var 目录 …")
    _write_keys(keys, echo)
    echo(f"[3/5] 数据库 ← {manifest['database']['file']} …")
    database.load(folder / manifest["database"]["file"], force=force)
    with db.engine.connect() as conn:  # every row arrived (before migrations, which may add some)
        loaded = database.row_counts(conn)
    wrong = sorted(name for name, count in manifest["tables"].items() if loaded.get(name) != count)
    if wrong:
        raise BackupError(f"恢复后 {len(wrong)} 张表的行数与备份清单不符（例如 {wrong[0]}）：请检查数据库日志后重试。")
    upgrade()  # a backup of an older version is brought up to this one's schema; at head, nothing happens
    echo("      完成，数据库结构已是最新版本")
    echo(f"[4/5] 存储对象 ← {manifest['objects']['folder']}/ …")
    if force:
        from ..storage import get_storage

        storage = get_storage()
        storage.remove_many(storage.list_keys(""))
    count, size = archive.import_bucket(folder / manifest["objects"]["folder"], progress)
    echo(f"      完成：{count:,} 个对象，{size:,} 字节")
    echo("[5/5] 重建搜索索引 …")
    # The backed-up nodes' cursors describe replicas this environment does not have; kept, they would hold the
    # outbox back until the retention passes. This node's cursor is written by the rebuild.
    forget_all()
    db.session.commit()
    documents = rebuild(search_progress)
    echo(f"      完成：{documents:,} 节课")
    echo("恢复完成。请运行 `learnspace reconcile --dry-run` 核对数据库与存储。")
    return {"objects": count, "bytes": size, "documents": documents, "tables": len(manifest["tables"])}


def remove_partial(folder: Path) -> None:
    """Remove what an interrupted backup wrote into *folder* (the caller made it)."""
    shutil.rmtree(folder, ignore_errors=True)
