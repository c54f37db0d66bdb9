"""The background-job page: platform admins only, states and errors in Chinese, retry by POST with CSRF."""
from __future__ import annotations

from sqlalchemy import select, update

from learnspace.audit.models import AuditEntry
from learnspace.extensions import db
from learnspace.jobs import enqueue
from learnspace.jobs import operations as jobs
from learnspace.jobs.models import Job
from tests.fixtures.helpers import csrf_token, login
from tests.fixtures.people import give_login, signed_in
from tests.fixtures.world import PASSWORD
from tests.jobs.handlers import NOOP


def make_jobs(app) -> dict[str, int]:
    """A queued job and a failed one with its error."""
    with app.app_context():
        enqueue(NOOP, {"file_id": 1}, dedupe_key="upload:1")
        enqueue(NOOP, {"file_id": 2}, dedupe_key="upload:2")
        db.session.commit()
        ids = {key: id_ for id_, key in db.session.execute(select(Job.id, Job.dedupe_key))}
        db.session.execute(update(Job).where(Job.id == ids["upload:2"]).values(
            state="failed", attempts=5, last_error="文件校验失败：SHA-256 与上传时不一致"))
        db.session.commit()
        db.session.remove()
    return {"queued": ids["upload:1"], "failed": ids["upload:2"]}


def state(app, job_id: int) -> str:
    with app.app_context():
        try:
            return db.session.get(Job, job_id).state
        finally:
            db.session.remove()


def platform(app, world):
    client = app.test_client()
    assert login(client, world.admins["platform"], PASSWORD).status_code == 302
    return client


def test_only_platform_admins_see_or_retry_jobs(app, world):
    ids = make_jobs(app)
    for login_name in (world.admins["province"], world.admins["school_a1"]):
        client = app.test_client()
        login(client, login_name, PASSWORD)
        assert client.get("/admin/jobs").status_code == 403
        token = csrf_token(client.get("/admin/").get_data(as_text=True))
        assert client.post(f"/admin/jobs/{ids['failed']}/retry", data={"csrf_token": token}).status_code == 403
    teacher = signed_in(app, give_login(app, world.people["teacher_a1"]))
    assert teacher.get("/admin/jobs").status_code == 403
    assert app.test_client().get("/admin/jobs").status_code in (302, 401)
    assert state(app, ids["failed"]) == "failed"


def test_the_page_lists_jobs_with_chinese_states_errors_and_whether_a_worker_runs(app, world):
    ids = make_jobs(app)
    client = platform(app, world)
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "排队中" in page and "失败" in page and "文件校验失败：SHA-256 与上传时不一致" in page
    assert "最近 1 分钟内没有工作进程报到" in page
    assert page.count('aria-label="重试任务') == 1 and f"重试任务 {ids['failed']}" in page
    with app.app_context():
        jobs.beat("node1:42:abc")
        db.session.commit()
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "工作进程运行正常：最近 1 分钟内有 1 个工作进程报到" in page
    assert "后台任务" in client.get("/admin/").get_data(as_text=True)


def test_retry_needs_the_csrf_token_and_queues_the_job_again(app, world):
    ids = make_jobs(app)
    client = platform(app, world)
    assert client.post(f"/admin/jobs/{ids['failed']}/retry").status_code == 400
    assert state(app, ids["failed"]) == "failed"
    token = csrf_token(client.get("/admin/jobs").get_data(as_text=True))
    done = client.post(f"/admin/jobs/{ids['failed']}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert f"任务 {ids['failed']} 已重新排队" in done.get_data(as_text=True)
    assert state(app, ids["failed"]) == "queued"
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.target).where(AuditEntry.action == "job.retry")) == \
            f"job:{ids['failed']}"
    again = client.post(f"/admin/jobs/{ids['queued']}/retry", data={"csrf_token": token})
    assert again.status_code == 409 and "只有失败的任务可以重试" in again.get_data(as_text=True)
    unknown = client.post(f"/admin/jobs/{max(ids.values()) + 1000}/retry", data={"csrf_token": token})
    assert unknown.status_code == 404 and "没有找到这个任务" in unknown.get_data(as_text=True)
