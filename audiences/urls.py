from django.urls import path

from audiences import views

app_name = "audiences"

urlpatterns = [
    path("", views.AudienceListView.as_view(), name="list"),
    path("new/", views.AudienceCreateView.as_view(), name="create"),
    path("from-list/", views.SaveFromListView.as_view(), name="from_list"),
    path("bulk/", views.BulkAudienceView.as_view(), name="bulk"),
    path("<int:pk>/", views.AudienceDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.AudienceUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", views.AudienceDeleteView.as_view(), name="delete"),
    path("<int:pk>/recount/", views.RecountView.as_view(), name="recount"),
    path("<int:pk>/freeze/", views.FreezeView.as_view(), name="freeze"),
    path("<int:pk>/archive/", views.ArchiveView.as_view(), name="archive"),
    path("<int:pk>/rule/", views.RuleFromListView.as_view(), name="rule_from_list"),
    path("<int:pk>/members/pick/", views.PickMembersView.as_view(), name="pick"),
    path("<int:pk>/members/file/", views.MembersFileView.as_view(), name="file"),
    path("jobs/<int:pk>/", views.AudienceJobView.as_view(), name="job"),
    path("jobs/<int:pk>/unmatched/", views.AudienceJobErrorsView.as_view(), name="job_errors"),
    path("jobs/<int:pk>/retry/", views.AudienceJobRetryView.as_view(), name="job_retry"),
]
