"""Fills an empty back-office with the sandbox's demo data through the running worker (`make run` calls it)."""
import json
import urllib.request
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from brokeroffice.demo import demo_seed


class Command(BaseCommand):
    help = "On a first demo run: sync the sandbox's sub-accounts, make keys, move funds, place orders, pull rebates."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-control", default="", help="The sandbox's control URL (its first line).")

    def handle(self, *args, sandbox_control, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is only for development runs (DEBUG=true).")

        def echo(message: str) -> None:
            self.stdout.write(f"demo data: {message}")
            self.stdout.flush()

        if demo_seed(echo, futures_uids=futures_funded(sandbox_control) if sandbox_control else set()):
            echo("ready: every page has something to show")


def futures_funded(control_url: str) -> set[str]:
    """Sub-accounts whose futures account holds USDT in the sandbox: only they can place a futures order."""
    with urllib.request.urlopen(control_url.rstrip("/") + "/state", timeout=10) as response:
        state = json.load(response)["data"]  # KuCoin's envelope, as every sandbox answer
    return {row["uid"] for row in state["balances"]
            if row["accountType"] == "CONTRACT" and row["currency"] == "USDT" and Decimal(row["available"]) > 0}
