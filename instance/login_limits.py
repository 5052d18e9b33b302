"""Login lockout with a growing delay, per account and per client address, in the database.

After ``login_account_failures`` wrong passwords for one account (or ``login_address_failures``
from one address, whatever the accounts), logins there are refused for ``login_lock_seconds``
without checking the password (no hashing work); each further failure once the lock is over
doubles it, up to ``login_lock_max_seconds``. Time recovers it: a count untouched for
``login_forget_hours`` starts over, and the worker's upkeep deletes it. A success resets the
account's count, not the address's: an attacker with an account of their own could otherwise
wipe their address's count between guesses.

The rows are shared by every web process and survive restarts, so the lockout does too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from instance.config import LimitSettings
from models.errors import RateLimited
from models.login_failures import KEY_LENGTH, LoginFailure

Now = Callable[[], datetime]


class LoginLocked(RateLimited):
    public_message = "Too many failed logins: try again later"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def account_key(username: str) -> str:
    """The account as ``authenticate`` looks it up (trimmed, lowercase)."""
    return f"account:{username.strip().lower()}"[:KEY_LENGTH]


def address_key(address: str) -> str:
    return f"address:{address}"[:KEY_LENGTH]


@dataclass
class LoginLimits:
    settings: LimitSettings
    now: Now = field(default=_utc_now)
    """The clock (injectable: tests move it instead of waiting)."""

    def _thresholds(self, username: str, address: str) -> dict[str, int]:
        return {
            account_key(username): self.settings.login_account_failures,
            address_key(address): self.settings.login_address_failures,
        }

    def lock_for(self, failures: int, threshold: int) -> timedelta | None:
        """How long ``failures`` wrong passwords lock a key: none below the threshold, then
        the first lock, doubled for each failure past it, capped."""
        if failures < threshold:
            return None
        first = self.settings.login_lock_seconds
        longest = max(first, self.settings.login_lock_max_seconds)
        doublings = min(failures - threshold, 64)  # 2**64 × anything is past any cap
        return timedelta(seconds=min(first * 2.0**doublings, longest))

    async def check(self, username: str, address: str) -> None:
        """``LoginLocked`` (with the seconds to wait) while the account or the address is
        locked; checked before the password, so a locked login costs no hashing."""
        now = self.now()
        keys = list(self._thresholds(username, address))
        rows = await LoginFailure.filter(key__in=keys, locked_until__gt=now)
        ends = [row.locked_until for row in rows if row.locked_until is not None]
        if ends:
            wait = math.ceil((max(ends) - now).total_seconds())
            raise LoginLocked(f"login locked for {wait} s", retry_after=wait)

    async def failed(self, username: str, address: str) -> None:
        """Count a wrong password for the account and for the address (locking either at its
        threshold)."""
        now = self.now()
        for key, threshold in self._thresholds(username, address).items():
            failures = await self._count(key, now)
            lock = self.lock_for(failures, threshold)
            if lock is not None:
                until = now + lock
                expires = max(until, self._forget_at(now))
                # Never shorten a lock another process has just set for a later failure.
                await LoginFailure.filter(
                    Q(locked_until__isnull=True) | Q(locked_until__lt=until), key=key
                ).update(locked_until=until, expires_at=expires)

    async def succeeded(self, username: str) -> None:
        """The right password: the account's count starts over."""
        await LoginFailure.filter(key=account_key(username)).delete()

    def _forget_at(self, now: datetime) -> datetime:
        return now + timedelta(hours=self.settings.login_forget_hours)

    async def _count(self, key: str, now: datetime) -> int:
        """One more failure for ``key`` (atomic across processes); the count now."""
        forget = self._forget_at(now)
        for _ in range(3):  # a concurrent first failure may create the row under us
            live = LoginFailure.filter(key=key, expires_at__gt=now)
            if await live.update(failures=F("failures") + 1, last_failed_at=now, expires_at=forget):
                break
            expired = LoginFailure.filter(key=key, expires_at__lte=now)
            if await expired.update(
                failures=1, locked_until=None, last_failed_at=now, expires_at=forget
            ):
                break
            try:
                await LoginFailure.create(
                    key=key, failures=1, last_failed_at=now, expires_at=forget
                )
                break
            except IntegrityError:
                continue
        row = await LoginFailure.get_or_none(key=key)
        return row.failures if row else 1
