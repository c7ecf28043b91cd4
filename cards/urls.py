from django.urls import path

from cards import views

app_name = "cards"

urlpatterns = [
    path("", views.CardListView.as_view(), name="list"),
    path("<int:pk>/", views.CardDetailView.as_view(), name="detail"),
    path("batches/", views.BatchListView.as_view(), name="batches"),
    path("activate/", views.ActivateView.as_view(), name="activate"),
    path("<int:pk>/activated/", views.ActivatedView.as_view(), name="activated"),
]
