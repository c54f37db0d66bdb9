"""``learnspace demo``: a demo province with schools, people, lessons and everything built on them.

One module per part, each seeding through the domains' public operations (and their
models where no operation fits, e.g. to backdate rows), each adding nothing on a rerun:

- ``people``: regions, schools, rostered teachers and pupils, the demo accounts;
- ``editions``: the shipped catalogue and each demo school's editions;
- ``lessons``: published lessons with a short recording;
- ``spaces``: teacher profiles, announcements, follows and visits;
- ``study``: guardian consent, watch history, favourites and notes;
- ``moderation``: a short blocked-word list;
- ``comments``: comments, questions, teacher replies and likes;
- ``idp``: the people the demo identity provider offers.

Nothing imports this package but the CLI.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..audit import operations as audit
from ..extensions import db
from ..search.writer import catch_up
from . import comments, editions, lessons, moderation, people, spaces, study
from .idp import demo_idp_users


def load_demo(rng: random.Random | None = None) -> dict[str, str]:
    """Create the demo region once and (re)set the demo accounts' passwords; returns login → password."""
    rng = rng or random.Random(2019)
    people.seed(rng)
    editions.seed()
    passwords = people.reset_accounts()
    _seed_activity(rng)
    audit.record("demo.load", detail="demo data ready")
    return passwords


def _seed_activity(rng: random.Random) -> None:
    """Lessons first (the other seeds use them), then profiles and follows, learning records, words, comments."""
    lessons.seed(rng)
    spaces.seed(rng)
    study.seed(rng)
    moderation.seed()
    comments.seed(rng)


@click.command("demo")
@click.option("--idp-users", "idp_users", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the demo identity provider's users (JSON) to this file; scripts/run --demo uses it.")
@with_appcontext
def demo_command(idp_users: Path | None):
    """Load the demo province and print the demo accounts."""
    audit.set_context(None, "cli")
    passwords = load_demo()
    db.session.commit()
    # The demo's lessons are searchable before scripts/run starts serving, not when a worker gets to them.
    applied, left = catch_up()
    click.echo(f"search: {applied} changes applied" + (f", {left} left for `learnspace worker`" if left else ""))
    click.echo("演示账号 / demo accounts (passwords are new on every run):")
    for login, password in passwords.items():
        click.echo(f"  {login:16s} {password}   {people.ROLES.get(login, '')}")
    if idp_users is not None:
        idp_users.write_text(json.dumps(demo_idp_users(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
