"""Fills an empty back-office with the sandbox's demo data through the running worker (`make run` calls it)."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from brokeroffice.demo import demo_seed


class Command(BaseCommand):
    help = "On a first demo run: sync the sandbox's sub-accounts, make keys, move funds, place orders, pull rebates."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is only for development runs (DEBUG=true).")

        def echo(message: str) -> None:
            self.stdout.write(f"demo data: {message}")
            self.stdout.flush()

        if demo_seed(echo):
            echo("ready: every page has something to show")
