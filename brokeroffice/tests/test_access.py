"""Every staff URL: anonymous is sent to the login page, and each role gets exactly what it may."""
import pytest

from brokeroffice.models import Job

ROLES = ("viewer", "operator", "broker-admin")
# (method, URL, lowest role allowed). {job} is replaced by a job's id.
STAFF_URLS = [
    ("get", "/", "viewer"),
    ("get", "/jobs/", "viewer"),
    ("get", "/jobs/{job}/", "viewer"),
    ("get", "/jobs/{job}/status/", "viewer"),
    ("post", "/jobs/selftest/", "operator"),
    ("get", "/admin/", "viewer"),
    ("get", "/admin/brokeroffice/job/", "viewer"),
    ("get", "/admin/accounts/brokerprofile/", "viewer"),
    ("get", "/admin/accounts/brokerprofile/add/", "broker-admin"),
    ("get", "/admin/auth/user/", "broker-admin"),
    ("get", "/admin/django_celery_beat/periodictask/", "viewer"),
    ("get", "/admin/django_celery_beat/periodictask/add/", "broker-admin"),
]
ALLOWED_STATUSES = {200, 302}


@pytest.fixture
def job(db):
    return Job.objects.create(kind="queue_selftest", label="A job")


def fill(url, job):
    return url.format(job=job.pk)


@pytest.mark.parametrize("method,url,needed", STAFF_URLS)
def test_anonymous_is_sent_to_login(client, job, method, url, needed):
    response = getattr(client, method)(fill(url, job))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,needed", STAFF_URLS)
def test_each_role_gets_exactly_what_it_may(client, make_staff, job, role, method, url, needed):
    client.force_login(make_staff(role))
    response = getattr(client, method)(fill(url, job))
    allowed = ROLES.index(role) >= ROLES.index(needed)
    if allowed:
        assert response.status_code in ALLOWED_STATUSES, f"{role} should reach {url}"
        if response.status_code == 302:
            assert "/login/" not in response["Location"]
    else:
        assert response.status_code == 403, f"{role} must not reach {url}"


def test_a_viewer_sees_no_action_buttons(client, make_staff, job):
    client.force_login(make_staff("viewer"))
    page = client.get("/jobs/").content.decode()
    assert "Run a queue self-test" not in page
    client.force_login(make_staff("operator"))
    assert "Run a queue self-test" in client.get("/jobs/").content.decode()


def test_healthz_is_open_and_says_what_it_checked(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is True
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["queue"]["ok"] is True


def test_failed_logins_are_throttled(client, make_staff):
    make_staff("viewer", username="someone", password="the-right-password-123")
    for _ in range(5):
        client.post("/login/", {"username": "someone", "password": "wrong"})
    locked = client.post("/login/", {"username": "someone", "password": "the-right-password-123"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()


def test_pages_carry_a_strict_content_security_policy(client, make_staff):
    client.force_login(make_staff("viewer"))
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_who_may_edit_a_schedule_may_run_or_disable_it_from_the_admin(client, make_staff, role):
    """django-celery-beat's own admin offers "Run selected tasks" and "Disable selected tasks" to anyone who may
    look at the schedules."""
    from django.utils.html import escape
    from django_celery_beat.models import PeriodicTask

    schedule = PeriodicTask.objects.get(name__icontains="rebate")
    assert schedule.enabled
    client.force_login(make_staff(role))
    page = client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert escape(schedule.name) in page and "run_tasks" not in page and "disable_tasks" not in page
    client.post("/admin/django_celery_beat/periodictask/",
                {"action": "disable_tasks", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert schedule.enabled

    client.force_login(make_staff("broker-admin"))
    assert "run_tasks" in client.get("/admin/django_celery_beat/periodictask/").content.decode()
    client.post("/admin/django_celery_beat/periodictask/", {"action": "disable_tasks", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert not schedule.enabled
