"""Who may ask, the guardian's way through the school admin, the cooling-off, and the end of an export."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.fixtures.helpers import login, post_form
from tests.fixtures.world import PASSWORD
from tests.privacy.scan import leftovers
from tests.study.people import add_person, birthday_years_ago


def _login_name(app, user_id):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.get(User, user_id).login_name


def test_a_pupil_under_14_is_sent_to_the_school_admin_who_acts_for_the_guardian(app, world, client):
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.jobs import run_due
    from learnspace.privacy.models import PrivacyRequest

    with app.app_context():
        kid = add_person(world.schools["a1"], name="何小朵", born=birthday_years_ago(9), consent=True)
        from learnspace.accounts import idcard
        person = db.session.get(User, kid)
        kid_name, kid_number, kid_id_card = (person.real_name, person.student_number,
                                             idcard.decrypt(person.id_card_encrypted))
    login(client, _login_name(app, kid), PASSWORD)
    page = client.get("/me/data").get_data(as_text=True)
    assert "请由监护人联系学校管理员办理" in page and "申请下载数据" not in page
    refused = post_form(client, "/me/data", "/me/data/export", {}, follow_redirects=True)
    assert "未满 14 周岁的学生" in refused.get_data(as_text=True)

    # An admin of another county's school may not act for her.
    other = app.test_client()
    login(other, world.admins["school_b1"], PASSWORD)
    assert other.get(f"/admin/people/{kid}/data").status_code == 403

    admin = app.test_client()
    login(admin, world.admins["school_a1"], PASSWORD)
    person_page = admin.get(f"/admin/people/{kid}").get_data(as_text=True)
    assert f"/admin/people/{kid}/data" in person_page
    page_url = f"/admin/people/{kid}/data"
    response = post_form(admin, page_url, f"{page_url}/export", {}, follow_redirects=True)
    assert "已开始准备数据包" in response.get_data(as_text=True)
    with app.app_context():
        run_due()
        req = db.session.scalar(select(PrivacyRequest).where(PrivacyRequest.subject_id == kid))
        assert (req.state, req.via) == ("done", "admin")
    link = admin.get(f"{page_url}/{req.id}/download")
    assert link.status_code == 302 and "X-Amz-Signature" in link.location
    assert other.get(f"{page_url}/{req.id}/download").status_code == 403

    # Deletion for the guardian: the admin types the pupil's name; a wrong one is refused.
    wrong = post_form(admin, page_url, f"{page_url}/delete", {"confirm_name": "何小"}, follow_redirects=True)
    assert "请输入此人的姓名“何小朵”以确认注销" in wrong.get_data(as_text=True)
    queued = post_form(admin, page_url, f"{page_url}/delete", {"confirm_name": "何小朵"}, follow_redirects=True)
    assert "注销申请已提交" in queued.get_data(as_text=True)
    with app.app_context():
        deletion = db.session.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "delete"))
        assert deletion.run_after_dt - deletion.created_dt >= timedelta(hours=71)
        assert run_due() == 0  # the cooling-off: nothing runs yet
        assert db.session.get(User, kid) is not None
        # The wait is over: the job runs and the pupil is gone, with the zip made for the guardian.
        from learnspace.jobs.models import Job
        db.session.execute(update(Job).where(Job.kind == "privacy.delete").values(run_after_dt=deletion.created_dt))
        db.session.execute(update(PrivacyRequest).where(PrivacyRequest.id == deletion.id)
                           .values(run_after_dt=deletion.created_dt))
        db.session.commit()
        assert run_due() == 1
        db.session.expire_all()
        assert db.session.get(User, kid) is None
        assert leftovers(kid, [kid_name, kid_number, kid_id_card]) == []
        assert db.session.get(PrivacyRequest, deletion.id).state == "done"
        assert db.session.get(PrivacyRequest, req.id) is None
        from learnspace.storage import get_storage
        assert get_storage().list_keys(f"privacy/exports/{req.id}/") == []


def test_a_deletion_can_be_withdrawn_during_the_cooling_off(app, world, client):
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.jobs import run_due
    from learnspace.jobs.models import Job
    from learnspace.privacy.models import PrivacyRequest

    with app.app_context():
        teacher = add_person(world.schools["a1"], "teacher", name="周可退")
    login(client, _login_name(app, teacher), PASSWORD)
    post_form(client, "/me/data", "/me/data/delete", {"password": PASSWORD})
    page = client.get("/me/data").get_data(as_text=True)
    assert "撤销注销" in page and "申请注销</button>" not in page
    with app.app_context():
        req = db.session.scalar(select(PrivacyRequest))
    withdrawn = post_form(client, "/me/data", f"/me/data/{req.id}/cancel", {}, follow_redirects=True)
    assert "注销申请已撤销" in withdrawn.get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(Job).values(run_after_dt=req.created_dt))
        db.session.commit()
        run_due()
        assert db.session.get(User, teacher) is not None
        assert db.session.get(PrivacyRequest, req.id).state == "cancelled"


def test_admins_cannot_delete_themselves_here_and_an_old_zip_is_removed(app, world, client):
    from learnspace.extensions import db
    from learnspace.jobs import run_due
    from learnspace.jobs.models import Job
    from learnspace.privacy.models import PrivacyRequest
    from learnspace.storage import get_storage

    login(client, world.admins["school_a1"], PASSWORD)
    refused = post_form(client, "/me/data", "/me/data/delete", {"password": PASSWORD}, follow_redirects=True)
    assert "管理员账号不能在这里注销" in refused.get_data(as_text=True)
    post_form(client, "/me/data", "/me/data/export", {})
    with app.app_context():
        run_due()
        req = db.session.scalar(select(PrivacyRequest))
        key = req.object_key
        assert get_storage().exists(key)
        # seven days later the worker removes it, and the link is refused
        db.session.execute(update(Job).where(Job.kind == "privacy.expire").values(run_after_dt=req.created_dt))
        db.session.commit()
        assert run_due() == 1
        assert not get_storage().exists(key)
        assert db.session.get(PrivacyRequest, req.id).state == "expired"
    gone = client.get(f"/me/data/{req.id}/download", follow_redirects=True)
    assert "数据包尚未准备好或已过期" in gone.get_data(as_text=True)


def test_a_request_whose_job_gave_up_says_so_and_can_be_made_again(app, world, client):
    from learnspace.extensions import db
    from learnspace.jobs import run_due
    from learnspace.jobs.models import Job
    from learnspace.privacy.models import PrivacyRequest

    with app.app_context():
        teacher = add_person(world.schools["a1"], "teacher", name="陈重试")
    login(client, _login_name(app, teacher), PASSWORD)
    post_form(client, "/me/data", "/me/data/export", {})
    again = post_form(client, "/me/data", "/me/data/export", {}, follow_redirects=True)
    assert "数据包正在准备中" in again.get_data(as_text=True)  # one at a time
    with app.app_context():  # the worker gave up on it (say MinIO was down for every try)
        db.session.execute(update(Job).values(state="failed", last_error="StorageError"))
        db.session.commit()
    page = client.get("/me/data").get_data(as_text=True)
    assert "失败，请重新申请或联系管理员" in page
    retried = post_form(client, "/me/data", "/me/data/export", {}, follow_redirects=True)
    assert "已开始准备数据包" in retried.get_data(as_text=True)
    with app.app_context():
        run_due()
        states = db.session.scalars(select(PrivacyRequest.state).order_by(PrivacyRequest.id)).all()
        assert states == ["pending", "done"]


def test_someone_without_a_password_confirms_by_typing_their_name(app, world, client):
    """People who sign in only through the identity provider have no password to re-enter."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.privacy import operations
    from learnspace.privacy.models import PrivacyRequest

    with app.app_context():
        teacher_id = add_person(world.schools["a1"], "teacher", name="林统一")
        teacher = db.session.get(User, teacher_id)
        teacher.password_hash = None
        db.session.commit()
        from learnspace.errors import ValidationError
        with pytest.raises(ValidationError, match="请输入您的姓名“林统一”以确认注销"):
            operations.request_deletion(teacher, teacher, password="anything", confirm_name="林")
        db.session.rollback()
        teacher = db.session.get(User, teacher_id)
        req = operations.request_deletion(teacher, teacher, confirm_name="林统一")
        db.session.commit()
        assert (req.via, req.state) == ("self", "pending")
        assert db.session.scalar(select(PrivacyRequest.kind)) == "delete"
