# Orders signed with a Fast API connected account's key (issue 8), and tag shares per connected account.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_fastapi_schedule'),  # FastApiConnection
        ('trading', '0003_tag_share'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='tagshare',
            name='tagshare_unique_day_account',
        ),
        migrations.RemoveIndex(
            model_name='order',
            name='order_created_share',
        ),
        migrations.AddField(
            model_name='order',
            name='fast_api_connection',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='accounts.fastapiconnection', verbose_name='connected account'),
        ),
        migrations.AddField(
            model_name='tagshare',
            name='fast_api_connection',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.fastapiconnection'),
        ),
        migrations.AlterField(
            model_name='order',
            name='sub_account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='accounts.subaccount'),
        ),
        migrations.AlterField(
            model_name='tagshare',
            name='sub_account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.subaccount'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['fast_api_connection', '-id'], name='order_connection_id'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['created_at', 'sub_account', 'fast_api_connection', 'verification'], name='order_created_share_account'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('fast_api_connection__isnull', False), ('state__in', ['pending', 'unknown', 'open'])), fields=['fast_api_connection', 'symbol', 'state'], name='order_live_per_symbol_conn'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('fast_api_connection__isnull', True), ('sub_account__isnull', False)), models.Q(('api_key__isnull', True), ('fast_api_connection__isnull', False), ('sub_account__isnull', True)), _connector='OR'), name='order_one_key_source'),
        ),
        migrations.AddConstraint(
            model_name='tagshare',
            constraint=models.UniqueConstraint(condition=models.Q(('sub_account__isnull', False)), fields=('day', 'sub_account'), name='tagshare_unique_day_account'),
        ),
        migrations.AddConstraint(
            model_name='tagshare',
            constraint=models.UniqueConstraint(condition=models.Q(('fast_api_connection__isnull', False)), fields=('day', 'fast_api_connection'), name='tagshare_unique_day_connection'),
        ),
        migrations.AddConstraint(
            model_name='tagshare',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('fast_api_connection__isnull', True), ('sub_account__isnull', False)), models.Q(('fast_api_connection__isnull', False), ('sub_account__isnull', True)), _connector='OR'), name='tagshare_one_account'),
        ),
    ]
