"""The app boots against the real MinIO and database and reports healthy."""


def test_healthz_reports_all_parts_up(client):
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body) >= {"database", "storage", "search"}


def test_login_page_is_chinese(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录网络学习空间" in html
    assert 'lang="zh-CN"' in html
