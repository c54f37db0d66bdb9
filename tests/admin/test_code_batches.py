"""Code batches: print page and XLSX from one batch, confirmed regeneration, the reprint window, the batch list."""
from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from tests.fixtures.people import (
    audit_log,
    batch_xlsx,
    codes_from_html,
    give_login,
    issue_codes,
    issue_reset_code,
    signed_in,
    token_from,
)


def _xlsx_codes(response) -> dict[str, str]:
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return {row[0]: row[5] for row in sheet.iter_rows(min_row=3, values_only=True)}


def _batch_id(page) -> int:
    return int(re.search(r"/admin/codes/(\d+)/xlsx", page.get_data(as_text=True)).group(1))


def _move_clock(app, hours: float, batch_id: int | None = None) -> None:
    """Pretend the batches were made *hours* earlier (their creation time and reprint window move with them)."""
    from learnspace.accounts.models import CodeBatch
    from learnspace.extensions import db

    shift = timedelta(hours=hours)
    with app.app_context():
        where = [CodeBatch.id == batch_id] if batch_id else []
        for batch in db.session.scalars(select(CodeBatch).where(*where)):
            batch.created_dt -= shift
            batch.reprint_until_dt -= shift
        db.session.commit()


def test_print_page_and_xlsx_of_one_batch_give_the_same_codes(app, world):
    """Printing, then exporting the same batch (twice), hands out the very same codes: nothing is voided."""
    client = signed_in(app, world.admins["school_a1"])
    printed = issue_codes(client, world.schools["a1"], "", "")
    slips = codes_from_html(printed.get_data(as_text=True))
    assert set(slips) == {"李老师"}
    assert _xlsx_codes(batch_xlsx(client, printed)) == slips
    assert _xlsx_codes(batch_xlsx(client, printed)) == slips  # again: still the same
    reprint = client.get(f"/admin/codes/{_batch_id(printed)}")
    assert codes_from_html(reprint.get_data(as_text=True)) == slips
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db

    with app.app_context():
        assert db.session.scalar(select(ActivationCode.revoked_dt)) is None


def test_regenerating_lists_the_slips_that_become_void_and_voids_exactly_those(app, world):
    """Two classes hold live codes; regenerating one class lists its people, and only their codes stop working."""
    from tests.fixtures.people import activate_with_code

    client = signed_in(app, world.admins["school_a1"])
    first = codes_from_html(issue_codes(client, world.schools["a1"], "三年级", "1班").get_data(as_text=True))
    other = codes_from_html(issue_codes(client, world.schools["a1"], "", "").get_data(as_text=True))
    assert set(first) == {"张小明"} and set(other) == {"李老师"}

    asked = issue_codes(client, world.schools["a1"], "三年级", "1班")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "no-store" in asked.headers["Cache-Control"]
    void_list = page[page.index('id="void-list"'):page.index("</table>", page.index('id="void-list"'))]
    assert "张小明" in void_list and "李老师" not in void_list
    assert "确认重新生成（1 张作废）" in page

    again = issue_codes(client, world.schools["a1"], "三年级", "1班", confirm=True)
    second = codes_from_html(again.get_data(as_text=True))
    assert set(second) == {"张小明"} and second["张小明"] != first["张小明"]
    assert activate_with_code(app.test_client(), "张小明", first["张小明"]).status_code == 400  # void
    assert activate_with_code(app.test_client(), "李老师", other["李老师"]).status_code == 302  # untouched
    assert activate_with_code(app.test_client(), "张小明", second["张小明"]).status_code == 302
    voids = [e for e in audit_log(app) if e["action"] == "codes.void"]
    assert len(voids) == 1 and voids[0]["detail"].startswith("activation 1 codes")


def test_a_confirmation_whose_list_went_stale_voids_nothing_and_asks_again(app, world):
    """If the live slips changed after the page listed them, the confirmed POST is refused with the new list."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db
    from tests.fixtures.people import confirmation_fields

    client = signed_in(app, world.admins["school_a1"])
    issue_codes(client, world.schools["a1"], "三年级", "1班")
    asked = issue_codes(client, world.schools["a1"], "三年级", "1班")
    stale = confirmation_fields(asked)
    other = signed_in(app, world.admins["county_a"])  # meanwhile another admin regenerates (confirmed)
    issue_codes(other, world.schools["a1"], "三年级", "1班", confirm=True)
    with app.app_context():
        before = sorted((c.id, c.revoked_dt is None) for c in db.session.scalars(select(ActivationCode)))
    again = client.post(f"/admin/schools/{world.schools['a1']}/codes",
                        data={"grade": "三年级", "class_name": "1班", "kind": "activation", **stale})
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "名单有了变化" in page and "确认重新生成激活码" in page
    with app.app_context():
        after = sorted((c.id, c.revoked_dt is None) for c in db.session.scalars(select(ActivationCode)))
    assert after == before  # nothing voided, nothing issued


def test_confirming_without_a_csrf_token_changes_nothing(app, world):
    """The regeneration POST is CSRF-protected like every other."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db

    client = signed_in(app, world.admins["school_a1"])
    issue_codes(client, world.schools["a1"], "三年级", "1班")
    response = client.post(f"/admin/schools/{world.schools['a1']}/codes",
                           data={"grade": "三年级", "class_name": "1班", "kind": "activation", "confirm": "1"})
    assert response.status_code in (302, 400)
    with app.app_context():
        assert len(list(db.session.scalars(select(ActivationCode)))) == 1
        assert db.session.scalar(select(ActivationCode.revoked_dt)) is None


def test_after_the_reprint_window_the_plaintext_is_wiped_and_regeneration_is_offered(app, world):
    """Past CODE_REPRINT_HOURS the batch page says so and offers regeneration; the worker's wipe leaves no plaintext;
    the printed code still activates."""
    from learnspace.accounts import codes
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db
    from tests.fixtures.people import activate_with_code

    client = signed_in(app, world.admins["school_a1"])
    printed = issue_codes(client, world.schools["a1"], "三年级", "1班")
    code = codes_from_html(printed.get_data(as_text=True))["张小明"]
    batch_id = _batch_id(printed)
    hours = app.config["LEARNSPACE"].code_reprint_hours
    _move_clock(app, hours + 0.1)

    page = client.get(f"/admin/codes/{batch_id}").get_data(as_text=True)
    assert code not in page and "本批已不能再打印" in page and "重新生成激活码" in page
    assert client.get(f"/admin/codes/{batch_id}/xlsx").status_code == 302  # no XLSX any more
    school_page = client.get(f"/admin/schools/{world.schools['a1']}").get_data(as_text=True)
    assert "已过重新打印时限" in school_page

    with app.app_context():
        assert db.session.scalar(select(ActivationCode.code_encrypted)) is not None
        assert codes.wipe_plaintext() == 1
        db.session.commit()
        assert db.session.scalar(select(ActivationCode.code_encrypted)) is None

    # Regenerating from that page goes through the confirmation (the printed code is still live).
    token = token_from(client, f"/admin/codes/{batch_id}")
    asked = client.post(f"/admin/schools/{world.schools['a1']}/codes",
                        data={"grade": "三年级", "class_name": "1班", "kind": "activation", "csrf_token": token})
    assert "确认重新生成激活码" in asked.get_data(as_text=True)
    assert activate_with_code(app.test_client(), "张小明", code).status_code == 302


def test_the_wipe_runs_as_a_periodic_task_of_the_worker(app, world):
    """codes.wipe_plaintext is registered with the worker's periodic tasks and wipes only expired windows."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db
    from learnspace.jobs.registry import PERIODIC
    from learnspace.jobs.worker import Worker

    assert "codes.wipe_plaintext" in PERIODIC
    client = signed_in(app, world.admins["school_a1"])
    old = _batch_id(issue_codes(client, world.schools["a1"], "三年级", "1班"))
    fresh = _batch_id(issue_codes(client, world.schools["a1"], "", ""))
    _move_clock(app, app.config["LEARNSPACE"].code_reprint_hours + 1, batch_id=old)
    Worker(app, name="test-periodic", beat_seconds=None).run_periodic(force=True)
    with app.app_context():
        kept = dict(db.session.execute(select(ActivationCode.batch_id,
                                             ActivationCode.code_encrypted.is_not(None))).all())
    assert kept == {old: False, fresh: True}


def test_school_page_lists_recent_batches_with_counts(app, world):
    """The batch list shows issued / used / void / expired per batch and links to print and XLSX while possible."""
    from tests.fixtures.people import activate_with_code

    client = signed_in(app, world.admins["school_a1"])
    first = issue_codes(client, world.schools["a1"], "三年级", "1班")
    issue_codes(client, world.schools["a1"], "三年级", "1班", confirm=True)
    teacher = issue_codes(client, world.schools["a1"], "", "")
    code = codes_from_html(teacher.get_data(as_text=True))["李老师"]
    assert activate_with_code(app.test_client(), "李老师", code).status_code == 302
    page = client.get(f"/admin/schools/{world.schools['a1']}").get_data(as_text=True)
    rows = re.findall(r"<tr><td data-label=\"批次\">第 (\d+) 批</td>(.*?)</tr>", page, re.S)
    figures = {int(batch): re.findall(r'class="num">(\d+)<', rest) for batch, rest in rows}
    first_id, teacher_id = _batch_id(first), _batch_id(teacher)
    assert figures[first_id] == ["1", "0", "1", "0"]  # issued, used, void, expired
    assert figures[teacher_id] == ["1", "1", "0", "0"]
    assert len(figures) == 3
    assert f'/admin/codes/{first_id + 1}/xlsx' in page  # the live batch can still be exported


def test_reset_code_batch_for_a_class_of_activated_people(app, world):
    """生成重置码 on a class makes a reset batch for the people who have a space, and only them."""
    give_login(app, world.people["student_a1"])
    client = signed_in(app, world.admins["school_a1"])
    printed = issue_codes(client, world.schools["a1"], "三年级", "1班", kind="reset")
    html = printed.get_data(as_text=True)
    assert printed.status_code == 200 and "密码重置码" in html and "/reset" in html
    assert set(codes_from_html(html)) == {"张小明"}
    assert issue_codes(client, world.schools["a1"], "", "", kind="reset").status_code == 302  # nobody activated
    sheet = load_workbook(io.BytesIO(batch_xlsx(client, printed).get_data())).active
    assert [c.value for c in sheet[2]][5] == "重置码"


def test_batch_pages_are_scope_checked(app, world):
    """Another school's admin gets 403 on a batch's print page and XLSX, and the refusal is audited."""
    client = signed_in(app, world.admins["school_a1"])
    batch_id = _batch_id(issue_codes(client, world.schools["a1"], "三年级", "1班"))
    outsider = signed_in(app, world.admins["school_b1"])
    assert outsider.get(f"/admin/codes/{batch_id}").status_code == 403
    assert outsider.get(f"/admin/codes/{batch_id}/xlsx").status_code == 403
    assert any(e["action"] == "admin.scope" and e["result"] == "denied" for e in audit_log(app))
    county = signed_in(app, world.admins["county_a"])
    assert county.get(f"/admin/codes/{batch_id}").status_code == 200


def test_reset_code_for_one_person_is_scope_checked_and_confirmed(app, world):
    """admin.issue_reset_code: in scope one-person batch (print page); outside 403; a second one asks first."""
    give_login(app, world.people["student_a1"])
    admin = signed_in(app, world.admins["school_a1"])
    printed = issue_reset_code(admin, world.people["student_a1"])
    assert printed.status_code == 200 and set(codes_from_html(printed.get_data(as_text=True))) == {"张小明"}
    asked = issue_reset_code(admin, world.people["student_a1"])
    assert "确认重新生成重置码" in asked.get_data(as_text=True)
    outsider = signed_in(app, world.admins["school_b1"])
    token = token_from(outsider, "/admin/")
    refused = outsider.post(f"/admin/people/{world.people['student_a1']}/reset-code", data={"csrf_token": token})
    assert refused.status_code == 403
    issues = [e for e in audit_log(app) if e["action"] == "codes.issue"]
    assert len(issues) == 1 and issues[0]["target"] == f"user:{world.people['student_a1']}"
