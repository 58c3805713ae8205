"""The CLI and the daily schedule."""
import io

import pytest
from django.core.management import CommandError, call_command

from rebates.models import RebateRecord
from rebates.tests.sandbox_state import days, earned


def test_the_daily_schedule_exists_at_the_configured_hour(db):
    import json

    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Pull yesterday's rebate files")
    assert task.task == "brokeroffice.scheduled_job"
    assert json.loads(task.args)[0] == "rebates.sync_yesterday"
    assert task.crontab.hour == "4" and str(task.crontab.timezone) == "UTC"


@pytest.mark.django_db(transaction=True)
def test_the_command_pulls_a_range_and_prints_its_progress(sandbox, sandbox_settings):
    dump = sandbox.dump()
    history = days(dump)
    out = io.StringIO()
    call_command("rebates_sync", "--begin", f"{history[0]:%Y%m%d}", "--end", f"{history[-1]:%Y%m%d}",
                 "--trade-type", "spot", stdout=out)
    text = out.getvalue()
    assert "1 rebate file pulled" in text and "records" in text
    got = {}
    for d, uid, t, c, a in RebateRecord.objects.values_list("date", "uid", "trade_type", "rebate_currency", "rebate_amount"):
        got[(d, uid, t, c)] = got.get((d, uid, t, c), 0) + a
    assert got == {k: v for k, v in earned(dump).items() if k[2] == "spot"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("args, words", [
    (["--begin", "20240610", "--end", "20240601"], "before the first day"),
    (["--begin", "20240610", "--end", "20990101"], "finished days only"),
    (["--begin", "2024-06-10", "--end", "20240611"], "YYYYMMDD"),
])
def test_the_command_refuses_a_bad_range_in_words(args, words):
    with pytest.raises(CommandError, match=words):
        call_command("rebates_sync", *args, stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_with_the_reason_when_the_download_keeps_failing(sandbox, sandbox_settings):
    day = days(sandbox.dump())[-1]
    sandbox.set_fault("http_503", path="/_files/")
    with pytest.raises(CommandError, match="503"):
        call_command("rebates_sync", "--begin", f"{day:%Y%m%d}", "--end", f"{day:%Y%m%d}", "--trade-type", "futures",
                     stdout=io.StringIO())
    assert not RebateRecord.objects.exists()


def test_a_failing_command_exits_non_zero():
    import os
    import subprocess
    import sys

    day = "20990101"
    result = subprocess.run([sys.executable, "manage.py", "rebates_sync", "--begin", day, "--end", day],
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            capture_output=True, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "brokeroffice.settings_test"}, timeout=120)
    assert result.returncode != 0
    assert "finished days only" in result.stderr
