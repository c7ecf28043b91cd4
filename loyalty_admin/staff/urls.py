from django.urls import path

from loyalty_admin.staff import views

app_name = "staff"

urlpatterns = [
    path("", views.StaffListView.as_view(), name="list"),
    path("new/", views.StaffCreateView.as_view(), name="create"),
    path("<int:pk>/", views.StaffDetailView.as_view(), name="detail"),
    path(
        "<int:pk>/deactivate/",
        views.StaffActionView.as_view(action="deactivate"),
        name="deactivate",
    ),
    path("<int:pk>/activate/", views.StaffActionView.as_view(action="activate"), name="activate"),
    path(
        "<int:pk>/send-link/", views.StaffActionView.as_view(action="send_link"), name="send_link"
    ),
]

# Public: the emailed link's page and the page after it.
public_urlpatterns = [
    path(
        "password/set/<uidb64>/<token>/",
        views.PasswordSetView.as_view(),
        name="staff_password_set",
    ),
    path("password/set/done/", views.PasswordSetDoneView.as_view(), name="staff_password_done"),
]
