from functools import wraps

from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from brokeroffice.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("label", "state", "progress_done", "progress_total", "requested_by_label", "created_at", "finished_at")
    list_filter = ("state", "kind")
    search_fields = ("label", "kind", "requested_by_label")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False


def _needs_change(action):
    """The action, open only to who may change the model (Django's admin checks `allowed_permissions`)."""
    @wraps(action)
    def guarded(model_admin, request, queryset):
        return action(model_admin, request, queryset)

    guarded.allowed_permissions = ("change",)
    return guarded


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(PeriodicTaskAdmin):
    """django-celery-beat's admin, whose actions (run now, enable, disable, toggle) ask only for the right to
    look: here they need the right to change a schedule, as editing one does (broker-admins)."""

    enable_tasks = _needs_change(PeriodicTaskAdmin.enable_tasks)
    disable_tasks = _needs_change(PeriodicTaskAdmin.disable_tasks)
    toggle_tasks = _needs_change(PeriodicTaskAdmin.toggle_tasks)
    run_tasks = _needs_change(PeriodicTaskAdmin.run_tasks)
