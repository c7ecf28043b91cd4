from django.urls import path

from cards import views

app_name = "cards"

urlpatterns = [
    path("", views.CardListView.as_view(), name="list"),
    path("<int:pk>/", views.CardDetailView.as_view(), name="detail"),
    path("batches/", views.BatchListView.as_view(), name="batches"),
    path("activate/", views.ActivateView.as_view(), name="activate"),
    path("<int:pk>/extend/", views.ExtendView.as_view(), name="extend"),
    path("<int:pk>/void/", views.VoidView.as_view(), name="void"),
    path("<int:pk>/replace/", views.ReplaceView.as_view(), name="replace"),
    path("<int:pk>/convert/", views.ConvertView.as_view(), name="convert"),
    path("<int:pk>/activated/", views.ActivatedView.as_view(), name="activated"),
]
