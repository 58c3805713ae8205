"""Points the demo's Fast API settings at the sandbox: its OAuth client and this server's callback, which
it also registers with the sandbox. For `make run` only (DEBUG)."""
import json
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse


class Command(BaseCommand):
    help = "Configure Fast API for the demo against a running sandbox (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-info", required=True, help="The sandbox's first line (JSON).")
        parser.add_argument("--base-url", required=True, help="This back-office's address, e.g. http://127.0.0.1:8000")

    def handle(self, *args, sandbox_info, base_url, **options):
        if not settings.DEBUG:
            raise CommandError("The demo configuration is only for development runs (DEBUG=true).")
        from accounts.services.fastapi import fastapi_settings

        info = json.loads(sandbox_info)
        callback = base_url.rstrip("/") + reverse("accounts:fastapi-callback")
        request = urllib.request.Request(
            info["control"] + "/oauth/redirect-uris", method="POST",
            data=json.dumps({"redirect_uri": callback, "client_id": info["oauth"]["client_id"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()
        row = fastapi_settings()
        row.client_id = info["oauth"]["client_id"]
        row.client_secret = info["oauth"]["client_secret"]
        row.redirect_url = callback
        row.save()
        customer = info["oauth"]["customers"][0]
        self.stdout.write(
            f"Fast API: customers connect at {base_url.rstrip('/')}{reverse('accounts:fastapi-start')}?customer=demo-1 "
            f"(sandbox login {customer['username']} / {customer['password']})"
        )
