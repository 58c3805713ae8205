from django.urls import path

from rebates import views

app_name = "rebates"

urlpatterns = [
    path("", views.report, name="report"),
    path("sub-accounts/", views.by_sub_account, name="by-sub-account"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("export/<slug:report_name>.csv", views.export, name="export"),
    path("files/", views.file_list, name="file-list"),
    path("files/sync/", views.sync, name="sync"),
    path("files/repull-day/", views.day_repull, name="day-repull"),
    path("files/<int:pk>/", views.file_detail, name="file-detail"),
    path("files/<int:pk>/reparse/", views.file_reparse, name="file-reparse"),
]
