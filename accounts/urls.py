"""Signing in and out: Django's views, with Enclave's sign-in form (accounts/sign_in.py)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.sign_in import SignInForm

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("", include("django.contrib.auth.urls")),
]
