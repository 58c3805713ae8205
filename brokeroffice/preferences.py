"""The staff member's own settings page (today: the time zone pages show times in)."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone

from brokeroffice.models import StaffPreference
from brokeroffice.roles import VIEWER, role_required
from brokeroffice.timezones import SESSION_KEY, time_zone_names


class PreferenceForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label="Time zone", help_text="Pages show times in this zone; UTC is on hover.")

    class Meta:
        model = StaffPreference
        fields = ["time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name.replace("_", " ")) for name in time_zone_names()]


@role_required(VIEWER)
def preferences(request):
    preference = StaffPreference.objects.filter(user=request.user).first() or StaffPreference(user=request.user)
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session[SESSION_KEY] = form.instance.time_zone
        messages.success(request, f"Times are now shown in {form.instance.time_zone}.")
        return redirect("preferences")
    return render(request, "preferences.html", {"form": form, "now": timezone.now()})
