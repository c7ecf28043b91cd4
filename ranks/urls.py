from django.urls import path

from ranks import views

app_name = "ranks"

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("new/", views.RankCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.RankUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", views.RankDeleteView.as_view(), name="delete"),
    path("policy/", views.PolicyView.as_view(), name="policy"),
    path("recalculate/", views.RecalculateView.as_view(), name="recalculate"),
    path(
        "recalculations/<int:pk>/",
        views.RecalculationDetailView.as_view(),
        name="recalculation",
    ),
    path(
        "recalculations/<int:pk>/retry/",
        views.RecalculationRetryView.as_view(),
        name="recalculation_retry",
    ),
    path("override/<int:customer_pk>/", views.OverrideView.as_view(), name="override"),
    path("bulk/override/", views.BulkRankView.as_view(), name="bulk_override"),
    path("override/<int:customer_pk>/end/", views.EndOverrideView.as_view(), name="override_end"),
]
