"""``learnspace storage provision``: make the app's own MinIO user with the admin credentials.

It needs no app (and so no app credentials yet): it reads the MinIO address,
the bucket and the two file locations from the same settings the app uses.
"""
from __future__ import annotations

from pathlib import Path

import click

from ..config import ConfigError, load_config, minio_admin_credentials_file, read_env_file
from .backends import StorageError
from .provisioning import NotMinio, provision, read_app_credentials, write_app_credentials


@click.group("storage", help="MinIO storage 对象存储.")
def storage_group():
    """Commands about the MinIO storage."""


@storage_group.command("provision")
@click.option("--admin-credentials", "admin_file", type=click.Path(dir_okay=False, path_type=Path),
              help="file with MINIO_ROOT_USER/MINIO_ROOT_PASSWORD "
                   "(default: $LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE, else $LEARNSPACE_VAR_DIR/minio.env)")
@click.option("--rotate", is_flag=True, help="give the app user a new secret (restart the app afterwards)")
def provision_command(admin_file: Path | None, rotate: bool):
    """Create or update the bucket and the app's MinIO user limited to it; write its keys for the app."""
    try:
        settings = load_config()["LEARNSPACE"]
    except ConfigError as exc:
        raise click.ClickException(f"配置错误 / configuration error: {exc}") from None
    admin_file = admin_file or minio_admin_credentials_file(settings.var_dir)
    app_file = settings.minio_credentials_file
    admin = read_env_file(admin_file)
    if not (admin.get("MINIO_ROOT_USER") and admin.get("MINIO_ROOT_PASSWORD")):
        raise click.ClickException(f"{admin_file} must define MINIO_ROOT_USER and MINIO_ROOT_PASSWORD "
                                   "(MinIO's root credentials; scripts/run creates them)")
    # Never overwrite the root credentials with the app's: MinIO would not start with them again.
    if app_file.resolve() == admin_file.resolve() or "MINIO_ROOT_USER" in read_env_file(app_file):
        raise click.ClickException(f"LEARNSPACE_MINIO_CREDENTIALS_FILE ({app_file}) holds the root credentials; "
                                   "point it at another file for the app's user (default var/minio-app.env)")
    try:
        done = provision(settings.minio_endpoint, admin["MINIO_ROOT_USER"], admin["MINIO_ROOT_PASSWORD"],
                         settings.minio_bucket, secure=settings.minio_secure,
                         current=read_app_credentials(app_file), rotate=rotate)
    except NotMinio as exc:  # another S3 server: its own tools make the app's user
        raise click.ClickException(str(exc)) from None
    except StorageError as exc:
        raise click.ClickException(f"MinIO 无法完成授权设置：{exc}") from None
    if done.secret_changed or read_app_credentials(app_file) != done.credentials:
        write_app_credentials(app_file, done.credentials, settings.minio_bucket)
    click.echo(f"storage: bucket {settings.minio_bucket} {'created' if done.bucket_created else 'ready'}; "
               f"app user {done.credentials.access_key} with policy {done.policy} "
               f"({'new secret' if done.secret_changed else 'secret kept'}) in {app_file}")
