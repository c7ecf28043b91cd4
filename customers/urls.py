from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("new/", views.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", views.CustomerDeleteView.as_view(), name="delete"),
    path("<int:pk>/anonymise/", views.CustomerAnonymiseView.as_view(), name="anonymise"),
    path("<int:pk>/restore/", views.CustomerRestoreView.as_view(), name="restore"),
    path("<int:pk>/reset-link/", views.SendPasswordResetView.as_view(), name="send_reset"),
    path("columns/", views.ColumnsView.as_view(), name="columns"),
    path("options/<slug:kind>/", views.OptionsView.as_view(), name="options"),
    path("views/new/", views.SavedViewCreateView.as_view(), name="view_create"),
    path("views/<int:pk>/", views.SavedViewOpenView.as_view(), name="view_open"),
    path("views/<int:pk>/delete/", views.SavedViewDeleteView.as_view(), name="view_delete"),
    path("bulk/status/", views.BulkStatusView.as_view(), name="bulk_status"),
    path("bulk/archive/", views.BulkArchiveView.as_view(), name="bulk_archive"),
    path("export/", views.ExportView.as_view(), name="export"),
    path("exports/", views.ExportListView.as_view(), name="exports"),
    path("exports/<int:pk>/", views.ExportDetailView.as_view(), name="export_detail"),
    path("exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export_download"),
    path("exports/<int:pk>/retry/", views.ExportRetryView.as_view(), name="export_retry"),
]

# Served to customers (not staff) from the emailed link.
public_urlpatterns = [
    path(
        "account/reset/<str:token>/",
        views.CustomerSetPasswordView.as_view(),
        name="reset_password",
    ),
]
