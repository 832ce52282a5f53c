"""The repository's history and the deploys it led to: weeks of routine commits by a handful of
authors, the red-herring change shortly before onset and, for code faults, the faulty commit.

Pure planning: commits carry their full file contents; `repo.py` turns them into a git repository.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from incidentlens.simulate import codefaults, repofiles
from incidentlens.simulate.faults import Plan
from incidentlens.simulate.topology import SERVICES, Language

DAY = 86_400 * 1_000_000_000
MIN = 60 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str


AUTHORS = {
    "@dana-kim": Author("Dana Kim", "dana.kim@shop.example"),
    "@jonas-weber": Author("Jonas Weber", "jonas.weber@shop.example"),
    "@omar-haddad": Author("Omar Haddad", "omar.haddad@shop.example"),
    "@lee-park": Author("Lee Park", "lee.park@shop.example"),
    "@priya-nair": Author("Priya Nair", "priya.nair@shop.example"),
    "@maria-costa": Author("Maria Costa", "maria.costa@shop.example"),
}
PLATFORM = "@maria-costa"


@dataclass(frozen=True, slots=True)
class Commit:
    key: str
    author: str  # handle in AUTHORS
    time_ns: int
    message: str
    files: dict[str, str]
    service: str = ""  # the service it deploys, if any


@dataclass(frozen=True, slots=True)
class Deploy:
    service: str
    time_ns: int  # when the deploy started (the change record)
    effective_ns: int  # when the new pods took all traffic
    commit_key: str
    previous: str
    current: str
    author: str


@dataclass(slots=True)
class History:
    commits: list[Commit] = field(default_factory=list)
    deploys: list[Deploy] = field(default_factory=list)
    head: dict[str, str] = field(default_factory=dict)  # repo files at HEAD
    fault_key: str = ""
    red_herring: str = ""


def _workday(rng: random.Random, day0: int, day: int) -> int:
    return day0 + day * DAY + int(rng.uniform(8.5, 17.5) * 3600e9)


def plan_history(plan: Plan, rng: random.Random, start_ns: int, onset_ns: int) -> History:
    """Commits and deploys up to onset; `start_ns` is the start of the telemetry window."""
    h = History()
    day0 = (onset_ns - 28 * DAY) // DAY * DAY
    files: dict[str, str] = {}

    def commit(key: str, author: str, t: int, message: str, changed: dict[str, str], service: str = "") -> None:
        files.update(changed)
        h.commits.append(Commit(key, author, t, message, dict(changed), service))

    commit(
        "init",
        PLATFORM,
        _workday(rng, day0, 0),
        "Initial import of the shop monorepo",
        {"README.md": repofiles.README, ".gitignore": repofiles.GITIGNORE},
    )
    commit(
        "owners",
        PLATFORM,
        _workday(rng, day0, 0) + 40 * MIN,
        "Add CODEOWNERS and the service catalog",
        {".github/CODEOWNERS": repofiles.CODEOWNERS, "incidentlens.yaml": repofiles.catalog_yaml()},
    )
    day = 1
    pending: list[Commit] = []
    for name, svc in SERVICES.items():
        sources = repofiles.service_sources(name)
        entry = [p for p in sources if "/server." in p or p.endswith(("main.go", "handlers.go", ".java"))]
        rest = {p: c for p, c in sources.items() if p not in entry}
        first = {**{p: sources[p] for p in entry}, **repofiles.build_files(name, old_deps=True)}
        commit(
            f"add-{name}",
            svc.oncall,
            _workday(rng, day0, day),
            f"{name}: add service skeleton and handlers",
            first,
            name,
        )
        if rest:
            what = ", ".join(p.rsplit("/", 1)[1] for p in rest)
            commit(f"logic-{name}", svc.oncall, _workday(rng, day0, day + 1), f"{name}: add {what}", rest, name)
        day += 1 if rng.random() < 0.6 else 2
        if svc.language is Language.PYTHON and rng.random() < 0.7:
            pending.append(
                Commit(
                    f"bump-{name}",
                    PLATFORM,
                    0,
                    f"{name}: bump grpcio to 1.67.1",
                    {f"services/{name}/requirements.txt": repofiles.requirements(name)},
                    name,
                )
            )
    for c in pending:  # dependency bumps land in the last week
        day = min(day + 1, 26)
        commit(c.key, c.author, _workday(rng, day0, day), c.message, c.files, c.service)
    for name in SERVICES:
        if SERVICES[name].language is Language.PYTHON:
            req = f"services/{name}/requirements.txt"
            if files[req] != repofiles.requirements(name):
                commit(
                    f"bump2-{name}",
                    PLATFORM,
                    _workday(rng, day0, 26),
                    f"{name}: bump grpcio to 1.67.1",
                    {req: repofiles.requirements(name)},
                    name,
                )

    # Routine deploys: each service commit ships a few hours later.
    versions = {name: [1, 2 + i % 4, 0] for i, name in enumerate(SERVICES)}

    def deploy(service: str, t: int, effective: int, key: str, author: str) -> None:
        prev = "v{}.{}.{}".format(*versions[service])
        versions[service][2] += 1
        cur = "v{}.{}.{}".format(*versions[service])
        h.deploys.append(Deploy(service, t, effective, key, prev, cur, author))

    for c in sorted(h.commits, key=lambda c: c.time_ns):
        if c.service:
            t = c.time_ns + int(rng.uniform(1.0, 5.0) * 3600e9)
            deploy(c.service, t, t + 90 * 1_000_000_000, c.key, c.author)

    # The red herring: a harmless dependency bump in an unrelated service, deployed minutes before onset.
    choices = [
        s
        for s in ("email", "currency", "shipping", "recommendation", "payment", "cart")
        if s != plan.service and s not in _neighbours(plan.service)
    ]
    rh = rng.choice(choices)
    req = f"services/{rh}/requirements.txt"
    bumped = files[req].replace("protobuf==5.28.3", "protobuf==5.29.1")
    rh_commit = onset_ns - int(rng.uniform(2.0, 5.0) * 3600e9)
    commit("red-herring", SERVICES[rh].oncall, rh_commit, f"{rh}: bump protobuf to 5.29.1", {req: bumped}, rh)
    rh_deploy = onset_ns - int(rng.uniform(3.0, 8.0) * MIN)
    deploy(rh, rh_deploy, rh_deploy + 60 * 1_000_000_000, "red-herring", SERVICES[rh].oncall)
    h.red_herring = rh

    change = plan.change
    if change is not None:
        after = codefaults.apply(change, files[change.path])
        author = SERVICES[plan.service].oncall
        commit(
            "fault",
            author,
            onset_ns - int(rng.uniform(1.0, 2.5) * 3600e9),
            change.message,
            {change.path: after},
            plan.service,
        )
        deploy(plan.service, onset_ns - int(rng.uniform(60.0, 180.0) * 1e9), onset_ns, "fault", author)
        h.fault_key = "fault"
    h.head = files
    h.commits.sort(key=lambda c: c.time_ns)
    h.deploys.sort(key=lambda d: d.time_ns)
    return h


def _neighbours(service: str) -> set[str]:
    """Services one call away, so the red herring is never on the failing path itself."""
    near = {
        "payment": {"checkout"},
        "cart": {"checkout", "frontend"},
        "shipping": {"checkout", "frontend"},
        "recommendation": {"productcatalog", "frontend"},
        "currency": {"checkout", "frontend"},
        "email": {"checkout"},
        "productcatalog": {"recommendation", "checkout", "frontend"},
    }
    return near.get(service, set())


def rollouts(h: History, start_ns: int) -> dict[str, list[tuple[int, str]]]:
    """Per service, the version serving from each moment (before the window: the last deployed one)."""
    out: dict[str, list[tuple[int, str]]] = {}
    for name in SERVICES:
        mine = [d for d in h.deploys if d.service == name]
        first = mine[0].previous if mine else "v1.0.0"
        timeline = [(0, first)]
        for d in mine:
            timeline.append((d.effective_ns, d.current))
        out[name] = timeline
    return out
