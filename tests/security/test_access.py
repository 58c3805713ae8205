"""Who may reach what: every URL of the project (walked from the URL resolver, not listed by hand) and every
admin page and admin action, for anonymous, viewer, operator and broker-admin.

The table names the lowest role of each page; a page missing from the table is held to the role its view
declares, and a page that declares none and is not public fails the test."""
from __future__ import annotations

import re

import pytest
from django.contrib.admin.sites import site

from brokeroffice.roles import OPERATOR_MANAGED_MODELS, PROJECT_APPS
from tests.security.conftest import ROLES, fill, project_routes

# Reached without a staff login, by design (customers of Fast API, load balancers, the login itself).
PUBLIC = {"login", "logout", "healthz", "readyz", "accounts:fastapi-start", "accounts:fastapi-callback",
          "accounts:fastapi-status"}
# Public pages that are not fetched here: they call KuCoin (readyz) or are the OAuth flow, tested in accounts.
NOT_FETCHED = {"readyz", "accounts:fastapi-start", "accounts:fastapi-callback", "accounts:fastapi-status", "logout"}
# The lowest role of each staff page, as the README and the issue describe the roles.
LOWEST_ROLE = {
    "home": "viewer", "search": "viewer", "preferences": "viewer", "job-list": "viewer", "job-detail": "viewer",
    "job-status": "viewer", "queue-selftest": "operator", "flower": "broker-admin",
    "flower/<path:path>": "broker-admin",
    "accounts:subaccount-list": "viewer", "accounts:subaccount-detail": "viewer", "accounts:apikey-detail": "viewer",
    "accounts:transfer-list": "viewer", "accounts:deposit-list": "viewer", "accounts:calllog-list": "viewer",
    "accounts:connection-list": "viewer", "accounts:connection-detail": "viewer",
    "accounts:subaccount-create": "operator", "accounts:subaccount-sync": "operator",
    "accounts:subaccount-retry": "operator", "accounts:subaccount-retire": "operator",
    "accounts:balances-refresh": "operator", "accounts:apikey-create": "operator", "accounts:apikey-import": "operator",
    "accounts:apikey-sync": "operator", "accounts:apikey-edit": "operator", "accounts:apikey-delete": "operator",
    "accounts:transfer-create": "operator", "accounts:transfer-sync": "operator", "accounts:transfer-retry": "operator",
    "accounts:deposit-sync": "operator", "accounts:withdrawal-sync": "operator", "accounts:kyc-submit": "operator",
    "accounts:kyc-check": "operator", "accounts:connection-disconnect": "operator",
    "accounts:connection-retry": "operator", "accounts:fastapi-refresh": "operator",
    "accounts:broker-profile": "broker-admin", "accounts:broker-check": "broker-admin",
    "accounts:fastapi-settings": "broker-admin",
    "trading:order-list": "viewer", "trading:order-detail": "viewer", "trading:verification": "viewer",
    "trading:order-create": "operator", "trading:orders-verify": "operator", "trading:orders-sync": "operator",
    "trading:tag-share-refresh": "operator", "trading:broker-verify": "operator", "trading:order-cancel": "operator",
    "trading:order-verify": "operator", "trading:order-sync": "operator",
    "rebates:report": "viewer", "rebates:by-sub-account": "viewer", "rebates:reconciliation": "viewer",
    "rebates:export": "viewer", "rebates:file-list": "viewer", "rebates:file-detail": "viewer",
    "rebates:sync": "operator", "rebates:day-repull": "operator", "rebates:file-reparse": "operator",
}
READ_ONLY_APPS = (*PROJECT_APPS, "django_celery_beat")  # every role may view their models in the admin


def rank(role: str | None) -> int:
    return -1 if role is None else ROLES.index(role)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/login/" in response["Location"]


def fetch(client, url: str):
    """GET the page; a view that only takes POST is POSTed (empty), as its form would."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response


def test_every_page_is_public_by_design_or_declares_a_role_that_matches_the_table():
    problems = []
    for route in project_routes():
        if route.name in PUBLIC:
            continue
        declared = route.required_role
        if declared is None:
            problems.append(f"{route.name} ({route.pattern}) neither is public nor declares a role")
        elif route.name in LOWEST_ROLE and declared != LOWEST_ROLE[route.name]:
            problems.append(f"{route.name} declares {declared}, the table says {LOWEST_ROLE[route.name]}")
    assert problems == []


def test_every_public_page_is_one_the_table_knows():
    public = {route.name for route in project_routes() if route.login_not_required}
    assert public <= PUBLIC, f"public pages nobody decided on: {sorted(public - PUBLIC)}"


@pytest.mark.parametrize("role", [None, *ROLES])
def test_each_role_reaches_exactly_the_pages_it_may(client, world, make_staff, role):
    if role:
        client.force_login(make_staff(role, username=f"access-{role}"))
    problems = []
    for route in project_routes():
        if route.name in NOT_FETCHED:
            continue
        url = fill(route.pattern, world)
        needed = LOWEST_ROLE.get(route.name, route.required_role)
        response = fetch(client, url)
        status = response.status_code
        if route.name in PUBLIC:
            if status >= 500:
                problems.append(f"{url}: {status} for {role}")
        elif role is None:
            if not is_login_redirect(response):
                problems.append(f"{url}: anonymous got {status}, not the login page")
        elif rank(role) < rank(needed):
            if status != 403:
                problems.append(f"{url}: {role} got {status}, must be refused (needs {needed})")
        else:
            flower_down = route.name.startswith("flower") and status == 502
            if status == 403 or is_login_redirect(response) or (status >= 500 and not flower_down):
                problems.append(f"{url}: {role} got {status}, may reach it")
    assert problems == []


# -- the admin ------------------------------------------------------------------------------------------------

def admin_models():
    return sorted(site._registry.items(), key=lambda item: item[0]._meta.label)


def admin_allows(model_admin, what: str) -> bool:
    """What the ModelAdmin allows at all (for a superuser): pages it switched off are off for every role."""
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    check = {"add": model_admin.has_add_permission, "change": model_admin.has_change_permission,
             "delete": model_admin.has_delete_permission}[what]
    return bool(check(request))


def role_may(role: str, model, what: str) -> bool:
    label = f"{model._meta.app_label}.{model._meta.model_name}"
    if what == "view":
        return role == "broker-admin" or model._meta.app_label in READ_ONLY_APPS
    if role == "broker-admin":
        return True
    return role == "operator" and label in OPERATOR_MANAGED_MODELS


@pytest.mark.parametrize("role", [None, *ROLES])
def test_each_role_reaches_exactly_the_admin_pages_it_may(client, world, make_staff, role):
    if role:
        client.force_login(make_staff(role, username=f"admin-{role}"))
    problems = []
    for model, model_admin in admin_models():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        obj = model._default_manager.first()
        pages = [("view", base), ("add", base + "add/")]
        if obj is not None:
            pages += [("view", f"{base}{obj.pk}/change/"), ("view", f"{base}{obj.pk}/history/"),
                      ("delete", f"{base}{obj.pk}/delete/")]
        for what, url in pages:
            if what != "view" and not admin_allows(model_admin, what):
                continue  # switched off for everybody (checked below for the broker-admin)
            response = client.get(url)
            status = response.status_code
            if role is None:
                if not (status == 302 and "login" in response["Location"]):
                    problems.append(f"{url}: anonymous got {status}")
            elif role_may(role, model, what):
                if status not in (200, 302) or is_login_redirect(response):
                    problems.append(f"{url}: {role} got {status}, may reach it")
            elif status not in (403, 302) or (status == 302 and "login" not in response["Location"]):
                # Django's admin answers 403, or sends a user without any admin right to its login.
                problems.append(f"{url}: {role} got {status}, must be refused")
        if role == "broker-admin":
            for what in ("add", "delete"):
                if not admin_allows(model_admin, what):
                    url = base + "add/" if what == "add" else (f"{base}{obj.pk}/delete/" if obj else None)
                    if url and client.get(url).status_code != 403:
                        problems.append(f"{url}: {what} is switched off yet reachable")
    assert problems == []


MESSAGE = re.compile(r'<li class="(?:success|info|warning|error)">(.*?)</li>', re.S)


def admin_actions() -> list[tuple[type, str, tuple]]:
    out = []
    for model, model_admin in admin_models():
        for name in model_admin.actions or ():
            func = getattr(model_admin, name, None) if isinstance(name, str) else name
            out.append((model, getattr(func, "__name__", str(name)), tuple(getattr(func, "allowed_permissions", ()))))
        if model_admin.actions is not None and "delete_selected" in dict(site.actions):
            out.append((model, "delete_selected", ("delete",)))
    return out


def action_allowed(role: str, model, permissions: tuple) -> bool:
    if not permissions:
        return True
    if "operate" in permissions:
        return rank(role) >= rank("operator")
    return all(role_may(role, model, p if p != "view" else "view") for p in permissions)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_each_role_runs_exactly_the_admin_actions_it_may(client, world, make_staff, role):
    from brokeroffice.models import Job

    if role:
        client.force_login(make_staff(role, username=f"action-{role}"))
    problems = []
    assert len(admin_actions()) >= 10, "the admin's actions were not found"
    for model, name, permissions in admin_actions():
        obj = model._default_manager.first()
        if obj is None:
            continue
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        jobs_before = Job.objects.count()
        response = client.post(base, {"action": name, "_selected_action": [obj.pk], "index": 0})
        page = response.content.decode(errors="replace") if response.status_code == 200 else ""
        if response.status_code == 302 and "login" not in response["Location"]:
            page = client.get(response["Location"]).content.decode(errors="replace")  # the action's message
        said = [m for m in MESSAGE.findall(page) if "No action selected" not in m and "must be selected" not in m]
        if name == "delete_selected":
            ran = "Are you sure" in page
            effect = not model._default_manager.filter(pk=obj.pk).exists()
        else:
            effect = Job.objects.count() != jobs_before
            ran = effect or bool(said)
        allowed = role is not None and action_allowed(role, model, permissions) and \
            (name != "delete_selected" or admin_allows(site._registry[model], "delete"))
        if allowed and not ran:
            problems.append(f"{model._meta.label}: {role} may run “{name}” but got {response.status_code}")
        if not allowed and (ran or effect):
            problems.append(f"{model._meta.label}: {role} ran “{name}” ({response.status_code})")
    assert problems == []
