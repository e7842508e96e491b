"""Signing in and out (under /accounts/): password (local or LDAP, accounts/sign_in.py) and single
sign-on, then Django's password pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views
from accounts.sign_in import SignInForm

urlpatterns = [
    # Before Django's own views of the same paths, so these are the ones that answer.
    path("login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("oidc/login/", views.SingleSignOnStartView.as_view(), name="oidc-login"),
    # The redirect URI to register with the identity provider: https://<enclave>/accounts/oidc/callback/
    path("oidc/callback/", views.SingleSignOnReturnView.as_view(), name="oidc-callback"),
    path("", include("django.contrib.auth.urls")),
]
