from django.urls import path

from wholesale import views

app_name = "wholesale"

urlpatterns = [
    path("", views.QueueView.as_view(), name="list"),
    path("new/", views.ManualCreateView.as_view(), name="create"),
    path("bulk/", views.BulkDecisionView.as_view(), name="bulk"),
    path("conditions/", views.ConditionsView.as_view(), name="conditions"),
    path("<int:pk>/", views.ApplicationDetailView.as_view(), name="detail"),
    path("<int:pk>/assign/", views.AssignView.as_view(), name="assign"),
    path("<int:pk>/approve/", views.ApproveView.as_view(), name="approve"),
    path("<int:pk>/reject/", views.RejectView.as_view(), name="reject"),
    path("<int:pk>/ask/", views.InfoRequestView.as_view(), name="ask"),
    path("<int:pk>/resend/", views.ResendEmailView.as_view(), name="resend"),
    path("documents/<int:pk>/", views.DocumentView.as_view(), name="document"),
    path("customers/<int:customer_pk>/revoke/", views.RevokeView.as_view(), name="revoke"),
]

# Pages anyone may open: applying, and the one-time link for more information.
public_urlpatterns = [
    path("apply/", views.ApplyView.as_view(), name="apply"),
    path("apply/done/", views.ApplyDoneView.as_view(), name="done"),
    path("apply/more/<str:token>/", views.MoreInformationView.as_view(), name="more"),
]
