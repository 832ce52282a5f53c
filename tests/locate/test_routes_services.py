"""Span names and routes -> handlers, code regions, service folders from manifests, catalog extras."""

from __future__ import annotations

import pytest

from incidentlens.errors import ConfigError
from incidentlens.locate.catalog import parse_catalog
from incidentlens.locate.locatecode import QueryKind, locate_code
from incidentlens.locate.manifests import infer_service_folders, manifest_paths
from incidentlens.locate.pysource import parse_python
from incidentlens.locate.regions import region_between
from incidentlens.locate.routes import normalize_route
from incidentlens.locate.services import folder_for_service

from .conftest import MakeRepo

CONTROLLER = """\
package com.acme.routes;

@RestController
@RequestMapping("/api/v1/routes")
public class RouteController {

  @GetMapping("/{id}")
  public Route getRoute(@PathVariable String id) {
    return service.find(id);
  }

  @PostMapping("/query")
  public List<Route> queryByIds(@RequestBody List<String> ids) {
    return service.findAll(ids);
  }
}
"""
FLASK = """\
from flask import Flask

app = Flask(__name__)


@app.route("/api/v1/mail/<order_id>", methods=["POST"])
def send_mail(order_id):
    return "ok"
"""
EXPRESS = """\
const router = require('express').Router();

function listProducts(req, res) {
  res.json([]);
}

router.get('/products/:id', function getProduct(req, res) {
  res.json({});
});
"""
GO_SERVER = """\
package main

func (s *CheckoutServer) PlaceOrder(ctx context.Context) error {
\treturn nil
}

func main() {
\tmux.HandleFunc("GET /orders/{id}", getOrder)
}
"""


def _spans(make_repo: MakeRepo, *spans: str) -> list[tuple[str, int, str]]:
    repo = make_repo(
        {
            "services/routes/src/main/java/com/acme/routes/RouteController.java": CONTROLLER,
            "services/email/server.py": FLASK,
            "services/frontend/routes.js": EXPRESS,
            "services/checkout/main.go": GO_SERVER,
        }
    )
    result = locate_code(repo, spans=list(spans))
    return [
        (q.locations[0].path.rsplit("/", 1)[-1], q.locations[0].line, q.locations[0].function) if q.locations else None
        for q in result.of_kind(QueryKind.SPAN)
    ]  # type: ignore[return-value]


def test_span_names_and_routes_reach_handlers(make_repo: MakeRepo) -> None:
    assert _spans(
        make_repo,
        "RouteController.queryByIds",
        "GET /api/v1/routes/{id}",
        "POST /api/v1/routes/query",
        "POST /api/v1/mail/{order_id}",
        "hipstershop.CheckoutServer/PlaceOrder",
        "GET /orders/{id}",
        "GET /unknown/path",
    ) == [
        ("RouteController.java", 12, "RouteController.queryByIds"),
        ("RouteController.java", 7, "RouteController.getRoute"),
        ("RouteController.java", 12, "RouteController.queryByIds"),
        ("server.py", 6, "send_mail"),
        ("main.go", 3, "CheckoutServer.PlaceOrder"),
        ("main.go", 7, "main"),
        None,
    ]


def test_route_normalisation() -> None:
    assert normalize_route("/api/v1/routes/:id/") == "/api/v1/routes/{}"
    assert normalize_route("/mail/<order_id>") == normalize_route("/mail/{orderId}") == "/mail/{}"
    assert normalize_route("") == "/"


def test_region_between_two_statements() -> None:
    source = parse_python(
        "charge.py", "def charge(a):\n    x = 1\n    y = 2\n    return x / y\n\n\ndef other():\n    pass\n"
    )
    same = region_between(source, 4, 2)
    assert (same.line, same.end_line, same.function, same.confidence) == (2, 4, "charge", 0.9)
    split = region_between(source, 3, 8)
    assert (split.line, split.end_line, split.function) == (7, 8, "other")


def test_service_folders_inferred_from_manifests() -> None:
    texts = {
        "docker-compose.yml": "services:\n  web-shop:\n    build: ./apps/storefront\n  db:\n    image: postgres\n",
        "apps/payments-api/Dockerfile": "FROM python:3.12\nCOPY . /app\n",
        "deploy/Dockerfile.checkout": "FROM golang\nRUN go build ./cmd/checkout-svc\n",
        "java/orders/pom.xml": "<project><parent><artifactId>parent</artifactId></parent>"
        "<artifactId>order-service</artifactId></project>",
        "node/ui/package.json": '{"name": "@shop/frontend", "version": "1.0.0"}',
        "go/ledger/go.mod": "module github.com/shop/ledger\n\ngo 1.23\n",
        "py/rates/pyproject.toml": '[project]\nname = "currency"\nversion = "1"\n',
        "services/cart/k8s/deployment.yaml": "kind: Deployment\nmetadata:\n  name: cart-svc\n",
        "broken/docker-compose.yml": "services: [unclosed\n",
    }
    assert sorted(manifest_paths([*texts, "README.md", "src/app.py"])) == sorted(texts)
    found = {(h.service, h.path) for h in infer_service_folders(texts)}
    assert {
        ("web-shop", "apps/storefront"),
        ("payments-api", "apps/payments-api"),
        ("checkout-svc", "cmd/checkout-svc"),
        ("order-service", "java/orders"),
        ("frontend", "node/ui"),
        ("ledger", "go/ledger"),
        ("currency", "py/rates"),
        ("cart-svc", "services/cart"),
    } <= found
    hints = infer_service_folders(texts)
    folder = folder_for_service("web_shop", catalog=None, files=[], inferred=hints)
    assert folder is not None and folder.path == "apps/storefront" and "docker-compose.yml" in folder.why
    catalog = parse_catalog("services:\n  web-shop: {path: services/web}\n")
    overridden = folder_for_service("web-shop", catalog=catalog, files=[], inferred=hints)
    assert overridden is not None and overridden.path == "services/web"


def test_locate_code_uses_manifest_folders(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "docker-compose.yml": "services:\n  billing:\n    build: ./apps/invoices\n",
            "apps/invoices/main.py": 'import logging\nlogging.getLogger().error("invoice %s rejected", 1)\n',
            "apps/other/main.py": 'import logging\nlogging.getLogger().error("invoice %s rejected", 1)\n',
        }
    )
    result = locate_code(repo, templates=["invoice <*> rejected"], service="billing")
    assert result.of_kind(QueryKind.TEMPLATE)[0].locations[0].path == "apps/invoices/main.py"


def test_catalog_keeps_extra_keys_and_flags_typos() -> None:
    catalog = parse_catalog(
        "services:\n"
        "  cart: {path: services/cart, language: python, replicas: 3, team: checkout}\n"
        "dependencies:\n  cart: [redis]\n"
        "simulator: {seed: 7}\n"
    )
    entry = catalog.get("cart")
    assert entry is not None and entry.language == "python" and entry.extra == {"replicas": 3}
    assert catalog.dependencies == {"cart": ["redis"]} and catalog.extra == {"simulator": {"seed": 7}}
    with pytest.raises(ConfigError, match=r"unknown key `services.cart.owners` \(did you mean `owner`\?\)"):
        parse_catalog("services:\n  cart: {path: x, owners: y}\n")
    with pytest.raises(ConfigError, match=r"unknown key `service` \(did you mean `services`\?\)"):
        parse_catalog("service:\n  cart: {path: x}\n")
