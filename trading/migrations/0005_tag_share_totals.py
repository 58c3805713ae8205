# The tagged share's totals per day and per account, kept with the counts (issue 6: the share pages read a page of
# accounts instead of grouping every account's days), and the index of the rebate reconciliation's tagged volume.
# The totals are filled from the counts already there; the schedule rewrites them at each count.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SHARE_DAYS = 14  # trading.selectors.SHARE_DAYS when this was written


def fill_totals(apps, schema_editor):
    from datetime import timedelta

    from django.utils import timezone

    now, today = timezone.now(), timezone.localdate()
    window = today - timedelta(days=SHARE_DAYS)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("INSERT INTO trading_tagshareday (day, tagged, untagged, unverified, computed_at) "
                       "SELECT day, SUM(tagged), SUM(untagged), SUM(unverified), MIN(computed_at) "
                       "FROM trading_tagshare GROUP BY day")
        cursor.execute(
            "INSERT INTO trading_tagshareaccount (sub_account_id, fast_api_connection_id, tagged, untagged, "
            "unverified, share_order, since, computed_at) "
            "SELECT sub_account_id, fast_api_connection_id, t, u, v, "
            "CASE WHEN t + u > 0 THEN ROUND(CAST(1000.0 * t / (t + u) AS numeric)) / 10.0 ELSE 101 END, %s, %s "
            "FROM (SELECT sub_account_id, fast_api_connection_id, SUM(tagged) AS t, SUM(untagged) AS u, "
            "SUM(unverified) AS v FROM trading_tagshare WHERE day > %s "
            "GROUP BY sub_account_id, fast_api_connection_id) AS per_account", [window, now, window])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_broker_withdrawals_schedule'),
        ('trading', '0004_orders_with_connected_accounts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='TagShareAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tagged', models.PositiveIntegerField(default=0)),
                ('untagged', models.PositiveIntegerField(default=0)),
                ('unverified', models.PositiveIntegerField(default=0)),
                ('share_order', models.FloatField()),
                ('since', models.DateField(help_text='The counts are of the days after this one.')),
                ('computed_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='TagShareDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(unique=True)),
                ('tagged', models.PositiveIntegerField(default=0)),
                ('untagged', models.PositiveIntegerField(default=0)),
                ('unverified', models.PositiveIntegerField(default=0)),
                ('computed_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['-day'],
            },
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('deal_funds__gt', 0), ('verification', 'tagged')), fields=['created_at'], include=('sub_account', 'fast_api_connection', 'deal_funds'), name='order_tagged_dealt_created'),
        ),
        migrations.AddIndex(
            model_name='tagshare',
            index=models.Index(fields=['day'], include=('tagged', 'untagged', 'unverified', 'computed_at'), name='tagshare_day_counts'),
        ),
        migrations.AddField(
            model_name='tagshareaccount',
            name='fast_api_connection',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.fastapiconnection'),
        ),
        migrations.AddField(
            model_name='tagshareaccount',
            name='sub_account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.subaccount'),
        ),
        migrations.AddIndex(
            model_name='tagshareaccount',
            index=models.Index(models.OrderBy(models.F('untagged'), descending=True), 'share_order', models.OrderBy(models.F('unverified'), descending=True), models.F('id'), name='tagshareaccount_worst'),
        ),
        migrations.AddConstraint(
            model_name='tagshareaccount',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('fast_api_connection__isnull', True), ('sub_account__isnull', False)), models.Q(('fast_api_connection__isnull', False), ('sub_account__isnull', True)), _connector='OR'), name='tagshareaccount_one_account'),
        ),
        migrations.RunPython(fill_totals, migrations.RunPython.noop),
    ]
