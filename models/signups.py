"""Joining an instance without the command line: invitation links, sign-up requests awaiting an
admin, requests to join a coop awaiting its admins, and one-time password-reset links.

Secrets (invitation codes, reset tokens) are kept as SHA-256 digests only: the link is shown
once, to the person who creates it, and a copy of the database does not let anyone use it."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.actors import LocalActor


class Invitation(Model):
    """A link that lets people sign up whatever the instance's sign-up mode, and optionally
    joins them to a coop at once. Admins create them for any coop, coop admins for their own."""

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    """The SHA-256 (hex) of the code in the link."""
    created_by: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="invitations_created", on_delete=fields.CASCADE
    )
    created_by_id: int
    coop: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="invitations", null=True, on_delete=fields.CASCADE
    )
    coop_id: int | None
    """New members join this coop directly (no approval: the coop's admin invited them)."""
    max_uses = fields.IntField(default=1)
    uses = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "invitation"
        table_description = "Invitation links (code digests), with an expiry and a use count"


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SignupRequest(Model):
    """A sign-up waiting for an admin (sign-up mode ``approval``): no actor exists until it is
    approved, so nothing about the applicant is federated before then."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    """Reserved while pending: nobody else can sign up or be created with this name."""
    email = fields.CharField(max_length=254, null=True)
    password_hash = fields.CharField(max_length=255)
    reason = fields.TextField(default="")
    """Why they want to join, for the admin who decides."""
    coop: fields.ForeignKeyNullableRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="signup_requests", null=True, on_delete=fields.SET_NULL
    )
    coop_id: int | None
    """The coop they asked to join; on approval this becomes a membership request."""
    lang = fields.CharField(max_length=8, default="en")
    state = fields.CharEnumField(RequestState, max_length=16, default=RequestState.PENDING)
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "signup_request"
        table_description = "Sign-ups awaiting an admin's approval"
        indexes = (Index(fields=("state", "created_at")),)


class MembershipRequest(Model):
    """A member asking to join a coop; the coop's admins (or the instance's) decide."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="membership_requests", on_delete=fields.CASCADE
    )
    member_id: int
    coop: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="join_requests", on_delete=fields.CASCADE
    )
    coop_id: int
    message = fields.TextField(default="")
    state = fields.CharEnumField(RequestState, max_length=16, default=RequestState.PENDING)
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "membership_request"
        table_description = "Members' requests to join a coop, decided by its admins"
        indexes = (Index(fields=("coop_id", "state")),)


class PasswordReset(Model):
    """A one-time link to choose a new password: issued by an admin (shown to them, to pass
    on) or sent by email when ``[mail]`` is configured. Used once, then void."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[LocalActor] = fields.ForeignKeyField(
        "models.LocalActor", related_name="password_resets", on_delete=fields.CASCADE
    )
    member_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset"
        table_description = "One-time password-reset links (token digests)"
        indexes = (Index(fields=("expires_at",)),)
