"""Typed errors shared by every layer.

Each error carries a ``public_message`` that is safe to show to a client; the detail passed to
the constructor goes only to the log. ``instance/errors.py`` maps the classes to HTTP statuses,
and the workers use the same classes to decide between retrying and giving up.
"""

from __future__ import annotations


class CoopubError(Exception):
    """Base class of every error coopub raises on purpose."""

    public_message = "Internal error"

    def __init__(self, detail: str = "", public_message: str | None = None) -> None:
        super().__init__(detail or self.public_message)
        self.detail = detail
        if public_message is not None:
            self.public_message = public_message


class NotFound(CoopubError):
    public_message = "Not found"


class Gone(CoopubError):
    public_message = "Gone"


class Malformed(CoopubError):
    """The input cannot be understood (bad JSON, missing field, wrong type)."""

    public_message = "Malformed request"


class PayloadTooLarge(Malformed):
    public_message = "Request body too large"


class SignatureInvalid(CoopubError):
    """A missing, malformed or failing HTTP signature, or a signer who is not the actor."""

    public_message = "Signature missing or invalid"


class KeyMismatch(SignatureInvalid):
    """A well-formed, fresh signature that the cached key does not verify: the key may have
    been rotated, so this one (and only this one) is worth refetching the key for."""


class Blocked(CoopubError):
    public_message = "Forbidden"


class Conflict(CoopubError):
    public_message = "Conflict"


class RemoteUnavailable(CoopubError):
    """A remote server could not be reached or answered with an error; may succeed later."""

    public_message = "Remote server unavailable"

    def __init__(
        self,
        detail: str = "",
        public_message: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail, public_message)
        self.status = status
        self.retry_after = retry_after


class UnsafeAddress(Blocked):
    """An outgoing request would reach a private, loopback or link-local address."""

    public_message = "Refusing to contact a private address"


class RateLimited(CoopubError):
    """Too many requests from one sender: answered 429 with ``Retry-After``."""

    public_message = "Too many requests: try again later"

    def __init__(
        self, detail: str = "", public_message: str | None = None, *, retry_after: int
    ) -> None:
        super().__init__(detail, public_message)
        self.retry_after = max(1, retry_after)
