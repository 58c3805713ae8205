"""Flower behind the staff login: /flower/ forwards to the Flower process (bound to localhost, started
with --url_prefix=flower) for broker-admins only."""
from __future__ import annotations

import requests
from csp.decorators import csp_exempt
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from brokeroffice.roles import BROKER_ADMIN, role_required

# Headers that describe one hop, not the message: never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-encoding", "content-length", "host", "cookie"}


@csp_exempt()  # Flower's own pages carry their own scripts
@csrf_exempt  # Flower's forms post to Flower; the broker-admin login guards the door
@role_required(BROKER_ADMIN)
def flower_proxy(request, path: str):
    url = f"{settings.FLOWER_URL.rstrip('/')}/flower/{path}"
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    try:
        upstream = requests.request(request.method, url, params=request.GET, data=request.body, headers=headers,
                                    stream=True, timeout=(2, 30), allow_redirects=False)
    except requests.ConnectionError:
        return HttpResponse("Flower is not running (start it with the Procfile's flower process).", status=502,
                            content_type="text/plain")
    response = StreamingHttpResponse(upstream.iter_content(64 * 1024), status=upstream.status_code)
    for name, value in upstream.headers.items():
        if name.lower() not in HOP_BY_HOP:
            response[name] = value
    return response
