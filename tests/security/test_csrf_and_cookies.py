"""CSRF on every form and every state-changing URL; cookies, HSTS and HTTPS in production settings; Django's
deploy checks clean in the production shapes the README describes (behind a TLS proxy, with Redis)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.admin.sites import site
from django.test import Client

from tests.security.conftest import fill, project_routes
from tests.security.test_access import NOT_FETCHED, PUBLIC

ROOT = Path(__file__).resolve().parents[2]
POST_FORM = re.compile(r"<form\b[^>]*method=[\"']?post[\"']?[^>]*>(.*?)</form>", re.S | re.I)
# Views exempt from CSRF on purpose, each with its reason (anything else exempt fails the test).
CSRF_EXEMPT = {
    "flower": "Flower's own forms post to Flower; only broker-admins get through, and the session cookie is "
              "SameSite=Lax so no other site's form carries it",
    "flower/<path:path>": "as above",
}


def pages(client, world) -> dict[str, str]:
    out = {}
    urls = [fill(r.pattern, world) for r in project_routes() if r.name not in NOT_FETCHED and not r.name.startswith("flower")]
    for model in site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls += [base, base + "add/"]
        obj = model._default_manager.first()
        if obj is not None:
            urls.append(f"{base}{obj.pk}/change/")
    for url in urls:
        response = client.get(url)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            out[url] = response.content.decode(errors="replace")
    return out


def test_every_post_form_on_every_page_carries_a_csrf_token(client, world, make_staff):
    client.force_login(make_staff("broker-admin", username="csrf-forms"))
    found = {url: POST_FORM.findall(page) for url, page in pages(client, world).items()}
    forms = sum(len(f) for f in found.values())
    assert forms >= 40, f"only {forms} POST forms found"
    missing = [url for url, blocks in found.items() for block in blocks if "csrfmiddlewaretoken" not in block]
    assert missing == []


def test_every_url_refuses_a_post_without_the_csrf_token(world, make_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff("broker-admin", username="csrf-posts"))
    problems, exempt = [], set()
    urls = [(r.name, fill(r.pattern, world)) for r in project_routes()
            if r.name not in ("healthz", "readyz") and not r.name.startswith("accounts:fastapi-")]
    urls += [(f"admin {m._meta.label}", f"/admin/{m._meta.app_label}/{m._meta.model_name}/add/") for m in site._registry]
    urls += [(f"admin {m._meta.label} list", f"/admin/{m._meta.app_label}/{m._meta.model_name}/") for m in site._registry]
    for name, url in urls:
        if name.startswith("flower"):
            exempt.add(name)
            continue
        response = client.post(url, {"anything": "1"})
        if response.status_code != 403 or b"CSRF" not in response.content:
            problems.append(f"{url}: {response.status_code} without a CSRF token")
    assert problems == []
    assert exempt <= set(CSRF_EXEMPT)


def test_the_login_form_refuses_a_post_without_the_csrf_token(db):
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403 and b"CSRF" in response.content


def test_the_public_oauth_pages_take_no_post(db):
    for name in ("accounts:fastapi-start", "accounts:fastapi-callback"):
        route = next(r for r in project_routes() if r.name == name)
        assert Client().post("/" + route.pattern, {}).status_code == 405


# -- production settings, in a process of their own ------------------------------------------------------------

def production_env(tmp_path, **extra) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "ENV_FILE": os.devnull,
           "DJANGO_SETTINGS_MODULE": "brokeroffice.settings", "DEBUG": "false",
           "SECRET_KEY": Fernet.generate_key().decode() + Fernet.generate_key().decode(),
           "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "ALLOWED_HOSTS": "office.example.com",
           "CSRF_TRUSTED_ORIGINS": "https://office.example.com",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}"}
    env.update(extra)
    return env


COOKIES = r'''
import django, json
django.setup()
from django.conf import settings
# Pages name their static files through the manifest, written by collectstatic at deploy: not run here.
settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
from django.test import Client
User.objects.create_user("staff", password="a-made-up-password-for-tests", is_staff=True)
https = Client(HTTP_HOST="office.example.com", enforce_csrf_checks=True)
login = https.get("/login/", secure=True)
token = login.cookies["csrftoken"].value
after = https.post("/login/", {"username": "staff", "password": "a-made-up-password-for-tests",
                              "csrfmiddlewaretoken": token}, secure=True, HTTP_REFERER="https://office.example.com/login/")
plain = Client(HTTP_HOST="office.example.com").get("/login/")
def attrs(morsel):
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}
print(json.dumps({"csrf": attrs(login.cookies["csrftoken"]), "session": attrs(after.cookies["sessionid"]),
                  "logged_in": after.status_code, "hsts": login.headers.get("Strict-Transport-Security", ""),
                  "plain_status": plain.status_code, "plain_location": plain.headers.get("Location", ""),
                  "frame": login.headers.get("X-Frame-Options", ""), "nosniff": login.headers.get("X-Content-Type-Options", "")}))
'''


def test_production_cookies_are_secure_and_http_goes_to_https(tmp_path):
    result = subprocess.run([sys.executable, "-c", COOKIES], cwd=ROOT, env=production_env(tmp_path),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["csrf"]["secure"] and seen["csrf"]["samesite"] in ("Lax", "Strict")
    assert seen["session"] == {"secure": True, "httponly": True, "samesite": seen["session"]["samesite"]}
    assert seen["session"]["samesite"] in ("Lax", "Strict")
    assert seen["logged_in"] == 302
    assert "max-age=31536000" in seen["hsts"] and "includeSubDomains" in seen["hsts"]
    assert seen["plain_status"] == 301 and seen["plain_location"].startswith("https://office.example.com/")
    assert seen["frame"] == "DENY" and seen["nosniff"] == "nosniff"


@pytest.mark.parametrize("shape", [
    {"USE_X_FORWARDED_PROTO": "true"},
    {"USE_X_FORWARDED_PROTO": "true", "REDIS_URL": "redis://127.0.0.1:6379/0"},
])
def test_check_deploy_is_clean_in_the_production_shapes(tmp_path, shape):
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=production_env(tmp_path, **shape), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
