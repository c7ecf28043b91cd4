from django.urls import path

from cards import views

app_name = "cards"

urlpatterns = [
    path("activate/", views.ActivateView.as_view(), name="activate"),
    path("<int:pk>/activated/", views.ActivatedView.as_view(), name="activated"),
]
