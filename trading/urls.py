from django.urls import path

from trading import views

app_name = "trading"

urlpatterns = [
    path("", views.order_list, name="order-list"),
    path("new/", views.order_create, name="order-create"),
    path("verify/", views.orders_verify_view, name="orders-verify"),
    path("sync/", views.orders_sync_view, name="orders-sync"),
    path("verification/", views.verification, name="verification"),
    path("verification/recount/", views.tag_share_refresh_view, name="tag-share-refresh"),
    path("broker-check/", views.broker_verify_view, name="broker-verify"),
    path("<int:pk>/", views.order_detail, name="order-detail"),
    path("<int:pk>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("<int:pk>/verify/", views.order_verify_view, name="order-verify"),
    path("<int:pk>/sync/", views.order_sync_view, name="order-sync"),
]
