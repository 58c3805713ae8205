"""Finding secrets where they must never be: database text columns (raw, as stored), logs, rendered pages and
task results. The secrets are the ones the tests themselves made: every value stored in an encrypted field
(decrypted), every key secret and passphrase, broker key and OAuth token the sandbox holds, and the Django
and encryption keys of the run.

`RecordPages` is a middleware that appends every page the test server answers to a folder named by
`SECURITY_PAGES_DIR`; with it in settings_test's MIDDLEWARE (see tests/SECURITY-RELIABILITY.md), the pages of
every app's tests, Playwright's included, are scanned at the end of the session.
"""
from __future__ import annotations

import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

MIN_SECRET_LENGTH = 8  # shorter values would match by chance
SECRET_NAMES = re.compile(r"secret|passphrase|broker_?key|token|^code$|password", re.I)
# Values that are not secrets though a secret-named field may hold them (flags, placeholders).
NOT_SECRETS = {"true", "false", "none", "null", "********"}


@dataclass(frozen=True)
class Leak:
    where: str
    what: str  # which secret, by its origin (never the value itself)

    def __str__(self) -> str:
        return f"{self.what} found in {self.where}"


def _wanted(value) -> bool:
    return isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value.lower() not in NOT_SECRETS


def secrets_in_database() -> dict[str, str]:
    """value → origin, for every non-empty encrypted field of every row (decrypted through the model)."""
    from django.apps import apps

    from brokeroffice.fields import DecryptionError, EncryptedTextField

    found: dict[str, str] = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        try:
            rows = list(model._default_manager.values_list("pk", *fields))
        except DecryptionError:
            continue  # a test that stored a value with a key it then dropped: nothing readable to look for
        for pk, *values in rows:
            for name, value in zip(fields, values):
                if _wanted(value):
                    found.setdefault(str(value), f"{model._meta.label}.{name} of row {pk}")
    return found


def secrets_in_sandbox(dump: dict) -> dict[str, str]:
    """value → origin, for every secret-named string in the sandbox's state (keys, broker keys, OAuth)."""
    found: dict[str, str] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and SECRET_NAMES.search(str(key)) and _wanted(value):
                    found.setdefault(value, f"sandbox {path}.{key}")
                else:
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path + "[]")

    walk(dump, "state")
    return found


def secrets_of_the_run() -> dict[str, str]:
    from django.conf import settings

    found = {settings.SECRET_KEY: "SECRET_KEY"}
    for n, key in enumerate(settings.FIELD_ENCRYPTION_KEYS):
        found[key] = f"FIELD_ENCRYPTION_KEYS[{n}]"
    for name in ("KUCOIN_API_SECRET", "KUCOIN_API_PASSPHRASE", "KUCOIN_BROKER_KEY", "KUCOIN_FUTURES_BROKER_KEY"):
        value = getattr(settings, name, "") or ""
        if _wanted(value):
            found[value] = name
    return found


def _variants(value: str) -> Iterator[str]:
    """The forms a secret takes in HTML and JSON text."""
    from html import escape

    yield value
    escaped = escape(value, quote=True)
    if escaped != value:
        yield escaped
    json_escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("/", "\\/")
    if json_escaped != value:
        yield json_escaped


class SecretScanner:
    def __init__(self, secrets: dict[str, str]):
        self.secrets = {value: origin for value, origin in secrets.items() if _wanted(value)}
        self._forms = [(variant, origin) for value, origin in self.secrets.items() for variant in _variants(value)]

    def __len__(self) -> int:
        return len(self.secrets)

    def scan(self, text: str, where: str) -> list[Leak]:
        if not text:
            return []
        return [Leak(where, origin) for variant, origin in self._forms if variant in text]

    def scan_many(self, items: Iterable[tuple[str, str]]) -> list[Leak]:
        leaks: list[Leak] = []
        for where, text in items:
            leaks += self.scan(text, where)
        return leaks


def raw_text_columns() -> Iterator[tuple[str, str]]:
    """(table.column row n, value) for every text-like column of every table, read with SQL as stored."""
    from django.db import connection

    text_types = ("char", "text", "json", "clob", "varchar", "string")
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = []
            for column in connection.introspection.get_table_description(cursor, table):
                type_name = str(column.type_code).lower()
                if connection.vendor == "postgresql":
                    type_name = connection.introspection.data_types_reverse.get(column.type_code, "").lower()
                if any(t in type_name for t in text_types):
                    columns.append(column.name)
            if not columns:
                continue
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from introspection)
            for n, row in enumerate(cursor.fetchall()):
                for column, value in zip(columns, row):
                    if value is not None:
                        yield f"{table}.{column} (row {n})", value if isinstance(value, str) else str(value)


def pages_dir() -> Path | None:
    folder = os.environ.get("SECURITY_PAGES_DIR")
    return Path(folder) if folder else None


SHOWN_ONCE = re.compile(r'<div class="secret-once">(.*?)</div>', re.S)


def without_shown_once(body: str) -> tuple[str, list[str]]:
    """The page without the values the key-creation page shows its creator once (by design), and those values."""
    shown = SHOWN_ONCE.findall(body)
    return SHOWN_ONCE.sub('<div class="secret-once"></div>', body), shown


def recorded_pages() -> Iterator[tuple[str, str]]:
    """(where, body) of every recorded page, with the shown-once values cut out; a value shown once on the same
    key's page twice in one login session is kept the second time, so that it is found. (Not across sessions
    or pages: the sandbox is reset to one seed for every test, and SQLite numbers rows from 1 again, so keys of
    different tests can have the same made-up secret and the same page.)"""
    folder = pages_dir()
    if folder is None or not folder.is_dir():
        return
    seen_once: set[tuple[str, str]] = set()
    for path in sorted(folder.glob("*.txt"), key=lambda p: p.stat().st_mtime_ns):
        text = path.read_text(encoding="utf-8", errors="replace")
        where, _, body = text.partition("\n")
        where, _, session = where.partition("\t")
        page = (session, where.split(" ")[1].split("?")[0] if " " in where else where)
        stripped, shown = without_shown_once(body)
        again = [value for value in shown if (page, value) in seen_once]
        seen_once.update((page, value) for value in shown)
        yield f"page {where}", stripped + "\n".join(again)


class RecordPages:
    """Middleware: writes each text answer (HTML, JSON, CSV, plain) to SECURITY_PAGES_DIR, first line the URL.

    The page that reveals a new key's secret to its creator once (by design) is scanned without that value
    (see `recorded_pages`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        folder = pages_dir()
        if folder is None or getattr(response, "streaming", False):
            return response
        content_type = response.get("Content-Type", "")
        if not any(kind in content_type for kind in ("html", "json", "text", "csv")):
            return response
        folder.mkdir(parents=True, exist_ok=True)
        name = folder / f"{os.getpid()}-{uuid.uuid4().hex}.txt"
        body = response.content.decode(response.charset or "utf-8", errors="replace")
        session = getattr(getattr(request, "session", None), "session_key", None) or "-"
        name.write_text(f"{request.method} {request.get_full_path()} -> {response.status_code}\t{session}\n{body}",
                        encoding="utf-8")
        return response


# -- the suite-wide scan (tests/security/plugin.py, enabled with SECURITY_SCAN=1) -----------------------------------

def logs_dir() -> Path | None:
    folder = os.environ.get("SECURITY_LOGS_DIR")
    return Path(folder) if folder else None


class RecordLogs(logging.Handler):
    """A logging handler (settings_test's LOGGING, when SECURITY_SCAN is set) that appends every record of the
    process, web or worker, with its traceback, to SECURITY_LOGS_DIR/<pid>.log."""

    def emit(self, record: logging.LogRecord) -> None:
        folder = logs_dir()
        if folder is None or record.name.startswith("sandbox"):  # the sandbox plays KuCoin, not us
            return
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{os.getpid()}.log", "a", encoding="utf-8") as out:
                out.write(f"{record.name}: {text}\n")
        except Exception:  # noqa: BLE001 - a log handler never breaks the code that logs
            self.handleError(record)


def recorded_logs() -> Iterator[tuple[str, str]]:
    folder = logs_dir()
    if folder is None or not folder.is_dir():
        return
    for path in sorted(folder.glob("*.log")):
        yield f"log of process {path.stem}", path.read_text(encoding="utf-8", errors="replace")


class SuiteScan:
    """Secrets seen by any test (kept in memory only, never written), leaks found in the database at the end
    of each test (while its rows exist), then pages and logs scanned once at the end of the session."""

    def __init__(self):
        self.secrets: dict[str, str] = {}
        self.leaks: list[str] = []
        self.tests_scanned = 0

    def after_test(self, nodeid: str, sandbox=None) -> None:
        secrets = {**secrets_of_the_run(), **secrets_in_database()}
        if sandbox is not None:
            try:
                secrets.update(secrets_in_sandbox(sandbox.dump()))
            except Exception:  # noqa: BLE001 - a sandbox a test stopped has nothing more to say
                pass
        self.secrets.update(secrets)
        self.tests_scanned += 1
        for leak in SecretScanner(secrets).scan_many(raw_text_columns()):
            self.leaks.append(f"{nodeid}: {leak}")

    def finish(self) -> list[str]:
        scanner = SecretScanner(self.secrets)
        found = list(self.leaks)
        found += [str(leak) for leak in scanner.scan_many(recorded_pages())]
        found += [str(leak) for leak in scanner.scan_many(recorded_logs())]
        return found
