"""Commands for people: administrators and roster import."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..audit import operations as audit
from ..errors import LearnSpaceError
from ..extensions import db
from ..orgs.operations import get_school_by_code
from ..progress import ProgressBar
from ..transactions import command_transaction, rollback_keeping
from . import admins, operations
from .models import ROLES, User
from .roster import RosterRejected, import_roster
from .scope import require_school


def acting_admin(login_name: str | None) -> User | None:
    """Resolve --admin so the command runs with that admin's scope and name in the audit log."""
    if not login_name:
        audit.set_context(None, "cli")
        return None
    admin = db.session.scalar(select(User).where(User.login_name == login_name))
    if admin is None or not admin.is_admin:
        raise click.ClickException(f"找不到管理员账号“{login_name}”")
    audit.set_context(admin.id, "cli")
    return admin


def register(group: click.Group) -> None:
    @group.command("create-admin")
    @click.argument("login_name")
    @click.option("--name", "real_name", required=True, help="real name shown in the UI")
    @click.option("--role", type=click.Choice([r for r in ROLES if r.endswith("admin")]), default="platform_admin")
    @click.option("--school", "school_code", help="school code, for a school_admin")
    @click.option("--region", "region_code", help="6-digit region code, for a region_admin")
    @click.option("--admin", "admin_login", help="act as this admin: the account must lie in their scope")
    @click.password_option(help="at least 8 characters, hard to guess, without the login name (see the README)")
    @with_appcontext
    def create_admin(login_name, real_name, role, school_code, region_code, admin_login, password):
        """Create an administrator who signs in with a local password (same checks as the web page)."""
        with command_transaction():
            by = acting_admin(admin_login)
            admins.create_admin_account(by, login_name, real_name, role, region_code=region_code,
                                        school_code=school_code, password=password)
        click.echo(f"created {role} {login_name}")

    @group.command("unlock")
    @click.argument("login_name")
    @click.option("--admin", "admin_login", help="act as this admin: their scope applies and the audit log names them")
    @with_appcontext
    def unlock(login_name, admin_login):
        """Clear a person's failed sign-ins (解除登录限制) so they can sign in at once."""
        with command_transaction():
            admin = acting_admin(admin_login)
            person = db.session.scalar(select(User).where(User.login_name == login_name))
            if person is None:
                raise LearnSpaceError(f"找不到账号“{login_name}”")
            removed = operations.clear_lockout(person, by=admin)
        click.echo(f"已解除 {login_name} 的登录限制（清除 {removed} 条失败记录）")

    @group.command("import-roster")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--school", "school_code", required=True, help="10-digit school code to import into")
    @click.option("--admin", "admin_login", help="act as this admin: their scope applies and the audit log names them")
    @with_appcontext
    def import_roster_command(file, school_code, admin_login):
        """Import a roster (CSV in UTF-8/GBK, or XLSX) into one school, all or nothing."""
        admin = acting_admin(admin_login)
        progress = ProgressBar("导入名册", " 行")

        try:
            school = get_school_by_code(school_code)
            if admin is not None:
                require_school(admin, school)
            with file.open("rb") as stream:
                result = import_roster(stream, file.name, school, progress=progress)
            db.session.commit()
        except LearnSpaceError as exc:
            progress.close()
            rollback_keeping()
            audit.record("roster.import", result="failure", target=f"school:{school_code[:20]}",
                         detail=f"{len(exc.details)} bad rows" if exc.details else exc.message[:200])
            db.session.commit()
            lines = [exc.message]
            if isinstance(exc, RosterRejected):
                lines += [f"  第 {d['row']} 行 [{d['column']}] {d['reason']}" for d in exc.details]
            raise click.ClickException("\n".join(lines)) from None
        progress.close()
        click.echo(result.summary())
        for warning in result.warnings:
            click.echo(f"  提醒：第 {warning['row']} 行 [{warning['column']}] {warning['reason']}")
