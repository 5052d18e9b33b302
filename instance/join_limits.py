"""Rate limit on the forms that anyone may post without an account: sign-up and "forgot
password", per client address (a token bucket in memory, per process, like the API's).

Logins have their own lockout, per account and per address, in the database
(``instance/login_limits``); these forms only need to stop floods (of sign-up requests, of
reset emails), so a bucket is enough. A refusal is 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from instance.rate_limits import client_address
from instance.templating import render
from instance.token_bucket import TokenBuckets
from models.errors import RateLimited

NO_STORE = {"Cache-Control": "private, no-store"}


def check_join_limit(request: Request) -> None:
    """Spend one post of this address; ``RateLimited`` past its allowance."""
    buckets: TokenBuckets = request.app.state.join_limits
    address = client_address(request.scope)
    wait = buckets.take(f"address:{address}")
    if wait:
        raise RateLimited(f"join forms: too many posts from {address}", retry_after=wait)


def too_many(request: Request, exc: RateLimited, _: Callable[[str], str]) -> Response:
    """The 429 page, in the page's language (``_``), saying how long to wait."""
    minutes = max(1, math.ceil(exc.retry_after / 60))
    text = _("Too many attempts from your address. Try again in %(minutes)d min.")
    headers = {**NO_STORE, "Retry-After": str(exc.retry_after)}
    context = {"status": 429, "message": text % {"minutes": minutes}, "errors": {}}
    return render(request, "error.html", context, 429, headers=headers)
