"""Argo CD as a change source: every application's sync history and its current operation.

Speaks the Argo CD REST API (v2 and v3, grpc-gateway JSON) with a bearer token (an account or project token):
`GET /api/v1/applications`, optionally narrowed with `?projects=P` (repeated) and `?selector=LABELS`. The
list is not paged: one request answers for every application the token may see.

Rows (changes, kind deploy):
  * one per `status.history[]` entry deployed inside the window (`deployedAt`): current = its revision (the
    `revisions` of a multi-source app joined), previous = the entry before it, commit = the revision when it
    is a git sha, author = `initiatedBy.username` or "automated"; attributes app, project, namespace,
    history_id, repo_url, path or chart, deploy_started_at.
  * one for `status.operationState` when a sync started inside the window is still running or failed (phase
    Running, Terminating, Failed, Error): attributes phase and message. A successful sync is in the history.
Service: the option `services` ({app: service}) first, then the label named by `service_label`, else the app.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from incidentlens.errors import SourceError
from incidentlens.ingest.changes import change_row
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.changefeed import Row, RowWriter, inside
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport

APPLICATIONS = "/api/v1/applications"
MAX_MESSAGE = 500
_OPTIONS = frozenset({"projects", "selector", "services", "service_label"})
_UNFINISHED = frozenset({"Running", "Terminating", "Failed", "Error"})
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")

Item = dict[str, Any]


class ArgoCDSource:
    kind = "argocd"
    signals = ("changes",)
    live = True

    def __init__(self, config: SourceConfig) -> None:
        config.check_options(_OPTIONS)
        options = config.options
        projects = options.get("projects", [])
        if not isinstance(projects, list) or not all(isinstance(p, str) and p for p in projects):
            raise config.option_error("'projects' must be a list of Argo CD project names")
        selector = options.get("selector", "")
        if not isinstance(selector, str):
            raise config.option_error("'selector' must be a label selector such as 'team=shop'")
        services = options.get("services", {})
        if not isinstance(services, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in services.items()
        ):
            raise config.option_error("'services' must map application names to service names")
        label = options.get("service_label", "")
        if not isinstance(label, str):
            raise config.option_error("'service_label' must be the name of an application label")
        if not config.url:
            raise config.option_error("'url' (the Argo CD server, https://argocd.example.com) is required")
        self.name = config.name
        self.config = config
        self.params = [("projects", p) for p in projects] + ([("selector", selector)] if selector else [])
        self.services = dict(services)
        self.service_label = label

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, redact_url(self.config.url))
        progress(f"{self.name}: listing applications (1/1)")
        with HttpClient(self.config, report) as client:
            body = client.get_json(APPLICATIONS, self.params or None)
        report.seconds = time.perf_counter() - started
        if not isinstance(body, dict) or not isinstance(body.get("items") or [], list):
            report.failed = True
            where = redact_url(f"{self.config.url}{APPLICATIONS}")
            raise SourceError(f"argocd source {self.name!r}: GET {where}: the answer is not an application list")
        apps = [app for app in body.get("items") or [] if isinstance(app, dict)]
        rows = [row for app in apps for row in self._rows(app, query.window)]
        writer = RowWriter(query, sink, report, self.config.max_rows)
        writer.add("changes", sorted(rows, key=lambda r: r["ts_ns"]))
        writer.close()
        report.notes.append(f"{len(apps)} applications read")
        return report

    def _service(self, app: str, meta: Item) -> str:
        labels = meta.get("labels") or {}
        return self.services.get(app) or str(labels.get(self.service_label) or "") or app

    def _rows(self, app: Item, window: TimeRange) -> list[Row]:
        meta, spec, status = (app.get(k) or {} for k in ("metadata", "spec", "status"))
        name = str(meta.get("name") or "")
        destination = spec.get("destination") or {}
        common = {
            "kind": "deploy",
            "service": self._service(name, meta),
            "app": name,
            "project": spec.get("project") or "default",
            "namespace": destination.get("namespace") or "",
        }
        ref = f"{self.name}:{APPLICATIONS}/{name}"
        history = sorted((h for h in status.get("history") or [] if isinstance(h, dict)), key=lambda h: h.get("id", 0))
        rows: list[Row] = []
        for index, entry in enumerate(history):
            if not inside(window, _time(entry.get("deployedAt"))):
                continue
            current = _revision(entry)
            record = {
                **common,
                "timestamp": entry["deployedAt"],
                "description": f"{name}: synced {_sources(entry)} to {_short(current)}",
                "current": current,
                "previous": _revision(history[index - 1]) if index else "",
                "commit": _commit(entry.get("revisions") or [entry.get("revision")]),
                "author": _initiator(entry.get("initiatedBy")),
                "history_id": entry.get("id"),
                "deploy_started_at": entry.get("deployStartedAt"),
                **_where(entry),
            }
            rows.append({**change_row(_present(record)), "source": f"{ref}#history-{entry.get('id')}"})
        operation = status.get("operationState") or {}
        started = _time(operation.get("startedAt"))
        if operation.get("phase") in _UNFINISHED and inside(window, started):
            sync = (operation.get("operation") or {}).get("sync") or {}
            result = operation.get("syncResult") or {}
            revisions = (
                sync.get("revisions") or result.get("revisions") or [sync.get("revision") or result.get("revision")]
            )
            deployed = [h for h in history if (_time(h.get("deployedAt")) or 0) <= (started or 0)]
            phase, message = str(operation["phase"]), str(operation.get("message") or "")[:MAX_MESSAGE]
            record = {
                **common,
                "timestamp": operation["startedAt"],
                "description": f"{name}: sync {phase.lower()}: {message}"
                if message
                else f"{name}: sync {phase.lower()}",
                "current": ", ".join(str(r) for r in revisions if r),
                "previous": _revision(deployed[-1]) if deployed else "",
                "commit": _commit(revisions),
                "author": _initiator((operation.get("operation") or {}).get("initiatedBy")),
                "phase": phase,
                "message": message,
                "finished_at": operation.get("finishedAt"),
            }
            rows.append({**change_row(_present(record)), "source": f"{ref}#operation"})
        return rows


def _present(record: dict[str, Any]) -> dict[str, Any]:
    """The record without empty fields, so absent ones do not show up as nulls in the attributes."""
    return {k: v for k, v in record.items() if v is not None and v != ""}


def _time(value: Any) -> int | None:
    return parse_time_ns(value) if value else None


def _revision(entry: Item) -> str:
    revisions = entry.get("revisions") or [entry.get("revision")]
    return ", ".join(str(r) for r in revisions if r)


def _commit(revisions: list[Any]) -> str:
    """The first git sha among the revisions (a Helm chart's revision is its version, not a commit)."""
    return next((str(r) for r in revisions if r and _SHA.match(str(r))), "")


def _short(revisions: str) -> str:
    return ", ".join(r[:12] if _SHA.match(r) else r for r in revisions.split(", ")) or "?"


def _initiator(initiated: Any) -> str:
    if not isinstance(initiated, dict):
        return ""
    return str(initiated.get("username") or ("automated" if initiated.get("automated") else ""))


def _sources(entry: Item) -> str:
    """What was synced, short: "deploy/apps/cart", "chart checkout + deploy"."""
    sources = [s for s in entry.get("sources") or [entry.get("source")] if isinstance(s, dict)]
    parts = []
    for source in sources:
        repo = str(source.get("repoURL") or "").removesuffix(".git").rstrip("/").rsplit("/", 1)[-1]
        parts.append(
            f"chart {source['chart']}" if source.get("chart") else "/".join(filter(None, (repo, source.get("path"))))
        )
    return " + ".join(p for p in parts if p) or "the application"


def _where(entry: Item) -> dict[str, Any]:
    """Repository, path or chart of a single-source entry (a multi-source entry keeps its list)."""
    sources = entry.get("sources")
    if sources:
        return {"sources": sources}
    source = entry.get("source") or {}
    keys = {"repoURL": "repo_url", "path": "path", "chart": "chart", "targetRevision": "target_revision"}
    return {ours: source[theirs] for theirs, ours in keys.items() if source.get(theirs)}
