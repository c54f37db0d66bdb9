"""``learnspace backup DIR`` and ``learnspace restore DIR``."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..progress import ProgressBar
from ..storage import StorageError
from . import operations
from .database import BackupError


class _LazyBar:
    """A progress bar drawn only once there is progress (a refused restore prints no empty bars)."""

    def __init__(self, desc: str, unit: str):
        self.desc, self.unit, self.bar = desc, unit, None

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            self.bar = ProgressBar(self.desc, self.unit)
        self.bar(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _objects_bar(desc: str) -> _LazyBar:
    return _LazyBar(desc, " 个对象")


@click.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(folder: Path):
    """Back up the database, the stored objects and (in FOLDER/keys, keep it apart) the keys into FOLDER."""
    made = not folder.exists()
    bar = _objects_bar("备份存储对象")
    try:
        operations.backup(folder, click.echo, progress=lambda done, _bytes: bar(done, None))
    except (BackupError, StorageError) as exc:
        if made:
            operations.remove_partial(folder)  # no half backup left looking like a whole one
        message = exc.message if isinstance(exc, BackupError) else f"存储无法读取：{exc}"
        raise click.ClickException(f"备份失败 / backup failed: {message}") from None
    finally:
        bar.close()


@click.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="overwrite a database and bucket that are not empty")
@click.option("--keys", "keys_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="the keys folder, when kept apart from FOLDER (default FOLDER/keys)")
@with_appcontext
def restore_command(folder: Path, force: bool, keys_dir: Path | None):
    """Restore a backup into this environment (empty database, bucket and var), migrate, rebuild search."""
    bar = _objects_bar("恢复存储对象")
    search_bar = _LazyBar("重建搜索索引", " 节课")
    try:
        operations.restore(folder, click.echo, force=force, keys_dir=keys_dir,
                           progress=lambda done, _bytes: bar(done, None), search_progress=search_bar)
    except (BackupError, StorageError) as exc:
        message = exc.message if isinstance(exc, BackupError) else f"存储无法写入：{exc}"
        raise click.ClickException(f"恢复失败 / restore failed: {message}") from None
    finally:
        bar.close()
        search_bar.close()


def register(group) -> None:
    """Attach the backup commands to the ``learnspace`` group."""
    group.add_command(backup_command)
    group.add_command(restore_command)
