"""The Django project of the broker back-office, and the pieces every app shares."""
from .celery import app as celery_app

__all__ = ("celery_app",)
