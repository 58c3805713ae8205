"""Re-encrypts every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old one after it), run this command,
then remove the old key.
"""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from brokeroffice.fields import DecryptionError, encrypted_fields

BATCH_SIZE = 500


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        total = 0
        for model, fields in encrypted_fields():
            names = [field.name for field in fields]
            rows = 0
            pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(pks), BATCH_SIZE):
                try:
                    batch = self._rotate(model, names, pks[start : start + BATCH_SIZE])
                except DecryptionError as exc:
                    raise CommandError(
                        f"{exc} Nothing of this batch changed; the {total + rows} row(s) before it are re-encrypted "
                        "already. Put the key that opens it in FIELD_ENCRYPTION_KEYS and run the command again."
                    ) from exc
                rows += len(batch)
            self.stdout.write(f"{model._meta.label}: {rows} row(s), fields {', '.join(names)}")
            total += rows
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the secrets of {total} row(s) with the first key."))

    @staticmethod
    def _rotate(model, names: list[str], pks: list) -> list:
        with transaction.atomic():
            # Loading decrypts with whichever key opens a value; saving encrypts with the first.
            batch = list(model._default_manager.filter(pk__in=pks).select_for_update().only("pk", *names))
            model._default_manager.bulk_update(batch, names)
        return batch
