from django.urls import path, re_path

from accounts.scim.views import scim_endpoint

app_name = "scim"

urlpatterns = [
    path("", scim_endpoint, name="root"),
    re_path(r"^(?P<path>.+)$", scim_endpoint, name="endpoint"),
]
