from brokeroffice.navigation import sections_for
from brokeroffice.roles import BROKER_ADMIN, OPERATOR, VIEWER, has_role


def roles(request) -> dict:
    """Which role-gated parts of a page (navigation, action buttons) to show the current user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_sections": sections_for(user, request.path),
        "can_view": has_role(user, VIEWER),
        "can_operate": has_role(user, OPERATOR),
        "can_administer": has_role(user, BROKER_ADMIN),
    }
