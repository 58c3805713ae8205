"""Bulk writes that the ORM makes too slowly at broker scale: one statement per batch, however many rows."""
from __future__ import annotations

from datetime import datetime

from django.db import connection

from accounts.models import SubAccount

_UPSERT_COLUMNS = ("account_name", "uid", "level", "kucoin_created_at", "state", "synced_at",
                   "created_at", "updated_at", "error_code", "error_message")
_UPDATED_ON_CONFLICT = ("account_name", "level", "kucoin_created_at", "synced_at", "updated_at")


def upsert_sub_accounts(items: list, synced_at: datetime) -> None:
    """Inserts KuCoin's sub-accounts, or refreshes the ones known by uid (their state is left alone)."""
    if not items:
        return
    table = SubAccount._meta.db_table
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED_ON_CONFLICT)
    columns = ", ".join(_UPSERT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY the page into a temporary table, then one INSERT … SELECT: the fastest way in, and a
            # mirror of KuCoin need not wait for the disk (a crash loses at most what the next sync restores).
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sync_sub_account (account_name text, uid text, level smallint, "
                "kucoin_created_at timestamptz) ON COMMIT DELETE ROWS"
            )
            with cursor.cursor.copy("COPY sync_sub_account FROM STDIN") as copy:
                for i in items:
                    copy.write_row((i.account_name, i.uid, i.level, i.created_at))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT account_name, uid, level, kucoin_created_at, %s, %s, %s, %s, '', '' "
                f"FROM sync_sub_account ON CONFLICT (uid) DO UPDATE SET {updates}",
                [SubAccount.State.ACTIVE, synced_at, synced_at, synced_at],
            )
        else:
            rows = [(i.account_name, i.uid, i.level, i.created_at, SubAccount.State.ACTIVE, synced_at, synced_at,
                     synced_at, "", "") for i in items]
            marks = ", ".join(["%s"] * len(_UPSERT_COLUMNS))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT (uid) DO UPDATE SET {updates}", rows
            )
