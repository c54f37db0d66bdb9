"""``learnspace reset-code``: a password-reset code from the command line (e.g. for the last platform admin)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from ..errors import LearnSpaceError
from ..extensions import db
from ..templating import local_date
from . import codes
from .cli import acting_admin
from .models import User
from .scope import require_person


def register(group: click.Group) -> None:
    @group.command("reset-code")
    @click.argument("account")
    @click.option("--admin", "admin_login", help="act as this admin: their scope applies, their name is audited")
    @click.option("--replace", is_flag=True, help="void the person's unused reset code and make a new one")
    @with_appcontext
    def reset_code_command(account, admin_login, replace):
        """Issue a one-time reset code for ACCOUNT (login name, 学籍号 or 教师编号) and print it once."""
        admin = acting_admin(admin_login)
        person = db.session.scalar(select(User).where(or_(
            User.login_name == account, User.student_number == account, User.teacher_number == account)))
        if person is None:
            raise click.ClickException(f"找不到账号“{account}”")
        try:
            if admin is not None:
                require_person(admin, person)
            live = codes.live_codes([person], "reset")
            if live and not replace:
                raise click.ClickException(f"{person.real_name} 已有未使用的重置码；如确需作废并重新生成，请加 --replace")
            batch = codes.issue_batch("reset", [person], school=person.school, person=person, replace=bool(live))
            [(_, code)] = codes.batch_slips(batch)
            db.session.commit()
        except LearnSpaceError as exc:
            db.session.commit()  # keep the audited refusal
            raise click.ClickException(exc.message) from None
        click.echo(f"{person.real_name} 的重置码：{code}（{local_date(batch.expires_dt)}前有效，仅可使用一次）")
        click.echo("请在“忘记密码？”页面（/reset）输入账号、姓名和重置码，设置新密码。")
