from django.urls import path

from tags import views

app_name = "tags"

urlpatterns = [
    path("", views.TagListView.as_view(), name="list"),
    path("new/", views.TagCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.TagUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", views.TagDeleteView.as_view(), name="delete"),
    path("bulk/", views.BulkTagsView.as_view(), name="bulk"),
    path("customer/<int:customer_pk>/", views.CustomerTagsView.as_view(), name="customer_tags"),
]
