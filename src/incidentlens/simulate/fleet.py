"""Which version runs in which pod of each service at a given time (deploys replace pods)."""

from __future__ import annotations

import hashlib
from bisect import bisect_right

from incidentlens.simulate.topology import SERVICES


def pod_name(service: str, version: str, seed: int) -> str:
    digest = hashlib.sha256(f"{seed}:{service}:{version}".encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    rs = "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))
    pod = "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(20, 30, 2))
    return f"{service}-{rs}-{pod}"


class Fleet:
    """`rollouts[service]` is a time-sorted list of (effective_ns, version)."""

    def __init__(self, rollouts: dict[str, list[tuple[int, str]]], seed: int) -> None:
        self._times = {s: [t for t, _ in r] for s, r in rollouts.items()}
        self._resources = {
            s: [(s, v, pod_name(s, v, seed), SERVICES[s].language.value) for _, v in r] for s, r in rollouts.items()
        }

    def resource(self, service: str, t_ns: int) -> tuple[str, str, str, str]:
        """(service, version, pod, language) serving at `t_ns`."""
        i = max(0, bisect_right(self._times[service], t_ns) - 1)
        return self._resources[service][i]
