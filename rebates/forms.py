from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from rebates.models import TradeType
from rebates.selectors import PERIODS, ReportFilter
from rebates.services import rebate_range_check

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_REPORT_DAYS = 3660


class ReportFilterForm(forms.Form):
    begin = forms.DateField(label="From", widget=DATE_WIDGET, help_text="First day (UTC).")
    end = forms.DateField(label="To", widget=DATE_WIDGET, help_text="Last day, included.")
    sub_account = forms.CharField(label="Sub-account UID", required=False, max_length=32,
                                  help_text="Leave empty for all sub-accounts.")
    trade_type = forms.ChoiceField(label="Trade type", required=False,
                                   choices=[("", "Spot and futures"), *TradeType.choices])
    period = forms.ChoiceField(label="Per", required=False, choices=[(p, p.capitalize()) for p in PERIODS])

    def clean_sub_account(self):
        value = self.cleaned_data["sub_account"].strip()
        if value and not value.isdigit():
            raise ValidationError("A KuCoin UID is made of digits only.")
        return value

    def clean(self):
        data = super().clean()
        begin, end = data.get("begin"), data.get("end")
        if begin and end:
            if end < begin:
                self.add_error("end", "The last day is before the first day: swap them.")
            elif (end - begin).days >= MAX_REPORT_DAYS:
                self.add_error("end", f"Choose at most {MAX_REPORT_DAYS} days.")
        return data

    def report_filter(self) -> ReportFilter:
        d = self.cleaned_data
        return ReportFilter(begin=d["begin"], end=d["end"], uid=d.get("sub_account") or None,
                            trade_type=d.get("trade_type") or None)


class SyncForm(forms.Form):
    """A backfill (or a re-pull of some days): split into KuCoin's 6-month windows by the service."""

    begin = forms.DateField(label="First day", widget=DATE_WIDGET)
    end = forms.DateField(label="Last day", widget=DATE_WIDGET, help_text="Included; at the latest yesterday (UTC).")
    trade_type = forms.ChoiceField(label="Trade type", choices=[("both", "Spot and futures"), *TradeType.choices],
                                   initial="both")

    def clean(self):
        data = super().clean()
        begin, end = data.get("begin"), data.get("end")
        if begin and end:
            try:
                rebate_range_check(begin=begin, end=end)
            except ValidationError as exc:
                for error in exc.error_list:
                    self.add_error("end", error)
        return data
