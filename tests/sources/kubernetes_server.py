"""A fake Kubernetes API server over the samples in samples/kubernetes-*.json.

It answers the list endpoints IncidentLens reads the way kube-apiserver does: cluster-wide and namespaced
paths, `limit`/`continue` chunking with `metadata.continue` and `remainingItemCount`, `labelSelector`
(=, !=, existence), a bearer token, `Status` error objects (401, 403 Forbidden with RBAC's message, 404,
410 Expired for an old continue token) and the events.k8s.io/v1 view of the same events.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import orjson

from .change_api_server import Answer, ApiServer, Request

SAMPLES = Path(__file__).parent / "samples"
RESOURCE_VERSION = "48213977"
EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)
_ROUTE = re.compile(
    r"^/(?P<group>api/v1|apis/apps/v1|apis/events\.k8s\.io/v1)(?:/namespaces/(?P<ns>[a-z0-9-]+))?/(?P<resource>[a-z]+)$"
)
_SERVED = {
    "api/v1": {"pods": "PodList", "events": "EventList"},
    "apis/apps/v1": {"deployments": "DeploymentList", "replicasets": "ReplicaSetList"},
    "apis/events.k8s.io/v1": {"events": "EventList"},
}
_GROUPS = {"api/v1": "", "apis/apps/v1": "apps", "apis/events.k8s.io/v1": "events.k8s.io"}


def status(code: int, reason: str, message: str, **extra: Any) -> Answer:
    return Answer(
        code,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            **extra,
            "code": code,
        },
    )


class KubernetesApi(ApiServer):
    def __init__(self, token: str | None = "k8s-test-token-c2VjcmV0") -> None:
        """`token=None`: clients are authenticated by their TLS certificate instead (see `start`)."""
        super().__init__()
        self.token = token
        self.objects: dict[str, list[dict[str, Any]]] = {
            name: orjson.loads((SAMPLES / f"kubernetes-{name}.json").read_bytes())["items"]
            for name in ("deployments", "replicasets", "pods", "events")
        }
        self.forbidden: set[str] = set()  # "events", "events.k8s.io", "replicasets", ...
        self.expire_continue = 0  # how many continue tokens to refuse with 410 Expired
        self.user = "system:serviceaccount:observability:incidentlens"

    def handle(self, request: Request) -> Answer:
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return status(401, "Unauthorized", "Unauthorized")
        route = _ROUTE.match(request.path)
        kind = _SERVED.get(route["group"], {}).get(route["resource"]) if route else None
        if route is None or kind is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        group, ns, resource = _GROUPS[route["group"]], route["ns"], route["resource"]
        if (resource if group != "events.k8s.io" else "events.k8s.io") in self.forbidden:
            scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
            qualified = f"{resource}.{group}" if group else resource
            return status(
                403,
                "Forbidden",
                f'{qualified} is forbidden: User "{self.user}" cannot list resource "{resource}" in API group '
                f'"{group}" {scope}',
                details={"group": group, "kind": resource},
            )
        items = [o for o in self.objects[resource] if not ns or o["metadata"].get("namespace") == ns]
        items = [o for o in items if _selected(o, request.arg("labelSelector"))]
        if group == "events.k8s.io":
            items = [_events_v1(o) for o in items]
        start = 0
        if request.arg("continue"):
            if self.expire_continue:
                self.expire_continue -= 1
                return status(410, "Expired", EXPIRED_MESSAGE)
            start = orjson.loads(base64.urlsafe_b64decode(request.arg("continue")))["start"]
        limit = int(request.arg("limit", "0") or 0)
        page = items[start : start + limit] if limit else items[start:]
        meta: dict[str, Any] = {"resourceVersion": RESOURCE_VERSION}
        rest = len(items) - start - len(page)
        if rest > 0:
            token = {"v": "meta.k8s.io/v1", "rv": int(RESOURCE_VERSION), "start": start + len(page)}
            meta["continue"] = base64.urlsafe_b64encode(orjson.dumps(token)).decode()
            meta["remainingItemCount"] = rest
        api_version = route["group"].removeprefix("apis/").removeprefix("api/")
        return Answer(200, {"kind": kind, "apiVersion": api_version, "metadata": meta, "items": page})


def _selected(obj: dict[str, Any], selector: str) -> bool:
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.rstrip("=")) != value:
                return False
        elif term not in labels:
            return False
    return True


def _events_v1(event: dict[str, Any]) -> dict[str, Any]:
    """The events.k8s.io/v1 shape of a core event, as the API server converts it."""
    source = event.get("source") or {}
    out = {
        "metadata": event["metadata"],
        "eventTime": event.get("eventTime"),
        "series": event.get("series"),
        "reportingController": event.get("reportingComponent") or source.get("component"),
        "reportingInstance": event.get("reportingInstance") or source.get("host"),
        "reason": event.get("reason"),
        "regarding": event.get("involvedObject"),
        "note": event.get("message"),
        "type": event.get("type"),
        "deprecatedSource": source,
        "deprecatedFirstTimestamp": event.get("firstTimestamp"),
        "deprecatedLastTimestamp": event.get("lastTimestamp"),
        "deprecatedCount": event.get("count"),
    }
    return {k: v for k, v in out.items() if v is not None}
