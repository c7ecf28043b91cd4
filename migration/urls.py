from django.urls import path

from migration import views

app_name = "migration"

urlpatterns = [
    path("", views.ImportListView.as_view(), name="list"),
    path("new/", views.UploadView.as_view(), name="upload"),
    path("<int:pk>/map/", views.MapView.as_view(), name="map"),
    path("<int:pk>/", views.ImportDetailView.as_view(), name="detail"),
    path("<int:pk>/run/", views.RunView.as_view(), name="run"),
    path("<int:pk>/retry/", views.RetryView.as_view(), name="retry"),
    path("<int:pk>/undo/", views.UndoView.as_view(), name="undo"),
    path("<int:pk>/problems.xlsx", views.ErrorFileView.as_view(), name="error_file"),
]
