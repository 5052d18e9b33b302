"""The password asked again before an account action that cannot be taken back (deleting the
account, moving it away), as Mastodon asks it: a stolen session alone cannot do either.

A wrong password counts as a failed login for the account and the address
(``instance/login_limits``), so such a form cannot be used to guess it; once locked out, the
password is not even checked.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import FormData
from starlette.requests import Request

from instance.login_limits import LoginLimits
from instance.passwords import verify_password
from instance.rate_limits import client_address
from models.actors import LocalActor

MAX_PASSWORD = 1024


async def password_confirmed(request: Request, member: LocalActor, form: FormData) -> bool:
    """Whether the form's ``password`` is the member's; ``LoginLocked`` (before any hashing)
    while the account or the address is locked out."""
    limits: LoginLimits = request.app.state.limits.login
    address = client_address(request.scope)
    await limits.check(member.username, address)
    password = form.get("password") or ""
    password = password[:MAX_PASSWORD] if isinstance(password, str) else ""
    ok = bool(member.password_hash and password) and await asyncio.to_thread(
        verify_password, member.password_hash or "", password
    )
    if ok:
        await limits.succeeded(member.username)
    else:
        await limits.failed(member.username, address)
    return ok
