"""Signing in and out (under /accounts/): password and single sign-on, then Django's password pages."""

from django.urls import include, path

from accounts import views

urlpatterns = [
    # Before Django's own view of the same path, so this is the one that answers.
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("oidc/login/", views.SingleSignOnStartView.as_view(), name="oidc-login"),
    # The redirect URI to register with the identity provider: https://<enclave>/accounts/oidc/callback/
    path("oidc/callback/", views.SingleSignOnReturnView.as_view(), name="oidc-callback"),
    path("", include("django.contrib.auth.urls")),
]
