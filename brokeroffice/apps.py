from django.apps import AppConfig


class BrokerOfficeConfig(AppConfig):
    name = "brokeroffice"
    verbose_name = "Back-office"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from brokeroffice import timezones  # noqa: F401  (connects the login signal)
        from brokeroffice.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="brokeroffice.sync_role_permissions")
