"""Login throttling and temporary lockout (issue 14), with the `limits` library.

Only failures count: per username and per client address, each in a moving window
(`login_window_minutes`). When either has reached its limit, logins are refused, the right password
too, until the oldest failure in the window is that old. A successful login clears the username's
count (not the address's: logging in to one's own account must not reset an attacker's address).

The same throttle guards the login form and HTTP Basic on the API. The count lives in
`login_limit_storage`: `memory://` is per process, so with several dashboards behind the proxy each
counts on its own unless a shared storage (Redis) is configured.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from limits import RateLimitItem, RateLimitItemPerMinute, storage, strategies

from core.settings import get_settings


@dataclass(frozen=True)
class Locked:
    """Logins are refused until `until` (epoch seconds)."""

    until: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.until - time.time()))

    def message(self) -> str:
        zone = ZoneInfo(get_settings().timezone)
        at = datetime.fromtimestamp(self.until, zone).strftime("%H:%M")
        minutes = max(1, math.ceil(self.retry_after / 60))
        return (
            "For mange mislykkede login-forsøg. Prøv igen kl. "
            f"{at} (om {minutes} {'minut' if minutes == 1 else 'minutter'})."
        )


class LoginThrottle:
    """One per app; the storage is opened on first use (the settings are read then)."""

    @cached_property
    def _limiter(self) -> strategies.MovingWindowRateLimiter:
        return strategies.MovingWindowRateLimiter(storage.storage_from_string(self._settings.storage))

    @cached_property
    def _settings(self) -> _Limits:
        settings = get_settings()
        window = settings.login_window_minutes
        return _Limits(
            storage=settings.login_limit_storage,
            account=RateLimitItemPerMinute(settings.login_max_failures, window),
            address=RateLimitItemPerMinute(settings.login_max_failures_per_address, window),
        )

    def _keys(self, username: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        limits = self._settings
        return [
            (limits.account, "forloeb-login-user", username.strip().lower()),
            (limits.address, "forloeb-login-addr", address),
        ]

    def locked(self, username: str, address: str) -> Locked | None:
        until = [
            self._limiter.get_window_stats(item, kind, key).reset_time
            for item, kind, key in self._keys(username, address)
            if not self._limiter.test(item, kind, key)
        ]
        return Locked(max(until)) if until else None

    def failed(self, username: str, address: str) -> None:
        for item, kind, key in self._keys(username, address):
            self._limiter.hit(item, kind, key)

    def succeeded(self, username: str) -> None:
        item, kind, key = self._keys(username, "")[0]
        self._limiter.clear(item, kind, key)


@dataclass(frozen=True)
class _Limits:
    storage: str
    account: RateLimitItem
    address: RateLimitItem


class SubmitThrottle:
    """Public forms that need no login and answer whether something exists (the network sign-up
    says "I er allerede tilmeldt"): at most `limit` submissions per client address in `minutes`,
    counted in the same storage as the login throttle. One per app."""

    def __init__(self, kind: str, limit: int, minutes: int) -> None:
        self.kind = kind
        self.item = RateLimitItemPerMinute(limit, minutes)

    @cached_property
    def _limiter(self) -> strategies.MovingWindowRateLimiter:
        return strategies.MovingWindowRateLimiter(
            storage.storage_from_string(get_settings().login_limit_storage)
        )

    def hit(self, address: str) -> Locked | None:
        """Count one submission; `Locked` (until when) when the address has used up its limit."""
        if self._limiter.hit(self.item, self.kind, address):
            return None
        return Locked(self._limiter.get_window_stats(self.item, self.kind, address).reset_time)
