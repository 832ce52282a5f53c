"""Failed-authentication throttling: per user name and per client address, for logins, bearer tokens and
webhook secrets alike. In memory, per process: a restart forgets, which only ever lets an attacker retry
sooner, never locks a person out longer.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["ADDRESS_LIMIT", "USER_LIMIT", "WINDOW_SECONDS", "Throttle"]

WINDOW_SECONDS = 15 * 60
USER_LIMIT = 5  # wrong tokens for one user name within the window
ADDRESS_LIMIT = 20  # failed attempts of any kind from one address within the window
_MAX_KEYS = 100_000  # a flood of distinct keys cannot grow memory without bound


class Throttle:
    """Counts failures per key in a sliding window; a key at its limit is blocked until the oldest expires."""

    def __init__(self, *, window_s: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, limit: int) -> int | None:
        """Seconds until `key` may try again, or None when it is not blocked."""
        with self._lock:
            times = self._recent(key)
            if times is None or len(times) < limit:
                return None
            return max(1, math.ceil(times[0] + self._window - self._clock()))

    def fail(self, key: str) -> None:
        with self._lock:
            times = self._recent(key)
            if times is None:
                if len(self._failures) >= _MAX_KEYS:
                    self._failures.pop(next(iter(self._failures)))
                times = self._failures[key] = deque()
            times.append(self._clock())

    def forget(self, key: str) -> None:
        """A success clears the user's count (the address keeps its count: it may be guessing other users)."""
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self._clock() - self._window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
