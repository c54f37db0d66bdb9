"""Sign-in throttling that protects accounts without locking out a school: driven through the real login form.

Time is moved by ageing the failure rows (tests.fixtures.throttle), never by sleeping.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from tests.fixtures.helpers import csrf_token, login
from tests.fixtures.people import audit_log, client_at, give_login
from tests.fixtures.throttle import age_throttle_rows, throttle_rows, wait_seconds
from tests.fixtures.world import PASSWORD

SCHOOL_IP = "203.0.113.10"
WRONG = "Wr0ng-password"


def _pupils(app, world, count: int) -> list[str]:
    """Rostered pupils of school a1 with a local login (as after activation); returns their login names."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    with app.app_context():
        school = db.session.scalar(select(School).where(School.code == world.schools["a1"]))
        names = []
        for i in range(count):
            number = f"G4301022015020{i:05d}"
            pupil = User(role="student", real_name=f"学生{i}", school_id=school.id, student_number=number,
                         login_name=number, grade="三年级", class_name="2班")
            accounts.set_password(pupil, PASSWORD)
            db.session.add(pupil)
            names.append(number)
        db.session.commit()
    return names


def test_thirty_pupils_mistyping_behind_one_ip_do_not_stop_the_teacher(app, world):
    """A class behind one NAT address: 30 pupils each mistype once, then the teacher signs in at once."""
    pupils = _pupils(app, world, 30)
    teacher = give_login(app, world.people["teacher_a1"])
    for name in pupils:
        assert login(client_at(app, SCHOOL_IP), name, WRONG).status_code == 400
    assert login(client_at(app, SCHOOL_IP), teacher, PASSWORD).status_code == 302
    # and each pupil, typing it right the second time, gets in too
    assert all(login(client_at(app, SCHOOL_IP), name, PASSWORD).status_code == 302 for name in pupils)


def test_a_school_over_the_ip_ceiling_is_slowed_for_seconds_and_trusted_networks_are_not(make_app, world):
    """Over the per-IP ceiling the teacher waits a few seconds, not 15 minutes; a configured school network
    (LEARNSPACE_TRUSTED_NETWORKS) has the higher ceiling and is not slowed at all."""
    plain = make_app(env={"LEARNSPACE_LOGIN_IP_LIMIT": "20"})
    trusted = make_app(env={"LEARNSPACE_LOGIN_IP_LIMIT": "20", "LEARNSPACE_TRUSTED_NETWORKS": "203.0.113.0/24"})
    teacher = give_login(plain, world.people["teacher_a1"])
    for i in range(20):
        assert login(client_at(plain, SCHOOL_IP), f"G4301022015030{i:05d}", WRONG).status_code == 400
    slowed = login(client_at(plain, SCHOOL_IP), teacher, PASSWORD)
    assert wait_seconds(slowed) == 2
    assert login(client_at(trusted, SCHOOL_IP), teacher, PASSWORD).status_code == 302
    age_throttle_rows(plain, wait_seconds(slowed))
    assert login(client_at(plain, SCHOOL_IP), teacher, PASSWORD).status_code == 302
    # A flood of 500 more failures from the school's address still means seconds, never a lockout.
    from learnspace.accounts import throttle
    from learnspace.extensions import db

    with plain.app_context():
        for i in range(500):
            throttle.login_failed(f"G4301022015040{i:05d}", SCHOOL_IP)
        db.session.commit()
    assert 0 < wait_seconds(login(client_at(plain, SCHOOL_IP), teacher, PASSWORD)) <= throttle.MAX_IP_SPACING


@pytest.mark.parametrize("spread", ["many IPs", "one IP"])
def test_brute_force_on_one_account_gets_at_most_ten_guesses_in_fifteen_minutes(app, world, spread):
    """An attacker who retries as soon as allowed gets ≤ 10 checked guesses in any 15 minutes, whatever the IPs;
    the account is slowed, not locked: guessing goes on (slowly) and the owner can still get in later."""
    # The rows age by the simulated steps and by the real time the test takes (minutes on a loaded machine):
    # both count on the clock the guesses are judged by.
    aged, started, checked, attempt = 0, time.monotonic(), [], 0

    def clock() -> float:
        return aged + time.monotonic() - started

    while clock() < 60 * 60:  # one simulated hour
        attempt += 1
        ip = f"198.51.{attempt // 250}.{attempt % 250 + 1}" if spread == "many IPs" else "198.51.100.1"
        response = login(client_at(app, ip), world.admins["county_a"], WRONG)
        if response.status_code == 429:
            step = wait_seconds(response)
            assert step > 0
            age_throttle_rows(app, step)
            aged += step
        else:
            assert response.status_code == 400
            checked.append(clock())
    assert len(checked) >= 10  # slowed, not locked for good
    assert max(sum(start <= t < start + 15 * 60 for t in checked) for start in checked) <= 10
    assert sum(t < 15 * 60 for t in checked) <= 10


def test_a_pupil_whose_number_a_classmate_guessed_five_times_gets_in_after_half_a_minute(app, world):
    """Five wrong guesses of a pupil's number from the class's address delay the pupil ≤ 30 s, no more."""
    pupil = give_login(app, world.people["student_a1"])
    for _ in range(5):
        assert login(client_at(app, SCHOOL_IP), pupil, WRONG).status_code == 400
    waiting = login(client_at(app, SCHOOL_IP), pupil, PASSWORD)
    assert 0 < wait_seconds(waiting) <= 30
    # From home (another address) she is not delayed at all.
    assert login(client_at(app, "192.0.2.77"), pupil, PASSWORD).status_code == 302
    age_throttle_rows(app, 30)
    assert login(client_at(app, SCHOOL_IP), pupil, PASSWORD).status_code == 302


def _admin_client(app, name):
    from tests.fixtures.people import signed_in

    return signed_in(app, name)


def test_clear_lockout_from_the_person_page(app, world):
    """The school admin sees 解除登录限制 only while the pupil has failures; the POST clears them at once, audited."""
    pupil = give_login(app, world.people["student_a1"])
    page_url = f"/admin/people/{world.people['student_a1']}"
    admin = _admin_client(app, world.admins["school_a1"])
    assert "解除登录限制" not in admin.get(page_url).get_data(as_text=True)
    for i in range(12):
        login(client_at(app, f"198.51.100.{i + 1}"), pupil, WRONG)
    assert login(client_at(app, SCHOOL_IP), pupil, PASSWORD).status_code == 429
    page = admin.get(page_url).get_data(as_text=True)
    assert "解除登录限制" in page and "最近有 10 次输错密码" in page  # only checked guesses count
    # Without the CSRF token nothing happens.
    admin.post(f"{page_url}/unlock")
    assert login(client_at(app, SCHOOL_IP), pupil, PASSWORD).status_code == 429
    response = admin.post(f"{page_url}/unlock", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "已解除登录限制" in body and "解除登录限制</button>" not in body
    assert login(client_at(app, SCHOOL_IP), pupil, PASSWORD).status_code == 302
    unlocks = [e for e in audit_log(app) if e["action"] == "user.unlock"]
    assert len(unlocks) == 1 and unlocks[0]["target"] == f"user:{world.people['student_a1']}"


def test_clear_lockout_is_scope_checked(app, world):
    """An admin of another school can neither see nor clear the pupil's failures; the operation refuses too."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.errors import PermissionDenied
    from learnspace.extensions import db

    pupil = give_login(app, world.people["student_a1"])
    for _ in range(5):
        assert login(client_at(app, SCHOOL_IP), pupil, WRONG).status_code == 400
    rows = throttle_rows(app)
    outsider = _admin_client(app, world.admins["school_b1"])
    page = outsider.get("/admin/").get_data(as_text=True)
    refused = outsider.post(f"/admin/people/{world.people['student_a1']}/unlock", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 403
    assert throttle_rows(app) == rows
    with app.app_context():
        person = db.session.get(User, world.people["student_a1"])
        other_admin = db.session.scalar(select(User).where(User.login_name == world.admins["school_b1"]))
        with pytest.raises(PermissionDenied):
            accounts.clear_lockout(person, by=other_admin)
        db.session.rollback()
        county = db.session.scalar(select(User).where(User.login_name == world.admins["county_a"]))
        assert accounts.clear_lockout(person, by=county) == 5 * 2  # per account+IP and per account rows
        db.session.commit()
        assert accounts.lockout_failures(person) == 0


@pytest.mark.parametrize("value", ["10.0.0.0/33", "school-net", "10.1.2.3/24"])
def test_bad_trusted_network_is_a_clear_startup_error(monkeypatch, value):
    """A value of LEARNSPACE_TRUSTED_NETWORKS that is not a CIDR network stops the start with a message."""
    from learnspace.config import ConfigError, load_config

    monkeypatch.setenv("LEARNSPACE_TRUSTED_NETWORKS", f"203.0.113.0/24, {value}")
    with pytest.raises(ConfigError, match="LEARNSPACE_TRUSTED_NETWORKS") as info:
        load_config()
    assert value in str(info.value)


def test_failures_older_than_a_day_are_pruned_by_the_worker(app, world):
    """The periodic task every `learnspace worker` runs deletes failure rows past the 24-hour memory."""
    from learnspace.jobs.registry import PERIODIC

    login(client_at(app, SCHOOL_IP), "old-guess", WRONG)
    age_throttle_rows(app, 25 * 3600)
    login(client_at(app, SCHOOL_IP), "new-guess", WRONG)
    assert throttle_rows(app) == 6
    with app.app_context():
        PERIODIC["accounts.throttle_prune"].run()
    assert throttle_rows(app) == 3


def test_cli_unlock_clears_within_the_admins_scope(app, world):
    """`learnspace unlock LOGIN [--admin ADMIN]`: the same operation, scope-checked and audited."""
    from learnspace.cli import main

    pupil = give_login(app, world.people["student_a1"])
    for _ in range(5):
        login(client_at(app, SCHOOL_IP), pupil, WRONG)
    runner = app.test_cli_runner()
    refused = runner.invoke(main, ["unlock", pupil, "--admin", world.admins["school_b1"]])
    assert refused.exit_code != 0 and "无权" in refused.output
    assert throttle_rows(app) == 15
    unknown = runner.invoke(main, ["unlock", "nobody-such"])
    assert unknown.exit_code != 0 and "找不到账号" in unknown.output
    done = runner.invoke(main, ["unlock", pupil, "--admin", world.admins["school_a1"]])
    assert done.exit_code == 0 and "已解除" in done.output, done.output
    assert throttle_rows(app) == 5  # the address's own count stays
    assert login(client_at(app, SCHOOL_IP), pupil, PASSWORD).status_code == 302
    assert [e["result"] for e in audit_log(app) if e["action"] == "user.unlock"] == ["success"]


def test_plain_counters_for_other_flows(app, world):
    """record_failure / failures / clear: a plain per-key counter other flows may use, stored as hashes."""
    from datetime import timedelta

    from learnspace.accounts import throttle
    from learnspace.extensions import db

    with app.test_request_context():
        for _ in range(3):
            throttle.record_failure("reset-ip", "192.0.2.99")
        db.session.commit()
        assert throttle.failures("reset-ip", "192.0.2.99", timedelta(minutes=15)) == 3
        assert throttle.failures("reset-ip", "192.0.2.98", timedelta(minutes=15)) == 0
        throttle.clear("reset-ip", "192.0.2.99")
        db.session.commit()
        assert throttle.failures("reset-ip", "192.0.2.99", timedelta(minutes=15)) == 0
