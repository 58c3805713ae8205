"""Data at broker scale, made inside the database (generate_series on PostgreSQL; batched inserts on SQLite
for small smoke runs), never through the ORM row by row. Made-up values only."""
from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone


def _table(model) -> str:
    return model._meta.db_table


def sub_accounts(n: int) -> None:
    from accounts.models import SubAccount

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table(SubAccount)} WHERE account_name LIKE 'gen-%%'")
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {_table(SubAccount)} (account_name, uid, level, state, kucoin_created_at, created_at, "
                "updated_at, error_code, error_message) "
                "SELECT 'gen-' || lpad(g::text, 8, '0'), (500000000 + g)::text, g %% 5, "
                "CASE WHEN g %% 50 = 0 THEN 'retired' ELSE 'active' END, %s - (g || ' minutes')::interval, %s, %s, '', '' "
                "FROM generate_series(1, %s) AS g",
                [now, now, now, n],
            )
        else:
            rows = [(f"gen-{g:08d}", str(500000000 + g), g % 5, "retired" if g % 50 == 0 else "active", now, now, now, "", "")
                    for g in range(1, n + 1)]
            cursor.executemany(
                f"INSERT INTO {_table(SubAccount)} (account_name, uid, level, state, kucoin_created_at, created_at, "
                "updated_at, error_code, error_message) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)


def kucoin_calls(n: int) -> None:
    from brokeroffice.models import KuCoinCall

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table(KuCoinCall)}")
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {_table(KuCoinCall)} (at, actor, credential, method, family, path, weight, http_status, "
                "code, latency_ms, error) "
                "SELECT %s - (g || ' seconds')::interval, CASE WHEN g %% 3 = 0 THEN 'schedule: Sync deposits' ELSE 'operator' END, "
                "CASE WHEN g %% 4 = 0 THEN 'apikey:' || (g %% 997) ELSE 'broker' END, "
                "CASE WHEN g %% 5 = 0 THEN 'POST' ELSE 'GET' END, CASE WHEN g %% 2 = 0 THEN 'broker' ELSE 'spot' END, "
                "'/api/v1/broker/nd/account', 2, CASE WHEN g %% 200 = 0 THEN 429 ELSE 200 END, "
                "CASE WHEN g %% 200 = 0 THEN '429000' ELSE '200000' END, g %% 300, '' "
                "FROM generate_series(1, %s) AS g",
                [now, n],
            )
        else:
            rows = [(now, "operator", "broker", "GET", "broker", "/api/v1/broker/nd/account", 2, 200,
                     "429000" if g % 200 == 0 else "200000", g % 300, "") for g in range(n)]
            cursor.executemany(
                f"INSERT INTO {_table(KuCoinCall)} (at, actor, credential, method, family, path, weight, http_status, "
                "code, latency_ms, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_table(KuCoinCall)}")
