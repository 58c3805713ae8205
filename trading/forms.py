"""The order form: every parameter of KuCoin's spot HF and futures V3 orders, and, in words, every rule
KuCoin would reject an order for; all problems at once, beside their fields, with what was typed kept."""
from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from accounts.forms import StaffForm
from trading.models import Order
from trading.services.orders import order_check, order_connections, usable_keys

def decimal_field(**kwargs) -> forms.DecimalField:
    """An exact decimal, typed as text (a number input would round or refuse 18 decimal places)."""
    return forms.DecimalField(required=False, max_digits=36, decimal_places=18, min_value=0,
                              widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}), **kwargs)


CLIENT_OID = re.compile(r"^[A-Za-z0-9_-]+$")
BLANK = [("", "—")]
SPOT_TIME_IN_FORCE = [("GTC", "GTC: good till cancelled"), ("GTT", "GTT: good till time"),
                      ("IOC", "IOC: immediate or cancel"), ("FOK", "FOK: fill or kill")]
FUTURES_TIME_IN_FORCE = ("GTC", "IOC")
SPOT_STP = ("DC", "CO", "CN", "CB")
FUTURES_STP = ("CN", "CO", "CB")


class KeyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, key) -> str:
        permissions = ", ".join(key.permissions or [])
        return f"{key.sub_account.account_name} (UID {key.sub_account.uid}) — key “{key.label}” [{permissions}]"


class ConnectionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, connection) -> str:
        return f"customer {connection.customer_ref} — Fast API key {connection.api_key}"


class OrderForm(StaffForm):
    market = forms.ChoiceField(choices=Order.Market.choices, initial=Order.Market.SPOT)
    api_key = KeyChoiceField(queryset=None, required=False, label="Sub-account and key",
                             help_text="The order is signed with this key and the broker headers.")
    fast_api_connection = ConnectionChoiceField(
        queryset=None, required=False, label="Or a connected account",
        help_text="A customer's own KuCoin account connected through Fast API: the order is signed with its "
                  "broker-bound key and the broker headers.")
    symbol = forms.CharField(max_length=30, help_text="Spot: e.g. BTC-USDT. Futures: the contract, e.g. XBTUSDTM.")
    side = forms.ChoiceField(choices=BLANK + Order.Side.choices, required=False,
                             help_text="Required, except for a futures order that closes the position.")
    type = forms.ChoiceField(choices=Order.Type.choices, initial=Order.Type.LIMIT)
    price = decimal_field(help_text="Required for a limit order; not for a market order.")
    size = decimal_field(help_text="Spot: base amount. Futures: whole lots.")
    funds = decimal_field(help_text="Spot market orders: the quote amount to spend, instead of size.")
    qty = decimal_field(label="qty",
                             help_text="Futures: base-currency amount, instead of size.")
    value_qty = decimal_field(label="valueQty",
                                   help_text="Futures: quote value (USDT), instead of size.")
    time_in_force = forms.ChoiceField(choices=BLANK + SPOT_TIME_IN_FORCE, required=False, label="Time in force")
    cancel_after = forms.IntegerField(required=False, min_value=1, max_value=2_592_000, label="Cancel after (s)",
                                      help_text="Spot GTT only: 1 to 2,592,000 seconds.")
    post_only = forms.BooleanField(required=False, label="Post only")
    hidden = forms.BooleanField(required=False)
    iceberg = forms.BooleanField(required=False)
    visible_size = decimal_field(label="Visible size", help_text="With iceberg (futures: lots).")
    stp = forms.ChoiceField(choices=BLANK + [(v, v) for v in SPOT_STP], required=False,
                            label="Self-trade prevention", help_text="Futures: CN, CO or CB only.")
    remark = forms.CharField(required=False, max_length=100, help_text="Spot: at most 20 ASCII characters.")
    leverage = forms.IntegerField(required=False, min_value=1, help_text="Futures: required for isolated margin.")
    margin_mode = forms.ChoiceField(choices=BLANK + [("ISOLATED", "Isolated"), ("CROSS", "Cross")], required=False,
                                    label="Margin mode", help_text="Futures; KuCoin's default is isolated.")
    reduce_only = forms.BooleanField(required=False, label="Reduce only")
    close_order = forms.BooleanField(required=False, label="Close the position")
    force_hold = forms.BooleanField(required=False, label="Force hold")
    stop = forms.ChoiceField(choices=BLANK + [("down", "down: at or below"), ("up", "up: at or above")],
                             required=False, help_text="Futures stop order.")
    stop_price = decimal_field(label="Stop price")
    stop_price_type = forms.ChoiceField(
        choices=BLANK + [("TP", "TP: last trade price"), ("MP", "MP: mark price"), ("IP", "IP: index price")],
        required=False, label="Stop price type")
    client_oid = forms.CharField(required=False, max_length=200, label="clientOid",
                                 help_text="Optional; one is chosen when empty. At most 40 letters, digits, '_' or '-'.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["api_key"].queryset = usable_keys().order_by("sub_account__account_name", "pk")
        self.fields["fast_api_connection"].queryset = order_connections()
        self.order: Order | None = None

    # Each rule KuCoin applies, in words, beside the field it is about.
    def clean(self):
        data = super().clean()
        if self.errors:
            # Rules that read a field that did not parse would only repeat the problem.
            pass
        market = data.get("market")
        typ = data.get("type")
        futures = market == Order.Market.FUTURES
        err = self._problem

        if "api_key" not in self.errors and "fast_api_connection" not in self.errors:
            if data.get("api_key") is None and data.get("fast_api_connection") is None:
                err("api_key", "Choose the sub-account key or the connected account to sign the order with.")
            elif data.get("api_key") is not None and data.get("fast_api_connection") is not None:
                err("fast_api_connection", "Choose either a sub-account key or a connected account, not both.")

        oid = (data.get("client_oid") or "").strip()
        if oid:
            if len(oid) > 40:
                err("client_oid", f"A clientOid has at most 40 characters; this one has {len(oid)}.")
            elif not CLIENT_OID.match(oid):
                err("client_oid", "A clientOid may only contain letters, digits, '_' and '-'.")
        data["client_oid"] = oid

        if not data.get("side") and not (futures and data.get("close_order")):
            err("side", "Choose buy or sell.")
        if typ == Order.Type.LIMIT and data.get("price") is None and "price" not in self.errors:
            err("price", "A limit order needs a price.")
        if typ == Order.Type.MARKET and data.get("price") is not None:
            err("price", "A market order takes no price: leave it empty.")
        for name in ("price", "size", "funds", "qty", "value_qty", "visible_size", "stop_price"):
            if data.get(name) is not None and data[name] <= 0:
                err(name, "Must be greater than zero.")

        tif = data.get("time_in_force") or ""
        if data.get("post_only"):
            if data.get("hidden"):
                err("post_only", "Post-only cannot be combined with hidden.")
            if data.get("iceberg"):
                err("post_only", "Post-only cannot be combined with iceberg.")
            if tif in ("IOC", "FOK"):
                err("post_only", f"Post-only cannot be combined with {tif}.")
        if data.get("iceberg") and data.get("visible_size") is None:
            err("visible_size", "An iceberg order needs a visible size.")
        if data.get("visible_size") is not None and not data.get("iceberg"):
            err("visible_size", "A visible size only applies to an iceberg order.")

        if futures:
            self._clean_futures(data, typ, tif)
        else:
            self._clean_spot(data, typ, tif)

        if not self.errors:
            order = self._order(data)
            try:
                order_check(order)
            except ValidationError as exc:
                self._add_service_error(exc)
            else:
                self.order = order
        return data

    def _clean_spot(self, data, typ, tif):
        err = self._problem
        for name, label in (("qty", "qty"), ("value_qty", "valueQty"), ("leverage", "leverage"),
                            ("margin_mode", "margin mode"), ("stop", "stop"), ("stop_price", "stop price"),
                            ("stop_price_type", "stop price type")):
            if data.get(name) not in (None, ""):
                err(name, f"Spot orders take no {label}: it is a futures parameter.")
        for name, label in (("reduce_only", "reduce only"), ("close_order", "close the position"),
                            ("force_hold", "force hold")):
            if data.get(name):
                err(name, f"Spot orders have no “{label}”: it is a futures parameter.")
        if typ == Order.Type.LIMIT:
            if data.get("size") is None and "size" not in self.errors:
                err("size", "A limit order needs a size.")
            if data.get("funds") is not None:
                err("funds", "A limit order is sized by size, not funds.")
        elif typ == Order.Type.MARKET:
            if (data.get("size") is None) == (data.get("funds") is None):
                err("size", "A market order needs exactly one of size or funds.")
        if data.get("cancel_after") is not None and tif != "GTT":
            err("cancel_after", "Cancel after only applies with time in force GTT.")
        if tif == "GTT" and data.get("cancel_after") is None:
            err("cancel_after", "A GTT order needs the number of seconds after which it is cancelled.")
        remark = data.get("remark") or ""
        if remark and (len(remark) > 20 or not remark.isascii()):
            err("remark", "A spot remark has at most 20 ASCII characters.")

    def _clean_futures(self, data, typ, tif):
        err = self._problem
        if data.get("funds") is not None:
            err("funds", "Futures orders take size, qty or valueQty, not funds.")
        given = [n for n in ("size", "qty", "value_qty") if data.get(n) is not None]
        if len(given) > 1:
            err(given[1], "Give exactly one of size, qty or valueQty.")
        elif not given and not data.get("close_order"):
            err("size", "Give exactly one of size, qty or valueQty.")
        if data.get("size") is not None and data["size"] != data["size"].to_integral_value():
            err("size", "Futures sizes are whole lots.")
        if data.get("visible_size") is not None and data["visible_size"] != data["visible_size"].to_integral_value():
            err("visible_size", "The visible size of a futures order is in whole lots.")
        if data.get("leverage") is None and not data.get("close_order"):
            mode = data.get("margin_mode") or "ISOLATED"
            err("leverage", "Isolated margin needs a leverage." if mode == "ISOLATED" else "A futures order needs a leverage.")
        if tif and tif not in FUTURES_TIME_IN_FORCE:
            err("time_in_force", "Futures orders take GTC or IOC only.")
        if tif and typ != Order.Type.LIMIT:
            err("time_in_force", "Time in force applies to limit orders only.")
        if data.get("cancel_after") is not None:
            err("cancel_after", "Cancel after is a spot (GTT) parameter.")
        if data.get("stp") and data["stp"] not in FUTURES_STP:
            err("stp", "Futures self-trade prevention is CN, CO or CB (DC is spot only).")
        if typ != Order.Type.LIMIT:
            for name, label in (("post_only", "Post-only"), ("hidden", "Hidden"), ("iceberg", "Iceberg")):
                if data.get(name):
                    err(name, f"{label} applies to limit orders only.")
        stop, stop_price, stop_type = data.get("stop"), data.get("stop_price"), data.get("stop_price_type")
        if stop or stop_price is not None or stop_type:
            if not stop:
                err("stop", "A stop price needs the stop direction (up or down).")
            if stop_price is None and "stop_price" not in self.errors:
                err("stop_price", "A stop order needs a stop price.")
            if not stop_type:
                err("stop_price_type", "A stop order needs a stop price type (TP, MP or IP).")

    def _problem(self, field: str, message: str) -> None:
        if field in self.fields and message not in (self.errors.get(field) or []):
            self.add_error(field, message)

    def _add_service_error(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                for error in errors:
                    self.add_error(None if field == "__all__" or field not in self.fields else field,
                                   " ".join(error.messages))
        else:
            for message in exc.messages:
                self.add_error(None, message)

    def _order(self, data) -> Order:
        key, connection = data.get("api_key"), data.get("fast_api_connection")
        fields = {name: data.get(name) for name in (
            "market", "symbol", "type", "price", "size", "funds", "qty", "value_qty", "cancel_after",
            "visible_size", "leverage", "stop_price")}
        text = {name: data.get(name) or "" for name in (
            "side", "time_in_force", "stp", "remark", "margin_mode", "stop", "stop_price_type")}
        flags = {name: bool(data.get(name)) for name in (
            "post_only", "hidden", "iceberg", "reduce_only", "close_order", "force_hold")}
        order = Order(api_key=key, sub_account=key.sub_account if key else None, fast_api_connection=connection,
                      **fields, **text, **flags)
        order.symbol = order.symbol.strip().upper()
        if data.get("client_oid"):
            order.client_oid = data["client_oid"]
        return order

    def order_params(self) -> dict:
        """The parameters for `order_place`, from a valid form."""
        assert self.order is not None
        from trading.services.orders import ORDER_FIELDS

        return {name: getattr(self.order, name) for name in ORDER_FIELDS}


class VerifyForm(StaffForm):
    """Which orders to verify now: the ticked ones on a list page."""

    orders = forms.ModelMultipleChoiceField(queryset=Order.objects.all(), widget=forms.MultipleHiddenInput)


class BrokerVerifyForm(StaffForm):
    uid = forms.CharField(max_length=32, label="Sub-account UID",
                          help_text="A sub-account with an active key whose secret is stored here.")
    market = forms.ChoiceField(choices=Order.Market.choices)
    symbol = forms.CharField(max_length=30, required=False,
                             help_text="Empty: BTC-USDT for spot, XBTUSDTM for futures.")
    price = decimal_field(help_text="Far below the market, so that the post-only buy rests. Empty: 1000.")
    size = decimal_field(help_text="Empty: 0.001 (spot) or 1 lot (futures).")


class OrderFilterForm(StaffForm):
    verification = forms.ChoiceField(choices=[("", "Any")] + Order.Verification.choices, required=False,
                                     label="Broker tag")
    market = forms.ChoiceField(choices=[("", "Any")] + Order.Market.choices, required=False)
    state = forms.ChoiceField(choices=[("", "Any")] + Order.State.choices, required=False)
    symbol = forms.CharField(max_length=30, required=False)
    sub_account = forms.CharField(max_length=32, required=False, label="Sub-account UID")
    customer = forms.CharField(max_length=64, required=False, label="Connected account",
                               help_text="The customer reference of a Fast API connected account.")
    created_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
