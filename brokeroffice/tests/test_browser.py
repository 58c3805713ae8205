"""A member of staff logs in with a real browser and sees the dashboard."""
import pytest

pytestmark = pytest.mark.browser


def test_log_in_and_see_the_dashboard(live_server, page, make_staff, screenshot):
    make_staff("viewer", username="ada", password="a-made-up-password-for-tests")
    page.goto(live_server.url + "/")
    assert "/login/" in page.url

    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("a-made-up-password-for-tests")
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.url == live_server.url + "/"
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").is_visible()
    assert page.get_by_text("ada").is_visible()
    screenshot()


def test_a_wrong_password_keeps_the_username_and_says_why(live_server, page, make_staff):
    make_staff("viewer", username="ada", password="a-made-up-password-for-tests")
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").wait_for()
    assert "correct username and password" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Username").input_value() == "ada"
