from django.urls import path

from tags import views

app_name = "tags"

urlpatterns = [
    path("", views.TagListView.as_view(), name="list"),
    path("new/", views.TagCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.TagUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", views.TagDeleteView.as_view(), name="delete"),
    path("bulk/", views.BulkTagsView.as_view(), name="bulk"),
    path("apply-rules/", views.ApplyRulesView.as_view(), name="apply_rules"),
    path("from-filter/", views.RuleFromFilterView.as_view(), name="from_filter"),
    path("customer/<int:customer_pk>/", views.CustomerTagsView.as_view(), name="customer_tags"),
]
