from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    STAFF = "staff", "Staff"
    KNOWLEDGE_ADMIN = "knowledge_admin", "Knowledge admin"


class User(AbstractUser):
    """A person who asks questions (staff) or also manages knowledge (knowledge admin).

    Django's ``is_staff`` flag means "may enter the admin console"; it follows the role and is not
    set by hand, so the role is the one place that decides who administers knowledge.
    """

    role = models.CharField(max_length=32, choices=Role.choices, default=Role.STAFF)

    @property
    def is_knowledge_admin(self) -> bool:
        return self.is_active and (self.is_superuser or self.role == Role.KNOWLEDGE_ADMIN)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.is_staff = self.is_superuser or self.role == Role.KNOWLEDGE_ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff"}
        super().save(*args, **kwargs)
