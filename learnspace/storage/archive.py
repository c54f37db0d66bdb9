"""The bucket as files: every object with its headers written to a folder, and stored back (backup, restore).

A folder holds ``index.jsonl`` (one line per object: key, size, sha256, headers, file) and the objects'
bytes under ``data/``, named by key (keys are the app's own: ``lessons/12/...``; anything that could
leave the folder is refused). Objects are streamed in blocks, never read whole.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from .backends import BLOCK_SIZE, get_storage
from .errors import StorageError

INDEX = "index.jsonl"
DATA = "data"


@dataclass(frozen=True)
class ArchivedObject:
    key: str
    size: int
    sha256: str
    headers: dict
    file: str


def _relative_file(key: str) -> str:
    """Return the path of *key*'s bytes under the folder; refuse keys that could point outside it."""
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or any(p in ("..", ".", "") for p in parts) or "\\" in key:
        raise StorageError(f"object key {key!r} cannot be written as a file")
    return f"{DATA}/{key}"


def export_bucket(folder: Path, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Write every object of the bucket and its headers under *folder*; return (objects, bytes)."""
    storage = get_storage()
    folder.mkdir(parents=True, exist_ok=True)
    count = total = 0
    with open(folder / INDEX, "w", encoding="utf-8") as index:
        for info in storage.list_objects(""):
            relative = _relative_file(info.key)
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            with open(target, "wb") as out:
                for block in storage.iter_object(info.key):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
            entry = ArchivedObject(info.key, size, digest.hexdigest(), storage.object_headers(info.key), relative)
            index.write(json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True) + "\n")
            count, total = count + 1, total + size
            if progress is not None:
                progress(count, total)
    return count, total


def read_index(folder: Path) -> Iterator[ArchivedObject]:
    """Yield the objects listed in *folder*'s index."""
    with open(folder / INDEX, encoding="utf-8") as index:
        for line in index:
            if line.strip():
                entry = ArchivedObject(**json.loads(line))
                if entry.file != _relative_file(entry.key):
                    raise StorageError(f"index entry of {entry.key!r} names an unexpected file {entry.file!r}")
                yield entry


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK_SIZE):
            digest.update(block)
    return digest.hexdigest()


def verify_folder(folder: Path) -> list[str]:
    """Check every object's file against its size and SHA-256; return the problems found (none: [])."""
    problems = []
    for entry in read_index(folder):
        path = folder / entry.file
        if not path.is_file():
            problems.append(f"{entry.key}: file missing")
        elif path.stat().st_size != entry.size or file_sha256(path) != entry.sha256:
            problems.append(f"{entry.key}: size or SHA-256 differs from the index")
    return problems


def bucket_is_empty() -> bool:
    """Tell whether the bucket holds no object."""
    return next(iter(get_storage().list_objects("")), None) is None


def import_bucket(folder: Path, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Store every object of *folder* in the bucket with its headers; return (objects, bytes)."""
    storage = get_storage()
    storage.ensure_bucket()
    count = total = 0
    for entry in read_index(folder):
        with open(folder / entry.file, "rb") as data:
            storage.put_stream(entry.key, data, entry.size, entry.headers)
        count, total = count + 1, total + entry.size
        if progress is not None:
            progress(count, total)
    return count, total
