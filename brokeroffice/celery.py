"""The Celery application. Configuration comes from Django settings (the CELERY_ names)."""
import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokeroffice.settings")

app = Celery("brokeroffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def make_embedded_queue_folder(sender: Celery, **kwargs) -> None:
    # kombu's filesystem transport expects its folder to exist; what a dead publisher left half-written goes.
    options = sender.conf.broker_transport_options or {}
    folder = options.get("data_folder_in")
    if sender.conf.broker_url.startswith("filesystem") and folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        from brokeroffice.queue_transport import sweep_abandoned_partials

        sweep_abandoned_partials(folder)
