"""Kubernetes as a source of rollouts (changes) and of cluster trouble (events, container terminations).

Speaks the Kubernetes API over HTTPS with httpx, no client library (apps/v1, v1, events.k8s.io/v1):
  GET /apis/apps/v1[/namespaces/NS]/deployments    service names: label app.kubernetes.io/name, app, or the name
  GET /apis/apps/v1[/namespaces/NS]/replicasets    rollout history: one ReplicaSet per Deployment revision
  GET /api/v1[/namespaces/NS]/pods                 containers' last terminations (OOMKilled, exit codes)
  GET /api/v1[/namespaces/NS]/events               or /apis/events.k8s.io/v1/... when the core API refuses
Lists are read in pages (`limit`, `continue`); an expired continue token (410 Gone) restarts that list once,
then the list is reported incomplete. Without `namespaces` the cluster-wide lists are read.

Rows:
  * changes: a `deploy` per ReplicaSet created inside the window (annotation deployment.kubernetes.io/revision):
    current = its image(s), previous = the image(s) of the Deployment's revision before it.
  * logs: events and container terminations are symptoms, not changes. The log analysis already finds bursts
    of errors per service and message template, so they are written as log rows it reads like any other:
    logger "kubernetes.event", level ERROR (OOM kills, crash-loop back-offs, evictions, failed pulls, non-zero
    exits) or WARN (probe failures, scheduling and mount failures, kills, any other Warning event), a body such
    as "OOMKilled: container cart in pod cart-7d9f-x2 (exit 137)", attributes reason, namespace, pod, count.
"""

from __future__ import annotations

import os
import re
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from incidentlens.errors import SourceError
from incidentlens.ingest.changes import change_row
from incidentlens.ingest.common import dumps, parse_time_ns
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.changefeed import Row, RowWriter, inside
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import HttpClient, redact_url
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_PAGE_SIZE = 500
MAX_MESSAGE = 1000
_OPTIONS = frozenset({"namespaces", "label_selector", "in_cluster", "service_account_dir", "page_size"})
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_PATHS = {
    "deployments": "/apis/apps/v1{ns}/deployments",
    "replicasets": "/apis/apps/v1{ns}/replicasets",
    "pods": "/api/v1{ns}/pods",
    "events": "/api/v1{ns}/events",
    "events.k8s.io": "/apis/events.k8s.io/v1{ns}/events",
}
_SERVICE_LABELS = ("app.kubernetes.io/name", "app")
_REVISION = "deployment.kubernetes.io/revision"
_CHANGE_CAUSE = "kubernetes.io/change-cause"
_LOGGER = "kubernetes.event"
# Reasons kept whatever the event type, with their level; any other Warning event is kept as WARN.
_EVENT_LEVELS = {
    "OOMKilling": "ERROR",
    "OOMKilled": "ERROR",
    "SystemOOM": "ERROR",
    "BackOff": "ERROR",
    "Evicted": "ERROR",
    "Failed": "ERROR",
    "Unhealthy": "WARN",
    "FailedScheduling": "WARN",
    "FailedMount": "WARN",
    "Killing": "WARN",
}
# Names Kubernetes generates end in random parts from its vowel-free alphabet: a ReplicaSet's pods in
# -<pod-template-hash>-<5>, a DaemonSet's or Job's in -<5>, a StatefulSet's in -<ordinal>. The alphabet keeps
# "node-exporter-x7k2p" from being read as ReplicaSet "node-exporter" of Deployment "node".
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_REPLICASET_NAME = re.compile(rf"^(?P<owner>.+)-{_SAFE}{{6,10}}\Z")
_REPLICASET_POD = re.compile(rf"^(?P<rs>(?P<owner>.+)-{_SAFE}{{6,10}})-{_SAFE}{{5}}\Z")
_OWNED_POD = re.compile(rf"^(?P<owner>.+)-(?:{_SAFE}{{5}}|\d+)\Z")
_CONTAINER_PATH = re.compile(r"spec\.(?:initContainers|containers|ephemeralContainers)\{(?P<name>[^}]+)\}")

Item = dict[str, Any]


class KubernetesSource:
    kind = "kubernetes"
    signals = ("changes", "logs")
    live = True

    def __init__(self, config: SourceConfig) -> None:
        config.check_options(_OPTIONS)
        options = config.options
        namespaces = options.get("namespaces", [])
        if not isinstance(namespaces, list) or not all(isinstance(n, str) and _NAMESPACE.match(n) for n in namespaces):
            raise config.option_error("'namespaces' must be a list of namespace names (omit it for all namespaces)")
        selector = options.get("label_selector", "")
        if not isinstance(selector, str):
            raise config.option_error("'label_selector' must be a selector such as 'app.kubernetes.io/part-of=shop'")
        in_cluster = options.get("in_cluster", False)
        if not isinstance(in_cluster, bool):
            raise config.option_error("'in_cluster' must be true or false")
        page_size = options.get("page_size", DEFAULT_PAGE_SIZE)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 5000:
            raise config.option_error("'page_size' must be a whole number from 1 to 5000")
        account_dir = options.get("service_account_dir", str(SERVICE_ACCOUNT_DIR))
        if not isinstance(account_dir, str) or not account_dir:
            raise config.option_error("'service_account_dir' must name a folder")
        if in_cluster and (config.bearer_token or config.username):
            raise config.option_error("'in_cluster' uses the pod's service-account token: give no other credentials")
        if not in_cluster and not config.url:
            raise config.option_error("'url' (the API server, https://HOST:6443) is required unless 'in_cluster: true'")
        self.name = config.name
        self.config = config
        self.namespaces: tuple[str, ...] = tuple(namespaces)
        self.label_selector = selector
        self.in_cluster = in_cluster
        self.service_account_dir = Path(account_dir)
        self.page_size = page_size

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        started = time.perf_counter()
        config = self._effective_config()
        report = SourceReport(self.name, self.kind, redact_url(config.url))
        with HttpClient(config, report) as client:
            reading = _Reading(self, client, report, query.window)
            reading.read(progress)
        report.seconds = time.perf_counter() - started
        if not reading.usable:
            report.failed = True
            raise SourceError(f"kubernetes source {self.name!r}: nothing could be read: " + "; ".join(report.errors))
        writer = RowWriter(query, sink, report, self.config.max_rows)
        writer.add("changes", sorted(reading.changes, key=lambda r: r["ts_ns"]))
        writer.add("logs", sorted(reading.logs, key=lambda r: r["ts_ns"]))
        writer.close()
        return report

    def _effective_config(self) -> SourceConfig:
        """In a pod: the API server from KUBERNETES_SERVICE_HOST/PORT, the service account's token and CA."""
        if not self.in_cluster:
            return self.config
        token_file, ca_file = self.service_account_dir / "token", self.service_account_dir / "ca.crt"
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SourceError(
                f"kubernetes source {self.name!r}: in_cluster: cannot read the service-account token "
                f"{token_file} ({exc.strerror or exc})"
            ) from None
        url = self.config.url
        if not url:
            host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            if not host:
                raise SourceError(
                    f"kubernetes source {self.name!r}: in_cluster: KUBERNETES_SERVICE_HOST is not set "
                    "(not running in a pod?); give 'url'"
                )
            url = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        verify = self.config.tls_verify
        if verify is True and ca_file.is_file():
            verify = str(ca_file)
        return replace(self.config, url=url, bearer_token=token, tls_verify=verify)


class _Reading:
    """One load: the lists read, the service names they give, and the rows built from them."""

    def __init__(self, source: KubernetesSource, client: HttpClient, report: SourceReport, window: TimeRange):
        self.source = source
        self.client = client
        self.report = report
        self.window = window
        self.usable = 0  # lists that gave at least something
        self.unreachable = False  # a request got no answer at all: the remaining lists are not tried
        self.deployment_service: dict[tuple[str, str], str] = {}
        self.replicaset_service: dict[tuple[str, str], str] = {}
        self.pod_service: dict[tuple[str, str], str] = {}
        self.changes: list[Row] = []
        self.logs: list[Row] = []

    def read(self, progress: SourceProgress) -> None:
        lists: dict[str, list[Item]] = {"deployments": [], "replicasets": [], "pods": [], "events": []}
        steps = [(ns, what) for ns in self.source.namespaces or ("",) for what in lists]
        for index, (ns, what) in enumerate(steps, 1):
            if self.unreachable:
                self.report.notes.append(f"the API server did not answer; {len(steps) - index + 1} lists not tried")
                break
            where = f" in {ns}" if ns else ""
            progress(f"{self.source.name}: listing {what}{where} ({index}/{len(steps)})")
            lists[what].extend(self._events(ns) if what == "events" else self._read(_path(what, ns), selector=True))
        self._name_deployments(lists["deployments"])
        self._rollouts(lists["replicasets"])
        self._terminations(lists["pods"])
        self._event_rows(lists["events"])

    # --- listing -------------------------------------------------------------------------------------------

    def _read(self, path: str, *, selector: bool) -> list[Item]:
        items, error = self._list(path, selector=selector)
        if error:
            self.report.errors.append(error)
        self.usable += bool(items or error is None)
        return items

    def _events(self, ns: str) -> list[Item]:
        """Core v1 events; the events.k8s.io/v1 view of the same objects when the core list is refused."""
        items, error = self._list(_path("events", ns), selector=False)
        if error is None:
            self.usable += 1
            return items
        if self.unreachable:
            self.report.errors.append(error)
            return items
        other, other_error = self._list(_path("events.k8s.io", ns), selector=False)
        if other_error is None:
            self.usable += 1
            self.report.notes.append(f"{error}; read events.k8s.io/v1 instead")
            return other
        self.report.errors.extend((error, other_error))
        self.usable += bool(items or other)
        return items if len(items) >= len(other) else other

    def _list(self, path: str, *, selector: bool) -> tuple[list[Item], str | None]:
        """Every item of one list, page by page, and why it is missing or incomplete (None: complete)."""
        params: dict[str, Any] = {"limit": self.source.page_size}
        if selector and self.source.label_selector:
            params["labelSelector"] = self.source.label_selector
        items: list[Item] = []
        token, restarted = "", False
        while True:
            try:
                body = self.client.get_json(path, {**params, "continue": token} if token else params)
            except SourceError as exc:
                if token and exc.status == 410 and not restarted:
                    restarted, items, token = True, [], ""
                    self.report.notes.append(f"{path}: the continue token expired (410 Gone); the list was restarted")
                    continue
                self.unreachable = exc.status is None
                return items, f"{exc}" + (f" (list incomplete: {len(items)} items read)" if items else "")
            if not isinstance(body, dict) or not isinstance(body.get("items") or [], list):
                where = redact_url(f"{self.client.config.url}{path}")
                return items, f"kubernetes source {self.source.name!r}: GET {where}: the answer is not a List"
            items.extend(item for item in body.get("items") or [] if isinstance(item, dict))
            token = str((body.get("metadata") or {}).get("continue") or "")
            if not token:
                return items, None

    # --- rows ----------------------------------------------------------------------------------------------

    def _name_deployments(self, deployments: list[Item]) -> None:
        for deployment in deployments:
            meta = deployment.get("metadata") or {}
            template = ((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}
            name = str(meta.get("name") or "")
            key = (str(meta.get("namespace") or ""), name)
            self.deployment_service[key] = _label_service(meta) or _label_service(template) or name

    def _rollouts(self, replicasets: list[Item]) -> None:
        """A deploy change per ReplicaSet created in the window; its previous image is the revision before."""
        history: dict[tuple[str, str], list[tuple[int, Item]]] = defaultdict(list)
        for rs in replicasets:
            meta = rs.get("metadata") or {}
            ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            owner = _owner(meta, "Deployment")
            service = self.deployment_service.get((ns, owner)) or _label_service(meta) or owner or name
            self.replicaset_service[(ns, name)] = service
            number = str((meta.get("annotations") or {}).get(_REVISION) or "")
            if owner and number.isdigit():
                history[(ns, owner)].append((int(number), rs))
        for (ns, deployment), revisions in history.items():
            revisions.sort(key=lambda pair: pair[0])
            for index, (revision, rs) in enumerate(revisions):
                meta = rs.get("metadata") or {}
                created = meta.get("creationTimestamp")
                if not inside(self.window, _time(created)):
                    continue
                current = _images(rs)
                previous = _images(revisions[index - 1][1]) if index else ""
                name = str(meta.get("name") or "")
                if not previous:
                    what = current
                elif previous == current:
                    what = f"pod template changed, image unchanged: {current}"
                else:
                    what = f"{previous} -> {current}"
                record: dict[str, Any] = {
                    "kind": "deploy",
                    "service": self.replicaset_service[(ns, name)],
                    "timestamp": created,
                    "description": f"{deployment}: rollout to revision {revision} ({what})",
                    "current": current,
                    "previous": previous,
                    "namespace": ns,
                    "deployment": deployment,
                    "replicaset": name,
                    "revision": revision,
                }
                cause = (meta.get("annotations") or {}).get(_CHANGE_CAUSE)
                if cause:
                    record["change_cause"] = cause
                row = change_row(record)
                row["source"] = f"{self.source.name}:/apis/apps/v1/namespaces/{ns}/replicasets/{name}"
                self.changes.append(row)

    def _terminations(self, pods: list[Item]) -> None:
        """A log row per container that ended with a non-zero exit inside the window (its last or current state)."""
        for pod in pods:
            meta = pod.get("metadata") or {}
            ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            owner_rs = _owner(meta, "ReplicaSet")
            service = self.replicaset_service.get((ns, owner_rs)) or _label_service(meta) or _owner(meta) or name
            self.pod_service[(ns, name)] = service
            status = pod.get("status") or {}
            statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
            for container in statuses:
                for state in ("lastState", "state"):
                    ended = (container.get(state) or {}).get("terminated")
                    if not isinstance(ended, dict) or ended.get("exitCode") in (0, None):
                        continue
                    ts = _time(ended.get("finishedAt"))
                    if ts is None or not inside(self.window, ts):
                        continue
                    reason = str(ended.get("reason") or "Terminated")
                    body = f"{reason}: container {container.get('name')} in pod {name} (exit {ended['exitCode']})"
                    if ended.get("message"):
                        body += f": {str(ended['message'])[:MAX_MESSAGE]}"
                    attributes = {
                        "reason": reason,
                        "namespace": ns,
                        "pod": name,
                        "container": container.get("name"),
                        "exit_code": ended["exitCode"],
                        "restart_count": container.get("restartCount", 0),
                        "started_at": ended.get("startedAt"),
                    }
                    source = f"{self.source.name}:/api/v1/namespaces/{ns}/pods/{name}"
                    self.logs.append(_log_row(ts, service, "ERROR", body, attributes, source))

    def _event_rows(self, events: list[Item]) -> None:
        """A log row per event worth reading (see `_EVENT_LEVELS`) last seen, or first seen, inside the window."""
        for event in events:
            reason, kind = str(event.get("reason") or ""), str(event.get("type") or "")
            level = _EVENT_LEVELS.get(reason) or ("WARN" if kind == "Warning" else None)
            if level is None:
                continue
            meta = event.get("metadata") or {}
            series = event.get("series") or {}
            first = _first(event.get("firstTimestamp"), event.get("deprecatedFirstTimestamp"), event.get("eventTime"))
            last = _first(
                series.get("lastObservedTime"),
                event.get("lastTimestamp"),
                event.get("deprecatedLastTimestamp"),
                event.get("eventTime"),
                meta.get("creationTimestamp"),
            )
            ts = last if inside(self.window, last) else first if inside(self.window, first) else None
            obj = event.get("involvedObject") or event.get("regarding") or {}
            ns = str(obj.get("namespace") or meta.get("namespace") or "")
            obj_kind, obj_name = str(obj.get("kind") or ""), str(obj.get("name") or "")
            service = self._object_service(ns, obj_kind, obj_name)
            if ts is None or service is None:
                continue
            message = str(event.get("message") or event.get("note") or "")[:MAX_MESSAGE]
            body = f"{reason}: {message}"
            if obj_name not in message:
                body += f" ({obj_kind.lower()} {obj_name})"
            origin = event.get("source") or {}
            attributes: dict[str, Any] = {
                "reason": reason,
                "type": kind,
                "namespace": ns,
                "object": f"{obj_kind}/{obj_name}",
                "count": series.get("count") or event.get("count") or event.get("deprecatedCount") or 1,
                "component": origin.get("component") or event.get("reportingController") or "",
                "node": origin.get("host") or event.get("reportingInstance") or "",
            }
            if obj_kind == "Pod":
                attributes["pod"] = obj_name
            container = _CONTAINER_PATH.search(str(obj.get("fieldPath") or ""))
            if container:
                attributes["container"] = container["name"]
            if first is not None and first != ts:
                attributes["first_seen_ns"] = first
            source = f"{self.source.name}:/api/v1/namespaces/{ns}/events/{meta.get('name', '')}"
            self.logs.append(_log_row(ts, service, level, body, attributes, source))

    def _object_service(self, ns: str, kind: str, name: str) -> str | None:
        """The service an event's object belongs to; None when a label selector left that object out."""
        known = {"Pod": self.pod_service, "ReplicaSet": self.replicaset_service, "Deployment": self.deployment_service}
        if (ns, name) in known.get(kind, {}):
            return known[kind][(ns, name)]
        pod = _REPLICASET_POD.match(name) if kind == "Pod" else None
        if pod and (ns, pod["rs"]) in self.replicaset_service:  # a pod deleted since (evicted, replaced)
            return self.replicaset_service[(ns, pod["rs"])]
        if self.source.label_selector:
            return None
        if kind == "Node":
            return ""
        pattern = {"Pod": _REPLICASET_POD, "ReplicaSet": _REPLICASET_NAME}.get(kind)
        generated = (pattern.match(name) if pattern else None) or (_OWNED_POD.match(name) if kind == "Pod" else None)
        return generated["owner"] if generated else name


def _path(resource: str, ns: str) -> str:
    return _PATHS[resource].format(ns=f"/namespaces/{ns}" if ns else "")


def _label_service(meta: Item) -> str:
    labels = meta.get("labels") or {}
    return next((str(labels[k]) for k in _SERVICE_LABELS if labels.get(k)), "")


def _owner(meta: Item, kind: str | None = None) -> str:
    """The name of the object's owner (of `kind` when given), preferring its controller."""
    owners = [o for o in meta.get("ownerReferences") or [] if kind is None or o.get("kind") == kind]
    owners.sort(key=lambda o: not o.get("controller"))
    return str(owners[0].get("name") or "") if owners else ""


def _images(rs: Item) -> str:
    containers = (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    if len(containers) == 1:
        return str(containers[0].get("image") or "")
    return ", ".join(f"{c.get('name')}={c.get('image')}" for c in containers)


def _time(value: Any) -> int | None:
    """Unix ns of a Kubernetes time; None for absent and zero times."""
    ns = parse_time_ns(value) if value else None
    return ns or None


def _first(*values: Any) -> int | None:
    return next((ns for ns in map(_time, values) if ns is not None), None)


def _log_row(ts: int, service: str, level: str, body: str, attributes: dict[str, Any], source: str) -> Row:
    return {
        "ts_ns": ts,
        "service": service,
        "level": level,
        "body": body,
        "logger": _LOGGER,
        "attributes": dumps({k: v for k, v in attributes.items() if v not in (None, "")}),
        "source": source,
    }
