from django.contrib import admin

from accounts.models import BrokerProfile


@admin.register(BrokerProfile)
class BrokerProfileAdmin(admin.ModelAdmin):
    list_display = ("broker_name", "spot_partner", "futures_partner", "api_key", "key_version", "updated_at")
    fieldsets = (
        ("Broker identity", {"fields": ("broker_name", "spot_partner", "spot_broker_key", "futures_partner", "futures_broker_key")}),
        ("Broker account API key", {"fields": ("api_key", "api_secret", "api_passphrase", "key_version")}),
        ("Sub-accounts", {"fields": ("sub_account_prefix",)}),
    )
