from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from console.urls import public_urlpatterns
from console.views.dashboard import DashboardView
from loyalty_admin.staff.urls import public_urlpatterns as staff_public
from wholesale.urls import public_urlpatterns as wholesale_public

admin.site.site_header = "Loyalty Admin — reference data"

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("customers/", include("console.urls")),
    path("ranks/", include("ranks.urls")),
    path("tags/", include("tags.urls")),
    path("audiences/", include("audiences.urls")),
    path("migration/", include("migration.urls")),
    path("wholesale/", include((wholesale_public, "wholesale_public"))),
    path("wholesale/", include("wholesale.urls")),
    path("cards/", include("cards.urls")),
    path("staff/", include("loyalty_admin.staff.urls")),
    *staff_public,
    path("", include((public_urlpatterns, "customers_public"))),
    path("django-admin/", admin.site.urls),
]
