from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from brokeroffice import flower, preferences, search, views

admin.site.site_header = "Broker back-office administration"
admin.site.site_title = "Broker back-office"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("search/", search.search, name="search"),
    path("me/", preferences.preferences, name="preferences"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/selftest/", views.queue_selftest_start, name="queue-selftest"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:job_id>/status/", views.job_status, name="job-status"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("flower/", flower.flower_proxy, {"path": ""}, name="flower"),
    path("flower/<path:path>", flower.flower_proxy),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls", namespace="accounts")),
    path("rebates/", include("rebates.urls", namespace="rebates")),
    path("orders/", include("trading.urls", namespace="trading")),
]
