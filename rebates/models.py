"""Rebate files pulled from KuCoin, and the records read from them.

Invariant: for one trade type and one day, every record comes from one file, the last one ingested whose
days cover that day (ingesting a file replaces the records of all its days in one transaction).
"""
from __future__ import annotations

from django.db import models

AMOUNT = {"max_digits": 36, "decimal_places": 18}


class TradeType(models.TextChoices):
    SPOT = "spot", "Spot"
    FUTURES = "futures", "Futures"


class RebateFile(models.Model):
    """One pull of KuCoin's rebate download for some days and one trade type, with the file's bytes."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        DOWNLOADING = "downloading", "Downloading"
        PARSING = "parsing", "Parsing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    trade_type = models.CharField(max_length=10, choices=TradeType.choices)
    begin = models.DateField(help_text="First day of the file (KuCoin's begin, inclusive).")
    end = models.DateField(help_text="Last day of the file (KuCoin's end, inclusive).")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    url = models.TextField(blank=True, help_text="The download link KuCoin answered; valid for one day.")
    url_asked_at = models.DateTimeField(null=True, blank=True, verbose_name="link asked at")
    fetched_at = models.DateTimeField(null=True, blank=True)
    content = models.FileField(upload_to="rebates/", blank=True, max_length=300, help_text="The file's bytes as downloaded.")
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes.")
    sha256 = models.CharField(max_length=64, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True, help_text="Records read from the file.")
    parsed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_line = models.PositiveIntegerField(null=True, blank=True, help_text="Line of the file the error is on.")
    attempts = models.PositiveIntegerField(default=0)
    job = models.ForeignKey("brokeroffice.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_label = models.CharField(max_length=150, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["trade_type", "begin", "end"], name="rebatefile_days"),
            models.Index(fields=["state", "-id"], name="rebatefile_state_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("begin")), name="rebatefile_end_after_begin"),
        ]

    def __str__(self) -> str:
        days = self.begin.isoformat() if self.begin == self.end else f"{self.begin} to {self.end}"
        return f"{self.get_trade_type_display()} rebates {days}"

    @property
    def has_content(self) -> bool:
        return bool(self.content)


class RebateRecord(models.Model):
    """One line of a rebate file, typed. Unknown columns are kept as text in `extra`."""

    # No database constraint: a per-row foreign-key check would double the cost of ingesting a file (see
    # bench/). Files are never deleted by the app; Django still cascades if one is.
    file = models.ForeignKey(RebateFile, on_delete=models.CASCADE, related_name="records", db_constraint=False,
                             db_index=False)  # the (file, line) unique index serves
    line = models.PositiveIntegerField(help_text="Line in the file (the header is line 1).")
    date = models.DateField()
    trade_type = models.CharField(max_length=10, choices=TradeType.choices)
    uid = models.CharField(max_length=32, verbose_name="UID")
    # No database constraint: sub-accounts come and go by sync; the uid is the truth, the link a convenience.
    sub_account = models.ForeignKey("accounts.SubAccount", null=True, blank=True, on_delete=models.DO_NOTHING,
                                    db_constraint=False, db_index=False, related_name="+")
    fee_currency = models.CharField(max_length=20, blank=True, null=True)
    volume = models.DecimalField(null=True, blank=True, **AMOUNT)
    fee = models.DecimalField(null=True, blank=True, **AMOUNT)
    rebate_currency = models.CharField(max_length=20)
    rebate_amount = models.DecimalField(**AMOUNT)
    extra = models.JSONField(default=dict, blank=True, help_text="Columns the mapping does not know, as text.")

    class Meta:
        ordering = ["-date", "uid"]
        indexes = [
            # One index beside the key and (file, line): every index costs the ingest of a million lines about a
            # second (bench/bench_rebate_ingest.py). By day, read without touching the table (index-only): the
            # replaced days, the partial months of a report, the reconciliation; and one sub-account over days
            # (selectors look up (day, uid) for each day of the range: one index descent per day).
            models.Index(fields=["date", "uid", "trade_type", "rebate_currency", "rebate_amount"], name="rebaterecord_day"),
        ]
        constraints = [models.UniqueConstraint(fields=["file", "line"], name="rebaterecord_file_line")]

    def __str__(self) -> str:
        return f"{self.date} {self.uid} {self.rebate_amount} {self.rebate_currency}"


class RebateDayTotal(models.Model):
    """Sum of the records of one day, trade type and currency: the period reports read this, not the records.
    Rewritten with the records, in the same transaction."""

    date = models.DateField()
    trade_type = models.CharField(max_length=10, choices=TradeType.choices)
    rebate_currency = models.CharField(max_length=20)
    amount = models.DecimalField(**AMOUNT)
    records = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["date", "trade_type", "rebate_currency"], name="rebatedaytotal_key")]


class UidPeriodTotal(models.Model):
    """Sum of the records of one period (so far), uid, trade type and currency. Kept with the records, in the
    same transaction (on PostgreSQL by adding what a file brings and subtracting what it replaces; elsewhere
    recomputed from the records)."""

    uid = models.CharField(max_length=32, verbose_name="UID")
    trade_type = models.CharField(max_length=10, choices=TradeType.choices)
    rebate_currency = models.CharField(max_length=20)
    amount = models.DecimalField(**AMOUNT)
    records = models.PositiveIntegerField()

    class Meta:
        abstract = True


def _period_key(period: str, name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=[period, "trade_type", "uid", "rebate_currency"], name=name)


class RebateMonthTotal(UidPeriodTotal):
    """Per month: the sub-account reports read whole months here."""

    month = models.DateField(help_text="First day of the month.")

    class Meta:
        constraints = [_period_key("month", "rebatemonthtotal_key")]


class RebateYearTotal(UidPeriodTotal):
    """Per calendar year: a year-long report over every sub-account reads one row per uid here instead of
    twelve month rows."""

    year = models.DateField(help_text="First day of the year.")

    class Meta:
        constraints = [_period_key("year", "rebateyeartotal_key")]


class RebateWeekTotal(UidPeriodTotal):
    """Per week (Monday to Sunday): the part of a range that is not whole months (a year from any day starts
    and ends inside months) is read a week at a time here, and only the few days left over from the records."""

    week = models.DateField(help_text="Monday of the week.")

    class Meta:
        constraints = [_period_key("week", "rebateweektotal_key")]
