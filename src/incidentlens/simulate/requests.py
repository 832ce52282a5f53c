"""What one user request carries (user, card, country, ...) and what each handler logs about it.

Log messages here are the templates in the service sources (simulate/sources), rendered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from incidentlens.simulate.codefaults import line_of, source_text
from incidentlens.simulate.logs import LogWriter
from incidentlens.simulate.topology import Step

PRODUCTS = (
    ("OLJCESPC7Z", "National Park Foundation Explorascope"),
    ("66VCHSJNUP", "Starsense Explorer Refractor Telescope"),
    ("1YMWWN1N4O", "Eclipsmart Travel Refractor Telescope"),
    ("L9ECAV7KIM", "Lens Cleaning Kit"),
    ("2ZYFJ3GM2N", "Roof Binoculars"),
    ("0PUK6V6EV0", "Solar System Color Imager"),
    ("LS4PSXUNUM", "Red Flashlight"),
    ("9SIQT8TOJO", "Optical Tube Assembly"),
    ("6E92ZMYYFZ", "Solar Filter"),
    ("HQTGWGPNH4", "The Comet Book"),
)
CATEGORIES = ("telescopes", "accessories", "binoculars", "flashlights", "books", "assembly")
CARD_TYPES = (("visa", 0.44), ("mastercard", 0.28), ("amex", 0.17), ("discover", 0.11))
COUNTRIES = (
    ("US", 0.42),
    ("CA", 0.07),
    ("GB", 0.09),
    ("DE", 0.08),
    ("FR", 0.05),
    ("JP", 0.11),
    ("BR", 0.07),
    ("AU", 0.06),
    ("IN", 0.05),
)
ZONE_COUNTRIES = frozenset({"US", "CA", "MX", "GB", "DE", "FR", "NL"})
CURRENCIES = ("USD", "EUR", "CAD", "JPY", "GBP", "CHF")
CARD_PREFIX = {"visa": "4", "mastercard": "5", "amex": "3", "discover": "6"}


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for value, weight in table:
        x -= weight
        if x < 0:
            return value
    return table[-1][0]


@dataclass(slots=True)
class Ctx:
    """The request's business attributes, drawn once per user request."""

    user_id: str
    session_id: str
    product_id: str
    product_name: str
    currency: str
    card_type: str
    country: str
    zip_code: str
    cart_empty: bool
    has_session: bool
    order_id: str = ""
    amount_units: int = 0
    items: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def new_ctx(rng: random.Random) -> Ctx:
    product_id, product_name = rng.choice(PRODUCTS)
    return Ctx(
        user_id=f"{rng.getrandbits(64):016x}"[:12],
        session_id=f"{rng.getrandbits(128):032x}",
        product_id=product_id,
        product_name=product_name,
        currency=rng.choice(CURRENCIES),
        card_type=_pick(rng, CARD_TYPES),
        country=_pick(rng, COUNTRIES),
        zip_code=f"{rng.randrange(10000, 99999)}",
        cart_empty=rng.random() < 0.5,
        has_session=rng.random() < 0.35,
        amount_units=rng.randrange(9, 800),
        items=rng.randrange(1, 5),
    )


def server_attrs(step: Step, ctx: Ctx) -> dict[str, Any]:
    """Application attributes the handler puts on its server span."""
    op = step.op
    if op == "Charge":
        return {
            "app.payment.card_type": ctx.card_type,
            "app.payment.amount": float(ctx.amount_units),
            "app.payment.currency": "USD",
        }
    if op == "GetProduct":
        return {"app.product.id": ctx.product_id}
    if op in ("GetCart", "AddItem", "EmptyCart"):
        return {"app.user.id": ctx.user_id}
    if op == "GetQuote":
        return {"app.shipping.country": ctx.country, "app.shipping.zip_code": ctx.zip_code}
    if op == "Convert":
        return {"app.currency.conversion.from": "USD", "app.currency.conversion.to": ctx.currency}
    if op == "PlaceOrder":
        return {
            "app.user.id": ctx.user_id,
            "app.order.id": ctx.order_id,
            "app.order.items.count": ctx.items,
            "app.payment.card_type": ctx.card_type,
        }
    if op == "ListRecommendations":
        return {"app.products.count": 10}
    if op == "GetAds":
        return {"app.ads.contextKeys": "[telescopes]"}
    if op == "SendOrderConfirmation":
        return {"app.order.id": ctx.order_id}
    return {}


_GO_CALLER_CACHE: dict[str, str] = {}


def go_caller(needle: str) -> str:
    """zap's `caller` field: file:line of the logging call in the frontend sources."""
    if needle not in _GO_CALLER_CACHE:
        number, _ = line_of(source_text("services/frontend/handlers.go"), needle)
        _GO_CALLER_CACHE[needle] = f"frontend/handlers.go:{number}"
    return _GO_CALLER_CACHE[needle]


def log_success(logs: LogWriter, step: Step, ctx: Ctx, t: int, tid: str, sid: str) -> None:
    """The info lines a handler writes when it succeeds."""
    s, op = step.service, step.op
    kw: dict[str, Any] = {"trace_id": tid, "span_id": sid}
    if s == "frontend":
        fields = {"method": step.op.split(" ")[0], "route": step.op.split(" ", 1)[1], "status": 200}
        logs.log(s, t, "INFO", go_caller('"request complete"'), "request complete", fields=fields, **kw)
    elif op == "PlaceOrder":
        logs.log(
            s, t - 2_000_000, "INFO", "", "payment went through", fields={"transaction_id": ctx.order_id[::-1]}, **kw
        )
        logs.log(s, t, "INFO", "", "order placed", fields={"order_id": ctx.order_id}, **kw)
    elif op == "Charge":
        logs.log(
            s,
            t - 1_500_000,
            "INFO",
            "payment.charge",
            f"Charging card: amount={ctx.amount_units} currency=USD card_type={ctx.card_type}",
            fields={"card_type": ctx.card_type},
            **kw,
        )
        logs.log(
            s,
            t,
            "INFO",
            "payment.charge",
            f"Transaction processed: transaction_id={ctx.order_id[::-1]} "
            f"card_type={ctx.card_type} fee_cents={30 + ctx.amount_units * 29 // 10}",
            **kw,
        )
    elif op == "GetCart":
        logs.log(s, t, "INFO", "cart.server", f"GetCart called for user_id={ctx.user_id}", **kw)
    elif op == "AddItem":
        logs.log(
            s,
            t,
            "INFO",
            "cart.server",
            f"AddItem called: user_id={ctx.user_id} product_id={ctx.product_id} quantity=1",
            **kw,
        )
    elif op == "EmptyCart":
        logs.log(s, t, "INFO", "cart.server", f"EmptyCart called for user_id={ctx.user_id}", **kw)
    elif op == "GetProduct":
        logs.log(
            s, t, "INFO", "productcatalog.server", f"Product found: id={ctx.product_id} name={ctx.product_name}", **kw
        )
    elif op == "ListProducts":
        logs.log(s, t, "INFO", "productcatalog.server", "Listing products: count=10", **kw)
    elif op == "Convert":
        logs.log(s, t, "INFO", "currency.server", f"conversion request: from=USD to={ctx.currency}", **kw)
    elif op == "GetQuote":
        logs.log(
            s,
            t,
            "INFO",
            "shipping.server",
            f"quote computed: zip={ctx.zip_code} country={ctx.country} cost={8 + ctx.items}.99",
            **kw,
        )
    elif op == "ShipOrder":
        logs.log(
            s,
            t,
            "INFO",
            "shipping.server",
            f"shipment created: tracking_id={ctx.session_id[:8]}-{ctx.session_id[8:12]}-{ctx.session_id[12:16]}",
            **kw,
        )
    elif op == "SendOrderConfirmation":
        logs.log(
            s,
            t,
            "INFO",
            "email.mailer",
            f"order confirmation sent to {ctx.user_id}@example.com for order {ctx.order_id}",
            **kw,
        )
    elif op == "ListRecommendations":
        logs.log(s, t, "INFO", "recommendation", "recommendations computed", fields={"count": 5}, **kw)
    elif op == "GetAds":
        logs.log(s, t, "INFO", "oteldemo.AdService", "received ad request (context_words=[telescopes])", **kw)
