"""Rebate downloads cut at random points, and files that arrive truncated, through a real worker: afterwards
the records of every day always equal the last complete file of that day (issue 10, "Rebates").

Each round changes what KuCoin (the sandbox) would put in the files, so that every file differs from the one
before, then pulls some days again while the file server fails at random: connections dropped before or
after the answer, 503s, bodies cut at a random byte (the full Content-Length announced, fewer bytes sent,
like a connection lost mid-transfer) and bodies truncated with a matching length (the sandbox's `malformed`
fault; a file that does not read after its download is fetched again). A round's file is either stored whole
and ingested, or fails and changes nothing; in the last round every file arrives truncated, so that it fails."""
from __future__ import annotations

import hashlib
import random
import socket
from collections import defaultdict
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from kucoin.rebate_file import read_rebate_file
from rebates.models import RebateFile, RebateRecord
from rebates.services import rebate_sync_request
from rebates.tests.sandbox_state import days
from rebates.tests.test_ingest_paths import expected_totals, stored_totals

pytestmark = pytest.mark.worker

ROUNDS = 8
SEED = 20261124
SANDBOX_TYPE = {"spot": "SPOT", "futures": "FUTURES"}


@pytest.fixture
def cut_bodies(monkeypatch):
    """Makes the sandbox's file server (threads of this process) cut some file bodies at a random byte:
    the head announces the whole length, then the connection closes early. Returns the rng's setter."""
    from sandbox import server

    original = server._Handler.do_GET
    state = {"rng": random.Random(SEED), "probability": 0.0, "cut": 0}

    def do_get(self):
        if not self.path.startswith("/_files/") or state["rng"].random() >= state["probability"]:
            return original(self)
        out = self.server.app.handle(self.server.family, "GET", self.path, {k.lower(): v for k, v in self.headers.items()},
                                     b"", self.client_address[0])
        if out.drop or out.status != 200 or len(out.body) < 2:
            return original(self)  # nothing to cut: answer normally (the request is asked again)
        keep = state["rng"].randrange(1, len(out.body))
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {len(out.body)}\r\n\r\n").encode()
        self.wfile.write(head + out.body[:keep])
        self.wfile.flush()
        self.close_connection = True
        state["cut"] += 1
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    monkeypatch.setattr(server._Handler, "do_GET", do_get)
    return state


def change_ledger(sandbox, chosen_days, rng: random.Random) -> None:
    """What KuCoin would now report for those days differs: amounts move, a line goes or comes."""
    ledger = sandbox.world.section("rebates")
    wanted = {d.isoformat() for d in chosen_days}
    with sandbox.world.lock:
        keys = sorted(k for k in ledger.rows if k[0] in wanted)
        for key in keys:
            row = ledger.rows[key]
            row["rebateAmount"] += Decimal(rng.randrange(1, 10_000)) / Decimal(10**8)
        if keys and rng.random() < 0.3:
            del ledger.rows[rng.choice(keys)]


def complete_file(sandbox, rebate_file: RebateFile) -> str:
    """The whole file KuCoin (the sandbox) wrote for that link."""
    name = urlsplit(rebate_file.url).path.rsplit("/", 1)[-1]
    return sandbox.world.section("rebates").files[name]["csv"]


def expected_records(sandbox, history) -> dict[tuple, list[tuple]]:
    """(day, trade type) → the records of the last file ingested whole for that day (by parse time)."""
    last: dict[tuple, RebateFile] = {}
    for f in RebateFile.objects.filter(state=RebateFile.State.DONE).order_by("parsed_at", "pk"):
        for day in history:
            if f.begin <= day <= f.end:
                last[(day, f.trade_type)] = f
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for (day, trade_type), f in last.items():
        for row in read_rebate_file(complete_file(sandbox, f).encode().splitlines(keepends=True)):
            if row.date == day:
                out[(day, trade_type)].append((f.pk, row.line, row.uid, row.rebate_currency, row.rebate_amount))
    return {k: sorted(v) for k, v in out.items()}


def stored_records() -> dict[tuple, list[tuple]]:
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for day, trade_type, file_id, line, uid, currency, amount in RebateRecord.objects.values_list(
            "date", "trade_type", "file_id", "line", "uid", "rebate_currency", "rebate_amount"):
        out[(day, trade_type)].append((file_id, line, uid, currency, amount))
    return {k: sorted(v) for k, v in out.items()}


def test_records_always_equal_the_last_complete_file_of_each_day(kucoin_worker, sandbox, finished, cut_bodies):
    rng = random.Random(SEED)
    history = days(sandbox.dump())[-4:]
    job = finished(rebate_sync_request(begin=history[0], end=history[-1], trade_types=["spot", "futures"]))
    assert job.state == "succeeded", job.error

    sandbox.set_fault("drop_before", probability=0.15, path="/_files/")
    sandbox.set_fault("drop_after", probability=0.15, path="/_files/")
    sandbox.set_fault("http_503", probability=0.1, path="/_files/")
    sandbox.set_fault("malformed", probability=0.15, path="/_files/")
    cut_bodies["probability"] = 0.3
    outcomes = []
    for round_number in range(ROUNDS):
        first = rng.randrange(len(history))
        chosen = history[first:first + rng.randrange(1, 3)]
        trade_type = rng.choice(["spot", "futures"])
        change_ledger(sandbox, chosen, rng)
        if round_number == ROUNDS - 1:
            sandbox.set_fault("malformed", path="/_files/")  # every download: the round fails, changing nothing
        job = finished(rebate_sync_request(begin=chosen[0], end=chosen[-1], trade_types=[trade_type]), timeout=60)
        outcomes.append(job.state)
        context = f"round {round_number} (seed {SEED}), {trade_type} {chosen[0]}..{chosen[-1]}: {job.state} {job.error}"
        assert stored_records() == expected_records(sandbox, history), context
        assert stored_totals() == expected_totals(), context
        for f in RebateFile.objects.filter(state=RebateFile.State.DONE):  # no cut file was ever taken as whole
            stored = f.content.open("rb").read()
            f.content.close()
            assert hashlib.sha256(stored).hexdigest() == f.sha256 == hashlib.sha256(
                complete_file(sandbox, f).encode()).hexdigest(), context
    # the faults did happen, and some pulls still made it through them
    assert cut_bodies["cut"] > 0 and "succeeded" in outcomes and "failed" in outcomes, outcomes
    failed = RebateFile.objects.filter(state=RebateFile.State.FAILED)
    assert failed.exists() and all(f.error for f in failed)
