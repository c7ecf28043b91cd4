from django.urls import path

from console.views import (
    access_log,
    bulk,
    changes,
    customer,
    exports,
    lifecycle,
    listing,
    password,
    saved_views,
    schedules,
    subject_access,
)

app_name = "customers"

urlpatterns = [
    path("", listing.CustomerListView.as_view(), name="list"),
    path("new/", customer.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", customer.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", customer.CustomerUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", lifecycle.CustomerDeleteView.as_view(), name="delete"),
    path("<int:pk>/anonymise/", lifecycle.CustomerAnonymiseView.as_view(), name="anonymise"),
    path("<int:pk>/restore/", lifecycle.CustomerRestoreView.as_view(), name="restore"),
    path(
        "<int:pk>/personal-data/",
        subject_access.SubjectAccessView.as_view(),
        name="personal_data",
    ),
    path("<int:pk>/reset-link/", password.SendPasswordResetView.as_view(), name="send_reset"),
    path("columns/", listing.ColumnsView.as_view(), name="columns"),
    path("options/<slug:kind>/", listing.OptionsView.as_view(), name="options"),
    path("views/new/", saved_views.SavedViewCreateView.as_view(), name="view_create"),
    path("views/<int:pk>/", saved_views.SavedViewOpenView.as_view(), name="view_open"),
    path("views/<int:pk>/delete/", saved_views.SavedViewDeleteView.as_view(), name="view_delete"),
    path("bulk/status/", bulk.BulkStatusView.as_view(), name="bulk_status"),
    path("bulk/archive/", bulk.BulkArchiveView.as_view(), name="bulk_archive"),
    path("changes/", changes.BulkChangeListView.as_view(), name="changes"),
    path("changes/<int:pk>/retry/", changes.BulkChangeRetryView.as_view(), name="change_retry"),
    path("personal-data-log/", access_log.AccessLogView.as_view(), name="access_log"),
    path("export/", exports.ExportView.as_view(), name="export"),
    path("exports/", exports.ExportListView.as_view(), name="exports"),
    path("exports/log/", exports.ExportLogView.as_view(), name="export_log"),
    path("exports/<int:pk>/", exports.ExportDetailView.as_view(), name="export_detail"),
    path(
        "exports/<int:pk>/download/", exports.ExportDownloadView.as_view(), name="export_download"
    ),
    path("exports/<int:pk>/retry/", exports.ExportRetryView.as_view(), name="export_retry"),
    path("exports/schedules/", schedules.ScheduleListView.as_view(), name="schedules"),
    path("exports/schedules/new/", schedules.ScheduleCreateView.as_view(), name="schedule_create"),
    path(
        "exports/schedules/<int:pk>/",
        schedules.ScheduleDetailView.as_view(),
        name="schedule_detail",
    ),
    path(
        "exports/schedules/<int:pk>/edit/",
        schedules.ScheduleUpdateView.as_view(),
        name="schedule_update",
    ),
    path(
        "exports/schedules/<int:pk>/run/",
        schedules.ScheduleRunNowView.as_view(),
        name="schedule_run",
    ),
    path(
        "exports/schedules/<int:pk>/delete/",
        schedules.ScheduleDeleteView.as_view(),
        name="schedule_delete",
    ),
    path(
        "exports/schedules/<int:pk>/runs/<int:run_pk>/download/",
        schedules.ScheduleRunDownloadView.as_view(),
        name="schedule_run_download",
    ),
    path(
        "exports/scheduled/<str:token>/",
        schedules.ScheduleLinkDownloadView.as_view(),
        name="schedule_download",
    ),
]

# Served to customers (not staff) from the emailed link.
public_urlpatterns = [
    path(
        "account/reset/<str:token>/",
        password.CustomerSetPasswordView.as_view(),
        name="reset_password",
    ),
]
