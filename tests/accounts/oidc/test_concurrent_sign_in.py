"""Two sign-ins of the same person at the same moment: one Identity, one Space.

Two browsers (test clients) each start a sign-in and log in at the provider;
then two threads call the two callbacks at once. To make the race certain
rather than likely, both requests also wait for each other inside the app,
right after looking up the (not yet existing) identity and before linking.
On PostgreSQL both really pass that point together, so both try to insert;
on SQLite the first request's BEGIN IMMEDIATE holds the write lock, the
second waits for it, and the rendezvous times out by design.
"""
from __future__ import annotations

import threading

from sqlalchemy import select

from learnspace.accounts import identities
from learnspace.accounts.models import Identity, UserSession
from learnspace.extensions import db
from learnspace.spaces.models import Space
from tests.accounts.oidc.checks import count, is_signed_in
from tests.fixtures.oidc import authorize_at_provider, start_sign_in
from tests.fixtures.people import audit_log

TEACHER = dict(name="李老师", teacher_number="T4301020001001", school_code="4301020001", role="teacher")


def test_simultaneous_first_sign_ins_make_one_identity_and_one_space(app, world, oidc_world, monkeypatch):
    oidc_world.set_user("t-li", **TEACHER)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"

    inside = threading.Barrier(2, timeout=5 if postgres else 1)
    met = []
    find_rostered = identities._find_rostered

    def rendezvous(*args, **kwargs):
        person = find_rostered(*args, **kwargs)
        try:
            inside.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)
        return person

    monkeypatch.setattr(identities, "_find_rostered", rendezvous)

    browsers = [app.test_client(), app.test_client()]
    callbacks = []
    for browser in browsers:
        start = start_sign_in(browser, "hunan")
        assert start.status_code == 302
        callbacks.append(authorize_at_provider(start.headers["Location"], "t-li"))

    at_the_door = threading.Barrier(2, timeout=10)
    responses, errors = [None, None], []

    def call(i):
        try:
            at_the_door.wait()
            responses[i] = browsers[i].get(callbacks[i])
        except Exception as exc:  # reported below; an exception in a thread would be lost
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert [r.status_code for r in responses] == [302, 302], [r.get_data(as_text=True)[:500] for r in responses]
    assert all(r.headers["Location"].endswith("/space") for r in responses)
    if postgres:
        assert met == [True, True], "both requests should have passed the identity lookup together"

    teacher_id = world.people["teacher_a1"]
    with app.app_context():
        assert [(i.user_id, i.provider, i.subject) for i in db.session.scalars(select(Identity))] == [
            (teacher_id, "hunan", "t-li")]
        assert list(db.session.scalars(select(Space.owner_id))) == [teacher_id]
    assert count(app, UserSession, UserSession.user_id == teacher_id) == 2
    assert all(is_signed_in(browser) for browser in browsers)
    actions = [e["action"] for e in audit_log(app)]
    assert actions.count("identity.link") == 1
    assert actions.count("space.activate") == 1
    assert actions.count("auth.oidc") == 2
