from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db.models import Q

from accounts.models import SubAccount
from accounts.services.deposit_addresses import deposit_address_fetch, deposit_address_record, deposit_addresses_read
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = ("Print a sub-account's deposit address of CURRENCY on --chain, created at KuCoin with the sub-account's own "
            "key when there is none. Without --chain: the addresses that exist, in every chain (nothing is created).")

    def add_arguments(self, parser):
        parser.add_argument("subaccount", help="The sub-account's name or UID.")
        parser.add_argument("currency")
        parser.add_argument("--chain", help="KuCoin's chainId, e.g. trx, eth, ton.")
        parser.add_argument("--to", choices=["MAIN", "TRADE"], default="MAIN", help="The account deposits are credited to.")

    def handle(self, *args, subaccount, currency, chain=None, to="MAIN", **options):
        sub_account = SubAccount.objects.filter(Q(account_name=subaccount) | Q(uid=subaccount)).first()
        if sub_account is None:
            raise CommandError(f"No sub-account named or with UID “{subaccount}” here (run subaccounts_sync first?).")
        if chain is None:
            rows = self.run_job(kind="deposit_address_fetch", label=f"Deposit addresses of {currency.upper()} of {sub_account}",
                                work=lambda run: deposit_addresses_read(sub_account=sub_account, currency=currency, run=run))
            if not rows:
                raise CommandError(f"{sub_account} has no {currency.upper()} deposit address yet: give --chain to create one.")
        else:
            try:
                # The row is written first (as the page does); the work runs in this process.
                address = deposit_address_record(sub_account=sub_account, currency=currency, chain=chain,
                                                 credited_account=to)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            rows = [self.run_job(kind="deposit_address_fetch", label=f"Deposit address of {address}",
                                 work=lambda run: deposit_address_fetch(address_id=address.pk, run=run))]
        for row in rows:
            memo = f"  memo {row.memo}" if row.memo else ""
            self.stdout.write(self.style.SUCCESS(f"{row.currency} {row.chain_name or row.chain} ({row.chain}): {row.address}{memo}"
                                                 f"  → {row.credited_account}"))
