"""The three staff roles, as Django groups, and the checks that views use.

Roles are ranked: a broker-admin can do everything an operator can, an operator everything a viewer can.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied

VIEWER = "viewer"
OPERATOR = "operator"
BROKER_ADMIN = "broker-admin"
ROLES = (VIEWER, OPERATOR, BROKER_ADMIN)  # lowest first

# The project's own apps, whose models every role may at least view in the admin.
PROJECT_APPS = ("brokeroffice", "accounts", "trading", "rebates")
# Models an operator may add and change in the admin (apps extend this list as they land);
# everything else is for the broker-admin.
OPERATOR_MANAGED_MODELS: set[str] = {"trading.order"}


def role_rank(role: str) -> int:
    return ROLES.index(role)


def user_role(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The highest role the user holds, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return BROKER_ADMIN
    # Asked many times per page (navigation, buttons, the view's own check): read the groups once per user object.
    cached = getattr(user, "_broker_role", False)
    if cached is not False:
        return cached
    names = {group.name for group in user.groups.all()}
    held = [role for role in ROLES if role in names]
    user._broker_role = held[-1] if held else None
    return user._broker_role


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    held = user_role(user)
    return held is not None and role_rank(held) >= role_rank(role)


def role_required(role: str) -> Callable:
    """View decorator: the user must hold `role` or a higher one (login is enforced by middleware)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return decorator


def sync_role_permissions(**kwargs) -> None:
    """Give each role group its model permissions; runs after every migrate, as new models add permissions."""
    project = Permission.objects.filter(content_type__app_label__in=PROJECT_APPS)
    schedules = Permission.objects.filter(content_type__app_label="django_celery_beat")
    viewer_perms = list(project.filter(codename__startswith="view_")) + list(schedules.filter(codename__startswith="view_"))
    operator_perms = viewer_perms + [
        perm
        for perm in project.exclude(codename__startswith="view_")
        if f"{perm.content_type.app_label}.{perm.content_type.model}" in OPERATOR_MANAGED_MODELS
    ]
    everything = list(Permission.objects.all())
    for name, perms in ((VIEWER, viewer_perms), (OPERATOR, operator_perms), (BROKER_ADMIN, everything)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(perms)
