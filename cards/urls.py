from django.urls import path

from cards import views

app_name = "cards"

urlpatterns = [
    path("", views.CardListView.as_view(), name="list"),
    path("<int:pk>/", views.CardDetailView.as_view(), name="detail"),
    path("batches/", views.BatchListView.as_view(), name="batches"),
    path("batches/import/", views.BatchImportView.as_view(), name="batch_import"),
    path("batches/<int:pk>/", views.BatchDetailView.as_view(), name="batch"),
    path("batches/<int:pk>/print/", views.BatchPrintView.as_view(), name="batch_print"),
    path("batches/<int:pk>/numbers.csv", views.batch_numbers_csv, name="batch_numbers"),
    path("activate/", views.ActivateView.as_view(), name="activate"),
    path("<int:pk>/extend/", views.ExtendView.as_view(), name="extend"),
    path("<int:pk>/void/", views.VoidView.as_view(), name="void"),
    path("<int:pk>/replace/", views.ReplaceView.as_view(), name="replace"),
    path("<int:pk>/convert/", views.ConvertView.as_view(), name="convert"),
    path("<int:pk>/activated/", views.ActivatedView.as_view(), name="activated"),
]
