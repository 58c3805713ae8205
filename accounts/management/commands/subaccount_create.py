from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.services.subaccounts import subaccount_create_send, sub_account_full_name
from accounts.models import SubAccount
from accounts.validation import validate_sub_account_name
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = "Create a sub-account at KuCoin (the broker prefix is added). Running it again after a lost answer looks the name up first."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        full_name = sub_account_full_name(name.strip())
        try:
            validate_sub_account_name(full_name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        sub_account, _ = SubAccount.objects.get_or_create(account_name=full_name)
        if sub_account.state == SubAccount.State.FAILED:
            SubAccount.objects.filter(pk=sub_account.pk).update(state=SubAccount.State.PENDING)
        done = self.run_job(
            kind="subaccount_create", label=f"Create sub-account {full_name}",
            work=lambda run: subaccount_create_send(sub_account_id=sub_account.pk, run=run),
        )
        self.stdout.write(self.style.SUCCESS(f"{done.account_name}: UID {done.uid}"))
