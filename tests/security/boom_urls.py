"""The project's URLs plus one view that fails with a secret in its exception: what an error page must hide."""
from django.urls import path

from brokeroffice.roles import VIEWER, role_required
from brokeroffice.urls import urlpatterns as project_urlpatterns

SECRET_IN_EXCEPTION = {"value": ""}


@role_required(VIEWER)
def boom(request):
    raise RuntimeError(f"made-up failure while holding {SECRET_IN_EXCEPTION['value']}")


urlpatterns = [path("boom/", boom), *project_urlpatterns]
