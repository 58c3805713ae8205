from django.contrib import admin

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
