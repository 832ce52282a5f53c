"""The demo shop: its services, who owns them, and the call trees behind each user-facing endpoint.

Modelled on the OpenTelemetry demo (frontend -> checkout -> payment, ...), with the cache (redis), the
database (postgres) and the queue (kafka) as dependencies that appear only as CLIENT/PRODUCER spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Language(StrEnum):
    PYTHON = "python"
    GO = "go"
    JAVA = "java"


class CallKind(StrEnum):
    """How a step reaches its target: another service over RPC, or a dependency we do not trace inside."""

    RPC = "rpc"
    HTTP = "http"
    REDIS = "redis"
    POSTGRES = "postgres"
    KAFKA = "kafka"


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    language: Language
    team: str
    owner: str
    oncall: str
    rpc_service: str  # gRPC service name used in span names, e.g. oteldemo.PaymentService
    port: int
    base_cpu: float  # idle CPU ratio of the container
    base_memory_mb: float


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("frontend", Language.GO, "web", "@shop/web", "@maria-costa", "", 8080, 0.12, 180),
        Service(
            "checkout",
            Language.GO,
            "checkout",
            "@shop/checkout",
            "@jonas-weber",
            "oteldemo.CheckoutService",
            5050,
            0.08,
            96,
        ),
        Service(
            "cart",
            Language.PYTHON,
            "checkout",
            "@shop/checkout",
            "@jonas-weber",
            "oteldemo.CartService",
            7070,
            0.06,
            140,
        ),
        Service(
            "payment",
            Language.PYTHON,
            "payments",
            "@shop/payments",
            "@dana-kim",
            "oteldemo.PaymentService",
            50051,
            0.05,
            120,
        ),
        Service(
            "productcatalog",
            Language.PYTHON,
            "catalog",
            "@shop/catalog",
            "@omar-haddad",
            "oteldemo.ProductCatalogService",
            3550,
            0.09,
            150,
        ),
        Service(
            "currency",
            Language.PYTHON,
            "payments",
            "@shop/payments",
            "@dana-kim",
            "oteldemo.CurrencyService",
            7001,
            0.05,
            90,
        ),
        Service(
            "shipping",
            Language.PYTHON,
            "fulfilment",
            "@shop/fulfilment",
            "@lee-park",
            "oteldemo.ShippingService",
            50052,
            0.04,
            88,
        ),
        Service("email", Language.PYTHON, "fulfilment", "@shop/fulfilment", "@lee-park", "", 6060, 0.03, 110),
        Service(
            "recommendation",
            Language.PYTHON,
            "discovery",
            "@shop/discovery",
            "@priya-nair",
            "oteldemo.RecommendationService",
            9001,
            0.07,
            160,
        ),
        Service(
            "ad", Language.JAVA, "discovery", "@shop/discovery", "@priya-nair", "oteldemo.AdService", 9555, 0.10, 310
        ),
        Service("accounting", Language.PYTHON, "finance", "@shop/finance", "@jonas-weber", "", 0, 0.03, 100),
    )
}

# Dependencies: (peer.service, server.address, port, db.system or messaging.system)
REDIS = ("redis", "valkey-cart", 6379, "redis")
POSTGRES = ("postgres", "postgresql", 5432, "postgresql")
KAFKA = ("kafka", "kafka", 9092, "kafka")


@dataclass(frozen=True, slots=True)
class Step:
    """One operation: a server handler in `service` doing `self_ms` of work around its `calls`.

    `optional` calls do not fail their caller (the caller logs and degrades), like ads and
    recommendations on the product page or the confirmation e-mail after an order.
    """

    service: str
    op: str  # RPC method (or HTTP route for the frontend)
    self_ms: float
    calls: tuple[Call, ...] = ()


@dataclass(frozen=True, slots=True)
class Call:
    kind: CallKind
    target: Step | None = None  # for RPC calls
    statement: str = ""  # db statement or redis command or kafka topic
    ms: float = 1.0  # latency of a dependency call
    optional: bool = False
    repeat: int = 1


def _rpc(step: Step, *, optional: bool = False, repeat: int = 1) -> Call:
    return Call(CallKind.RPC, step, optional=optional, repeat=repeat)


def _pg(statement: str, ms: float) -> Call:
    return Call(CallKind.POSTGRES, statement=statement, ms=ms)


def _redis(command: str, ms: float) -> Call:
    return Call(CallKind.REDIS, statement=command, ms=ms)


GET_PRODUCT = Step(
    "productcatalog",
    "GetProduct",
    2.0,
    (
        _pg(
            "SELECT id, name, description, picture, price_units, price_nanos, categories FROM products WHERE id = %s",
            3.0,
        ),
    ),
)
LIST_PRODUCTS = Step(
    "productcatalog", "ListProducts", 3.0, (_pg("SELECT id, name, categories FROM products ORDER BY id LIMIT %s", 5.0),)
)
CONVERT = Step("currency", "Convert", 1.5)
GET_ADS = Step("ad", "GetAds", 4.0)
RECOMMEND = Step("recommendation", "ListRecommendations", 6.0, (_rpc(LIST_PRODUCTS),))
GET_CART = Step("cart", "GetCart", 1.0, (_redis("GET", 0.6),))
ADD_ITEM = Step("cart", "AddItem", 1.2, (_redis("GET", 0.6), _redis("SET", 0.7)))
EMPTY_CART = Step("cart", "EmptyCart", 0.8, (_redis("DEL", 0.5),))
GET_QUOTE = Step("shipping", "GetQuote", 2.5)
SHIP_ORDER = Step("shipping", "ShipOrder", 3.0)
CHARGE = Step("payment", "Charge", 35.0)
SEND_EMAIL = Step("email", "SendOrderConfirmation", 12.0)

PLACE_ORDER = Step(
    "checkout",
    "PlaceOrder",
    4.0,
    (
        _rpc(GET_CART),
        _rpc(GET_PRODUCT, repeat=2),
        _rpc(CONVERT),
        _rpc(GET_QUOTE),
        _rpc(CHARGE),
        _rpc(SHIP_ORDER),
        _rpc(EMPTY_CART),
        _rpc(SEND_EMAIL, optional=True),
        Call(CallKind.KAFKA, statement="orders", ms=1.5),
    ),
)

# The consumer side of the "orders" topic runs in its own trace, linked to the producer span.
CONSUME_ORDER = Step(
    "accounting",
    "orders process",
    4.0,
    (_pg("INSERT INTO orders (order_id, total_units, currency, created_at) VALUES (%s, %s, %s, now())", 2.0),),
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    method: str
    route: str
    weight: float
    root: Step = field(repr=False)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "browse_product",
        "GET",
        "/api/products/{productId}",
        0.34,
        Step(
            "frontend",
            "GET /api/products/{productId}",
            3.0,
            (_rpc(GET_PRODUCT), _rpc(CONVERT), _rpc(GET_ADS, optional=True), _rpc(RECOMMEND, optional=True)),
        ),
    ),
    Endpoint(
        "view_cart",
        "GET",
        "/api/cart",
        0.16,
        Step("frontend", "GET /api/cart", 2.5, (_rpc(GET_CART), _rpc(CONVERT), _rpc(GET_QUOTE))),
    ),
    Endpoint(
        "add_to_cart",
        "POST",
        "/api/cart",
        0.16,
        Step("frontend", "POST /api/cart", 2.0, (_rpc(GET_PRODUCT), _rpc(ADD_ITEM))),
    ),
    Endpoint(
        "checkout", "POST", "/api/checkout", 0.10, Step("frontend", "POST /api/checkout", 3.0, (_rpc(PLACE_ORDER),))
    ),
    Endpoint("get_ads", "GET", "/api/data", 0.10, Step("frontend", "GET /api/data", 1.0, (_rpc(GET_ADS),))),
    Endpoint(
        "recommendations",
        "GET",
        "/api/recommendations",
        0.14,
        Step("frontend", "GET /api/recommendations", 1.5, (_rpc(RECOMMEND), _rpc(CONVERT))),
    ),
)


def callers_of(service: str) -> list[str]:
    """Services that call `service` directly, in a stable order."""
    found: list[str] = []

    def walk(step: Step) -> None:
        for call in step.calls:
            if call.target is not None:
                if call.target.service == service and step.service not in found:
                    found.append(step.service)
                walk(call.target)

    for ep in ENDPOINTS:
        walk(ep.root)
    return found
