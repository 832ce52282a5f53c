"""Code changes that introduce faults: the edit a bad commit makes and the traceback it then raises.

Line numbers are never written down here: they are found in the rendered source text, so the
tracebacks, the commit diff and `Truth.lines` always agree with the files in the generated repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

SITE = "/usr/local/lib/python3.12/site-packages"


@dataclass(frozen=True, slots=True)
class Frame:
    path: str  # repo-relative, or absolute for library frames
    needle: str  # a unique substring of the frame's source line
    function: str


@dataclass(frozen=True, slots=True)
class CodeChange:
    """One edit to one file, the commit that makes it, and the exception it causes (if any)."""

    path: str
    old: str
    new: str
    message: str
    frames: tuple[Frame, ...] = ()
    exc_type: str = ""
    exc_message: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # further (old, new) edits in the same file


def source_text(path: str) -> str:
    """Healthy content of a repo file from the templates beside this module (services/<svc>/<file>)."""
    parts = path.split("/")
    if parts[0] != "services":
        raise KeyError(path)
    name = parts[-1] + ".tmpl"
    return resources.files("incidentlens.simulate").joinpath("sources", parts[1], name).read_text("utf-8")


def apply(change: CodeChange, text: str) -> str:
    for old, new in ((change.old, change.new), *change.extra):
        if text.count(old) != 1:
            raise ValueError(f"fault edit for {change.path} does not match its template exactly once")
        text = text.replace(old, new)
    return text


def changed_lines(change: CodeChange, text_after: str) -> list[int]:
    """1-based [start, end] of the lines the edit changed in the new file.

    Lines the old and new snippets share at either end are not counted; a pure deletion names the line
    that now follows the deleted ones (where the missing check used to protect).
    """
    base = text_after[: text_after.index(change.new)].count("\n") + 1
    old, new = change.old.splitlines(), change.new.splitlines()
    shortest = min(len(old), len(new))
    head = 0
    while head < shortest and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    if len(new) - tail > head:
        return [base + head, base + len(new) - tail - 1]
    line = base + min(head, len(new) - 1)
    return [line, line]


def line_of(text: str, needle: str) -> tuple[int, str]:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.strip()
    raise ValueError(f"needle not found: {needle!r}")


def traceback_text(change: CodeChange, files: dict[str, str], *, instrumented: bool = False) -> str:
    """A real-looking Python traceback; `instrumented` adds the OTel gRPC interceptor frame on top."""
    out = ["Traceback (most recent call last):\n"]
    if instrumented:
        out.append(
            f'  File "{SITE}/opentelemetry/instrumentation/grpc/_server.py", line 329, in telemetry_interceptor\n'
            "    return behavior(request_or_iterator, context)\n"
        )
    for frame in change.frames:
        number, line = line_of(files[frame.path], frame.needle)
        out.append(f'  File "/app/{frame.path}", line {number}, in {frame.function}\n    {line}\n')
    out.append(f"{change.exc_type}: {change.exc_message}" if change.exc_message else change.exc_type)
    return "".join(out)


def bad_deploy(service: str) -> CodeChange:
    """The bad-deploy variants: a refactor that drops a None check or a fallback."""
    if service == "cart":
        return CodeChange(
            "services/cart/store.py",
            old="        cart = self._read(user_id)\n        if cart is None:\n            return []\n"
            '        return cart["items"]\n',
            new='        cart = self._read(user_id)\n        return cart["items"]\n',
            message="cart: simplify get_cart, empty carts are created on first add",
            frames=(
                Frame("services/cart/server.py", "items = self.store.get_cart(", "GetCart"),
                Frame("services/cart/store.py", 'return cart["items"]', "get_cart"),
            ),
            exc_type="TypeError",
            exc_message="'NoneType' object is not subscriptable",
        )
    if service == "shipping":
        return CodeChange(
            "services/shipping/quote.py",
            old="    factor = ZONE_FACTORS.get(address.country, DEFAULT_FACTOR)\n",
            new="    factor = ZONE_FACTORS[address.country.upper()]\n",
            message="shipping: normalise country codes before the zone lookup",
            frames=(
                Frame("services/shipping/server.py", "cost = quote.quote_for(", "GetQuote"),
                Frame("services/shipping/quote.py", "factor = ZONE_FACTORS[", "quote_for"),
            ),
            exc_type="KeyError",
            exc_message="'{value}'",
        )
    if service == "recommendation":
        return CodeChange(
            "services/recommendation/recommender.py",
            old="    exclude = set(request.product_ids)\n",
            new="    exclude = set(request.product_ids) | set(request.session.recently_viewed)\n",
            message="recommendation: skip recently viewed products",
            frames=(
                Frame("services/recommendation/server.py", "product_ids = recommend(", "ListRecommendations"),
                Frame("services/recommendation/recommender.py", "exclude = set(", "recommend"),
            ),
            exc_type="AttributeError",
            exc_message="'NoneType' object has no attribute 'recently_viewed'",
        )
    raise KeyError(service)


def attribute_fee(missing_card_type: str) -> CodeChange:
    """Per-network fees, with one network forgotten: only that card type fails."""
    fees = {"visa": 250, "mastercard": 265, "amex": 310, "discover": 240}
    fees.pop(missing_card_type)
    table = ", ".join(f'"{k}": {v}' for k, v in fees.items())
    return CodeChange(
        "services/payment/charge.py",
        old='    """Fee we book for the processor; one flat rate until the network contracts are signed."""\n'
        "    return max(30, total_cents * 29 // 1000)\n",
        new='    """Fee we book for the processor, per card network (contracts signed in November)."""\n'
        f"    network_fee_bps = {{{table}}}\n"
        "    fee_bps = network_fee_bps[card_type]\n"
        "    return max(30, total_cents * fee_bps // 10_000)\n",
        message="payment: book per-network processing fees",
        frames=(
            Frame("services/payment/server.py", "transaction_id = charge.charge(", "Charge"),
            Frame("services/payment/charge.py", "fee_cents = processing_fee(", "charge"),
            Frame("services/payment/charge.py", "fee_bps = network_fee_bps[", "processing_fee"),
        ),
        exc_type="KeyError",
        exc_message=f"'{missing_card_type}'",
    )


def slow_query() -> CodeChange:
    return CodeChange(
        "services/productcatalog/catalog_db.py",
        old='    "FROM products WHERE id = %s"\n',
        new='    "FROM products WHERE lower(id) = lower(%s)"\n',
        message="catalog: make product lookups case-insensitive",
    )


def memory_leak(service: str) -> CodeChange:
    """An unbounded module-level cache; the frames are where allocation finally fails."""
    if service == "email":
        return CodeChange(
            "services/email/mailer.py",
            old='    html = env.get_template("confirmation.html").render(order=order)\n',
            new='    html = env.get_template("confirmation.html").render(order=order)\n'
            '    _rendered[order["order_id"]] = html  # kept for the resend button\n',
            message="email: keep rendered confirmations for the resend button",
            frames=(
                Frame("services/email/server.py", "mailer.send_confirmation(", "send_order_confirmation"),
                Frame("services/email/mailer.py", "_rendered[order[", "send_confirmation"),
            ),
            exc_type="MemoryError",
            extra=(('SMTP_RELAY = ("smtp-relay", 25)\n', 'SMTP_RELAY = ("smtp-relay", 25)\n_rendered = {}\n'),),
        )
    if service == "recommendation":
        return CodeChange(
            "services/recommendation/recommender.py",
            old="    candidates = [p.id for p in products if p.id not in exclude]\n",
            new="    candidates = [p.id for p in products if p.id not in exclude]\n"
            "    _history.append((request.user_id, products))  # for offline model training\n",
            message="recommendation: record served catalogs for offline training",
            frames=(
                Frame("services/recommendation/server.py", "product_ids = recommend(", "ListRecommendations"),
                Frame("services/recommendation/recommender.py", "_history.append(", "recommend"),
            ),
            exc_type="MemoryError",
            extra=(("MAX_RESPONSES = 5\n", "MAX_RESPONSES = 5\n_history = []\n"),),
        )
    raise KeyError(service)
