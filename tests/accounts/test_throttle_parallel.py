"""Parallel guesses at one account on PostgreSQL: one is checked at a time, the others are told to retry.

(PostgreSQL only, so not in SQLITE_SET: SQLite runs one write transaction at a time anyway.)
"""
from __future__ import annotations

from sqlalchemy import text

from tests.fixtures.helpers import login
from tests.fixtures.people import client_at
from tests.fixtures.throttle import throttle_rows, wait_seconds
from tests.fixtures.world import PASSWORD


def test_a_sign_in_running_for_the_account_makes_a_parallel_one_retry_in_a_second(app, world):
    """While another transaction holds the account's lock (a sign-in being checked), a second attempt is
    answered 429 "请 1 秒后再试" at once and counts nothing; afterwards it signs in."""
    from learnspace.accounts import throttle
    from learnspace.extensions import db

    name = world.admins["county_a"]
    with app.app_context():
        lock_id, engine = int(throttle._account(name)[:15], 16), db.engine
    # (the requests below must not run inside this test's app context, which they would share)
    with engine.connect() as other, other.begin():
        assert other.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_id}).scalar()
        refused = login(client_at(app, "192.0.2.30"), name, PASSWORD)
        assert wait_seconds(refused) == 1
        assert throttle_rows(app) == 0
        # another account is not held up
        assert login(client_at(app, "192.0.2.30"), world.admins["county_b"], PASSWORD).status_code == 302
    assert login(client_at(app, "192.0.2.30"), name, PASSWORD).status_code == 302


def test_guesses_sent_at_once_from_many_addresses_do_not_pass_the_cap_together(app, world):
    """With 9 of the 10 allowed failures used, 8 guesses fired at the same moment from 8 addresses: at most one
    is checked, so the account never passes 10 checked guesses in the window."""
    import threading

    from tests.fixtures.helpers import csrf_token

    name = world.admins["city_a"]
    for i in range(9):
        assert login(client_at(app, f"198.51.100.{i + 1}"), name, "Wr0ng-password").status_code == 400
    clients = [client_at(app, f"203.0.113.{i + 1}") for i in range(8)]
    tokens = [csrf_token(c.get("/login").get_data(as_text=True)) for c in clients]
    start, statuses = threading.Barrier(len(clients)), []

    def guess(client, token):
        start.wait()
        statuses.append(client.post("/login", data={"login_name": name, "password": "Wr0ng-password",
                                                    "csrf_token": token}).status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == 8 and set(statuses) <= {400, 429}
    assert statuses.count(400) <= 1
    assert throttle_rows(app) == (9 + statuses.count(400)) * 3
