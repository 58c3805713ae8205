"""Creates (or resets) one demo staff user per role and prints their logins. For local demo runs only."""
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from brokeroffice.roles import ROLES

DEMO_USERNAMES = {"viewer": "demo-viewer", "operator": "demo-operator", "broker-admin": "demo-admin"}


class Command(BaseCommand):
    help = "Create a demo staff user in each role with a fresh password, and print the logins (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Address to print with the logins.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo users are only for development runs (DEBUG=true).")
        User = get_user_model()
        lines = []
        for role in ROLES:
            username = DEMO_USERNAMES[role]
            password = secrets.token_urlsafe(12)
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = True
            user.is_active = True
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            lines.append(f"  {role:<13} username {username:<14} password {password}")
        self.stdout.write(f"\nBroker back-office: open {options['url']} and log in as\n" + "\n".join(lines) + "\n")
