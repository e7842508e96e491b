from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser, Group
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    STAFF = "staff", "Staff"
    KNOWLEDGE_ADMIN = "knowledge_admin", "Knowledge admin"


class Origin(models.TextChoices):
    """Where a user or group comes from: made in Enclave, or owned by the company's directory.

    A directory brings what it owns in line at every sign-in or provisioning request, so a local
    edit of a directory-owned membership lasts only until then (the console says so).
    """

    LOCAL = "local", "Enclave"
    OIDC = "oidc", "Single sign-on (OIDC)"
    LDAP = "ldap", "LDAP / Active Directory"
    SCIM = "scim", "SCIM provisioning"


class User(AbstractUser):
    """A person who asks questions (staff) or also manages knowledge (knowledge admin).

    Django's ``is_staff`` flag means "may enter the admin console"; it follows the role and is not
    set by hand, so the role is the one place that decides who administers knowledge.
    """

    role = models.CharField(max_length=32, choices=Role.choices, default=Role.STAFF)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.LOCAL)
    # The directory's own id for the person (OIDC ``sub``, LDAP DN, SCIM id): usernames can change there.
    external_id = models.CharField(max_length=255, blank=True)
    directory_synced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractUser.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["origin", "external_id"], condition=~Q(external_id=""), name="user_unique_external_id"
            )
        ]

    # Who administers knowledge (and so may see every document) is decided here and nowhere else in
    # Python: the property for one user, the filter for many. Its SQL twin is
    # enclave_sees_everything() (knowledge migration 0002), used by row-level security.
    @property
    def is_knowledge_admin(self) -> bool:
        return self.is_active and (self.is_superuser or self.role == Role.KNOWLEDGE_ADMIN)

    @staticmethod
    def knowledge_admins() -> Q:
        """``is_knowledge_admin`` as a filter over users."""
        return Q(is_active=True) & (Q(is_superuser=True) | Q(role=Role.KNOWLEDGE_ADMIN))

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.is_staff = self.is_superuser or self.role == Role.KNOWLEDGE_ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff"}
        super().save(*args, **kwargs)


def is_knowledge_admin(user: object) -> bool:
    """``User.is_knowledge_admin`` for whatever ``request.user`` holds: anonymous visitors are not."""
    return isinstance(user, User) and user.is_knowledge_admin


class DirectoryGroup(models.Model):
    """Marks a group as owned by a directory: its memberships come from there, not from the console.

    Django's Group cannot take new fields, so the mark is a one-to-one row beside it; a group with
    no such row is an Enclave group.
    """

    group = models.OneToOneField(Group, on_delete=models.CASCADE, primary_key=True, related_name="directory")
    origin = models.CharField(max_length=8, choices=Origin.choices)
    external_id = models.CharField(max_length=255, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["origin", "external_id"], condition=~Q(external_id=""), name="group_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group.name} ({self.get_origin_display()})"


class Scope(models.TextChoices):
    """What an API token may do; the user's own permissions still decide what it may see."""

    ASK = "ask", "Ask questions; read, rate and delete their conversations"
    READ = "read", "Search and read the documents the user may see"
    ADMIN = "admin", "Manage sources, uploads and grants (knowledge admins only)"


class ApiToken(models.Model):
    """A personal API token. Only its sha256 is stored: the token is shown once, when created.

    The tokens are 256 random bits, so a fast hash is enough (no guessing attack can use the
    slowness of a password hash), and it lets a request find its token with one indexed lookup.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. the help desk integration")
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class PermissionChange(models.Model):
    """One change to who may see what, and who made it: an audit trail, written once, never edited.

    Who and what are kept as words as well as links, so the entry still reads the same after the
    user, group, source or document it names has been deleted.
    """

    class Action(models.TextChoices):
        GRANT_ADDED = "grant_added", "Grant added"
        GRANT_REMOVED = "grant_removed", "Grant removed"
        ALL_STAFF_ON = "all_staff_on", "Made visible to all staff"
        ALL_STAFF_OFF = "all_staff_off", "No longer visible to all staff"
        MEMBER_ADDED = "member_added", "Added to group"
        MEMBER_REMOVED = "member_removed", "Removed from group"
        ROLE_CHANGED = "role_changed", "Role changed"
        USER_ACTIVATED = "user_activated", "User activated"
        USER_DEACTIVATED = "user_deactivated", "User deactivated"
        ACL_CHANGED = "acl_changed", "Source's ACL changed"
        PERMISSIONS_FROM_CHANGED = "permissions_from_changed", "Where a source's permissions come from changed"

    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_by_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    who = models.CharField(max_length=300, help_text="The user or group whose access changed")
    what = models.CharField(max_length=600, blank=True, help_text="The source, document or group concerned")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        # The trail began in knowledge (grants were its first entries); the table kept its name when
        # the model moved here, so no rows had to move.
        db_table = "knowledge_permissionchange"
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        when = f"{self.changed_at:%Y-%m-%d %H:%M}"
        return f"{when} {self.changed_by_name}: {self.get_action_display()} {self.who} {self.what}".strip()


class ScimLink(models.Model):
    """A user or group that the company's SCIM client created or took over, under its SCIM id.

    The row is what makes a user or group a SCIM resource: the SCIM endpoint reads and writes only
    those it links, and a SCIM DELETE removes the link (the user stays, deactivated, so the trail and
    their conversations keep a name; the endpoint then answers 404 for that id, as RFC 7644 §3.6 asks).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.CASCADE, related_name="scim_link")
    group = models.OneToOneField(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="scim_link")
    # The client's own id for the resource (SCIM ``externalId``: Okta's user id, Entra's object id).
    external_id = models.CharField(max_length=255, blank=True)
    # How the client labels the user's address ("work", primary): kept so that Entra's
    # ``emails[type eq "work"].value`` finds the address it wrote.
    email_type = models.CharField(max_length=16, blank=True)
    email_primary = models.BooleanField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SCIM link"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="scim_link_user_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"SCIM {self.id} → {self.user or self.group}"


class ScimToken(models.Model):
    """The bearer token a company directory's SCIM client (Okta, Entra ID) provisions with.

    Like API tokens, only its sha256 is kept and it is shown once. It belongs to no user: it acts as
    the directory. Each request it makes is noted on it (the last one only, one UPDATE per request),
    so the console can show whether provisioning works.
    """

    name = models.CharField(max_length=100, help_text="Which directory uses it, e.g. okta")
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_request_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_request = models.CharField(max_length=300, blank=True, editable=False, help_text="Method and path")
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    last_result = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "SCIM token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
