from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from brokeroffice.jobcommand import JobCommand
from trading.services.setup_check import broker_verify, broker_verify_prepare


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"“{value}” is not a number.") from None


class Command(JobCommand):
    help = ("Broker set-up check: places a small post-only limit order far from the market with a key of the "
            "sub-account, fetches it to see whether KuCoin tagged it, and cancels it. Exits non-zero when the "
            "order is not tagged, saying what that means.")

    def add_arguments(self, parser):
        parser.add_argument("--uid", required=True, help="UID of a sub-account with a usable key.")
        parser.add_argument("--market", required=True, choices=["spot", "futures"])
        parser.add_argument("--symbol", default="", help="Default: BTC-USDT (spot), XBTUSDTM (futures).")
        parser.add_argument("--price", help="Far below the market. Default: 1000.")
        parser.add_argument("--size", help="Default: 0.001 (spot) or 1 lot (futures).")

    def handle(self, *args, **options):
        try:
            order = broker_verify_prepare(uid=options["uid"], market=options["market"],
                                          symbol=options["symbol"].strip().upper(),
                                          price=_decimal(options["price"]), size=_decimal(options["size"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        result = self.run_job(
            kind="broker_verify", label=f"Broker set-up check ({options['market']}, UID {options['uid']})",
            work=lambda run: broker_verify(uid=options["uid"], market=options["market"], run=run, order_id=order.pk))
        self.stdout.write(self.style.SUCCESS(f"OK: tags “{result['tags']}” on order {result['client_oid']}."))
