"""The blocked-word list: imported from text files (UTF-8/GBK, all or nothing), kept by platform admins on the web."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from learnspace.extensions import db
from learnspace.moderation import operations
from learnspace.moderation.cli import blocked_words
from learnspace.moderation.models import BlockedTerm
from tests.fixtures.helpers import csrf_token, login
from tests.fixtures.people import give_login, row_counts, signed_in
from tests.fixtures.world import PASSWORD

LEARNSPACE = str(Path(sys.executable).parent / "learnspace")


def listed(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(BlockedTerm.term)))


def run_cli(app, *args):
    return app.test_cli_runner().invoke(blocked_words, list(args))


# --- the import command ------------------------------------------------------------------

def test_import_utf8_file_skips_blanks_comments_and_repeats(app, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("# 网络负面用语清单 2026\n脑残\n\n  去死  \n腦殘\n垃圾老师\n", encoding="utf-8")
    result = run_cli(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "新增 3 个词" in result.output and "文件内重复 1 行" in result.output  # 腦殘 folds to 脑残
    assert listed(app) == ["去死", "垃圾老师", "脑残"]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_import_detects_the_encoding(app, tmp_path, encoding):
    path = tmp_path / "list.txt"
    path.write_bytes("脑残\r\n垃圾老师\r\n".encode(encoding))
    result = run_cli(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert listed(app) == ["垃圾老师", "脑残"]


def test_a_file_with_bad_lines_is_refused_whole_with_line_numbers(app, tmp_path):
    run_cli(app, "import", str(_write(tmp_path / "first.txt", "去死\n")))
    before = row_counts(app)
    bad = _write(tmp_path / "bad.txt", "脑残\n!!!\n垃圾老师\n" + "长" * 51 + "\n  ★ ★\n")
    result = run_cli(app, "import", str(bad))
    assert result.exit_code != 0
    assert "3 行有误" in result.output and "整个清单未保存" in result.output
    assert "第 2 行" in result.output and "第 4 行" in result.output and "第 5 行" in result.output
    assert "第 1 行" not in result.output and "第 3 行" not in result.output
    assert row_counts(app) == before
    assert listed(app) == ["去死"]


def test_an_undecodable_file_is_refused(app, tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"\x81\x30")  # a truncated GB18030 four-byte sequence, and invalid UTF-8
    result = run_cli(app, "import", str(path))
    assert result.exit_code != 0 and "无法识别文件编码" in result.output
    assert listed(app) == []


def test_reimport_adds_nothing_and_replace_drops_what_the_file_no_longer_lists(app, tmp_path):
    run_cli(app, "import", str(_write(tmp_path / "a.txt", "脑残\n去死\n")))
    again = run_cli(app, "import", str(_write(tmp_path / "b.txt", "脑残\n滚蛋\n")))
    assert "新增 1 个词，已存在 1 个" in again.output
    assert listed(app) == ["去死", "滚蛋", "脑残"]
    replaced = run_cli(app, "import", "--replace", str(_write(tmp_path / "c.txt", "脑残\n")))
    assert replaced.exit_code == 0 and "删除 2 个" in replaced.output
    assert listed(app) == ["脑残"]


def test_dry_run_saves_nothing(app, tmp_path):
    result = run_cli(app, "import", "--dry-run", str(_write(tmp_path / "a.txt", "脑残\n")))
    assert result.exit_code == 0 and "未保存" in result.output
    assert listed(app) == []


def test_the_installed_command_imports_into_the_configured_database(app, app_env, tmp_path):
    """The real console script in its own process: ``learnspace blocked-words import FILE``."""
    path = _write(tmp_path / "list.txt", "脑残\n", encoding="gbk")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEARNSPACE_")}, **app_env}
    done = subprocess.run([LEARNSPACE, "blocked-words", "import", str(path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "新增 1 个词" in done.stdout
    assert listed(app) == ["脑残"]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- the matcher follows the list ------------------------------------------------------------

def test_the_cached_matcher_follows_additions_and_deletions(app, make_app):
    """Every worker sees a change at its next check: the cache key is the list's (count, highest id)."""
    other = make_app()
    with app.app_context():
        assert operations.blocked_terms_in("脑残") == []
        operations.add_terms("脑残\n")
        db.session.commit()
    with other.app_context():
        assert operations.blocked_terms_in("你 腦殘") == ["脑残"]
    with app.app_context():
        term = db.session.scalar(select(BlockedTerm))
        operations.delete_term(term.id)
        operations.add_terms("去死\n")  # same count as before, so only the highest id tells
        db.session.commit()
    with other.app_context():
        assert operations.blocked_terms_in("脑残，去死") == ["去死"]


# --- the web page -----------------------------------------------------------------------------

def test_only_platform_admins_open_the_list(app, world):
    for login_name in (world.admins["province"], world.admins["school_a1"]):
        client = app.test_client()
        login(client, login_name, PASSWORD)
        assert client.get("/moderation/blocked-words").status_code == 403
    teacher = signed_in(app, give_login(app, world.people["teacher_a1"]))
    assert teacher.get("/moderation/blocked-words").status_code == 403
    anonymous = app.test_client().get("/moderation/blocked-words")
    assert anonymous.status_code in (302, 401)


def test_a_school_admin_cannot_add_terms_by_posting(app, world):
    client = app.test_client()
    login(client, world.admins["school_a1"], PASSWORD)
    token = csrf_token(client.get("/comments/reports").get_data(as_text=True))
    response = client.post("/moderation/blocked-words/add", data={"terms": "老师", "csrf_token": token})
    assert response.status_code == 403
    assert listed(app) == []


def platform(app, world):
    client = app.test_client()
    assert login(client, world.admins["platform"], PASSWORD).status_code == 302
    return client


def test_platform_admin_adds_searches_tries_and_deletes_terms(app, world):
    client = platform(app, world)
    page = client.get("/moderation/blocked-words")
    assert page.status_code == 200
    added = client.post("/moderation/blocked-words/add", data={"terms": "脑残\n去死\n", "csrf_token":
                                                                csrf_token(page.get_data(as_text=True))},
                        follow_redirects=True)
    assert "新增 2 个词" in added.get_data(as_text=True)
    assert listed(app) == ["去死", "脑残"]

    tried = client.get("/moderation/blocked-words", query_string={"sample": "你真是個腦 殘"}).get_data(as_text=True)
    assert "会被拒绝" in tried and "<b>脑残</b>" in tried

    found = client.get("/moderation/blocked-words", query_string={"q": "去"}).get_data(as_text=True)
    assert "找到 1 个词语" in found

    with app.app_context():
        term_id = db.session.scalar(select(BlockedTerm.id).where(BlockedTerm.term == "去死"))
    token = csrf_token(client.get("/moderation/blocked-words").get_data(as_text=True))
    gone = client.post(f"/moderation/blocked-words/{term_id}/delete", data={"csrf_token": token},
                       follow_redirects=True)
    assert "已从清单中删除“去死”" in gone.get_data(as_text=True)
    assert listed(app) == ["脑残"]


def test_pasted_terms_with_a_bad_line_are_refused_whole(app, world):
    client = platform(app, world)
    token = csrf_token(client.get("/moderation/blocked-words").get_data(as_text=True))
    response = client.post("/moderation/blocked-words/add", data={"terms": "脑残\n？？\n", "csrf_token": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "1 行有误" in html and "<td data-label=\"行号\">2</td>" in html
    assert listed(app) == []


def test_platform_admin_imports_a_gbk_file_on_the_web(app, world):
    import io

    client = platform(app, world)
    token = csrf_token(client.get("/moderation/blocked-words").get_data(as_text=True))
    response = client.post("/moderation/blocked-words/import",
                           data={"file": (io.BytesIO("脑残\n垃圾老师\n".encode("gbk")), "清单.txt"),
                                 "csrf_token": token},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "导入完成" in response.get_data(as_text=True)
    assert listed(app) == ["垃圾老师", "脑残"]


def test_terms_are_escaped_on_the_page(app, world):
    client = platform(app, world)
    token = csrf_token(client.get("/moderation/blocked-words").get_data(as_text=True))
    client.post("/moderation/blocked-words/add", data={"terms": "<b>x</b>", "csrf_token": token})
    html = client.get("/moderation/blocked-words").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b><b>x</b></b>" not in html
