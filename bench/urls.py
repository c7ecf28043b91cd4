"""The project's URLs plus the peer admin; used only while the benchmark runs."""

from django.urls import path

from bench.peer_admin import peer_site
from loyalty_admin.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("peer-admin/", peer_site.urls), *project_urlpatterns]
