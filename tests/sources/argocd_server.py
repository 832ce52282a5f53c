"""A fake Argo CD API server over samples/argocd-applications.json.

`GET /api/v1/applications` as argocd-server answers it through grpc-gateway: a bearer token, the `projects`
(repeated; the older `project` too) and `selector` parameters, `{"metadata": ..., "items": [...]}` with
`items` left out when nothing matches, and gRPC-status error bodies `{"error", "code", "message"}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from .change_api_server import Answer, ApiServer, Request

SAMPLES = Path(__file__).parent / "samples"


def grpc_error(status: int, code: int, message: str) -> Answer:
    return Answer(status, {"error": message, "code": code, "message": message})


class ArgoCDApi(ApiServer):
    def __init__(self, token: str = "argocd-test-token-c2VjcmV0") -> None:
        super().__init__()
        self.token = token
        self.document: dict[str, Any] = orjson.loads((SAMPLES / "argocd-applications.json").read_bytes())
        self.forbidden = False

    def handle(self, request: Request) -> Answer:
        if request.path != "/api/v1/applications":
            return grpc_error(404, 5, "Not Found")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return grpc_error(401, 16, "invalid session: token signature is invalid")
        if self.forbidden:
            return grpc_error(403, 7, "permission denied")
        projects = request.query.get("projects", []) + request.query.get("project", [])
        selector = dict(term.split("=", 1) for term in request.arg("selector").split(",") if "=" in term)
        items = [
            app
            for app in self.document["items"]
            if (not projects or app["spec"]["project"] in projects)
            and all(app["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]
        body: dict[str, Any] = {"metadata": self.document["metadata"]}
        if items:
            body["items"] = items
        return Answer(200, body)
