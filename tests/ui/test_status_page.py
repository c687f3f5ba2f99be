from tests.ui.harness import app, sign_in


def test_sign_in_required(demo_url, monkeypatch, tmp_path):
    at = app(demo_url, monkeypatch, tmp_path).run()
    assert not at.exception
    assert any("Sign in" in s.value for s in at.subheader)
    assert not at.metric


def test_wrong_password_refused(demo_url, monkeypatch, tmp_path):
    at = sign_in(app(demo_url, monkeypatch, tmp_path), "admin", "not-the-password")
    assert any("Wrong username or password" in e.value for e in at.error)


def test_admin_sees_status_counts(demo_url, monkeypatch, tmp_path):
    at = sign_in(app(demo_url, monkeypatch, tmp_path), "admin")
    assert not at.exception
    at.switch_page("ui/status.py").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flats"] == "32" and metrics["Bills"] != "0"
