"""The fault catalogue and, per seed, the resolved plan of one fault: where it strikes and how hard.

A `Plan` is plain data that the traffic, log and metric generators consult; none of them branch on
fault names, only on the effects switched on here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from incidentlens.model.enums import FaultKind
from incidentlens.simulate import codefaults
from incidentlens.simulate.codefaults import CodeChange


@dataclass(frozen=True, slots=True)
class FaultSpec:
    name: str
    description: str
    kind: FaultKind | None  # None only for the fault-free scenario
    candidates: tuple[str, ...]  # root-cause services the seed picks from


FAULTS: dict[str, FaultSpec] = {
    f.name: f
    for f in (
        FaultSpec(
            "bad_deploy_exception",
            "A deploy raises an exception in one service's request handler.",
            FaultKind.CODE,
            ("cart", "shipping", "recommendation"),
        ),
        FaultSpec(
            "payment_attribute_failure",
            "Payment fails only for one card type after a fee change.",
            FaultKind.CODE,
            ("payment",),
        ),
        FaultSpec(
            "dependency_unreachable",
            "A service stops; its callers get connection refused.",
            FaultKind.DEPENDENCY,
            ("payment", "currency", "shipping"),
        ),
        FaultSpec(
            "cache_failure_memory",
            "The cart's redis times out; cart falls back to memory and grows.",
            FaultKind.DEPENDENCY,
            ("cart",),
        ),
        FaultSpec(
            "cpu_saturation",
            "One service's CPU saturates; its latency propagates to callers.",
            FaultKind.CPU,
            ("currency", "productcatalog", "ad", "recommendation"),
        ),
        FaultSpec(
            "memory_leak",
            "A deploy leaks memory: steady growth, GC pauses, then OOM restarts.",
            FaultKind.MEMORY,
            ("email", "recommendation"),
        ),
        FaultSpec(
            "slow_db_query",
            "A deploy changes a product query so it no longer uses the index.",
            FaultKind.CODE,
            ("productcatalog",),
        ),
        FaultSpec(
            "connection_pool_exhaustion",
            "The catalog's database pool saturates; acquires time out.",
            FaultKind.SATURATION,
            ("productcatalog",),
        ),
        FaultSpec(
            "config_timeout",
            "A config change lowers a checkout client timeout below the callee latency.",
            FaultKind.CONFIG,
            ("checkout",),
        ),
        FaultSpec(
            "queue_consumer_lag",
            "The accounting consumer slows down; kafka consumer lag grows.",
            FaultKind.SATURATION,
            ("accounting",),
        ),
        FaultSpec(
            "network_delay",
            "Added network latency on one service; slower calls, no errors.",
            FaultKind.NETWORK,
            ("cart", "productcatalog", "currency"),
        ),
        FaultSpec("none", "No fault: a healthy system with routine noise and a noisy alert.", None, ()),
    )
}

DEFAULT_FAULT = "bad_deploy_exception"

# Which handler raises, how often, and which request attribute the errors concentrate on.
_ERROR_SITE = {
    "cart": ("GetCart", 0.55, "app.user.id", ""),
    "shipping": ("GetQuote", 0.4, "app.shipping.country", ""),
    "recommendation": ("ListRecommendations", 0.65, "app.session.id", ""),
}


@dataclass(frozen=True, slots=True)
class Plan:
    """One fault resolved for one seed. Times are Unix ns; `ramp_s` is how long the fault takes to peak."""

    fault: str
    service: str
    kind: FaultKind | None
    description: str
    onset_ns: int
    ramp_s: float = 30.0
    change: CodeChange | None = None
    error_op: str = ""  # handler that raises
    error_rate: float = 0.0
    attr_key: str = ""  # span attribute the failures concentrate on
    attr_value: str = ""
    dead: bool = False
    cpu: bool = False
    leak: bool = False
    net_delay_ms: float = 0.0
    db_slow_ms: float = 0.0
    db_statement: str = ""
    pool: bool = False
    cache_down: bool = False
    timeout_target: str = ""
    timeout_ms: float = 0.0
    consumer_slow: bool = False
    config: dict[str, str] = field(default_factory=dict)

    def level(self, t_ns: int) -> float:
        """0 before onset, rising linearly to 1 over `ramp_s`."""
        if not self.service or t_ns < self.onset_ns:
            return 0.0
        return min(1.0, (t_ns - self.onset_ns) / (self.ramp_s * 1e9) + 0.05)


def resolve(name: str, rng: random.Random, onset_ns: int) -> Plan:
    """Pick the root-cause service and the details for `name`; raises KeyError for unknown faults."""
    spec = FAULTS[name]
    if name == "none":
        return Plan(name, "", None, spec.description, onset_ns)
    service = rng.choice(spec.candidates)
    base = Plan(name, service, spec.kind, spec.description, onset_ns)
    if name == "bad_deploy_exception":
        op, rate, key, _ = _ERROR_SITE[service]
        change = codefaults.bad_deploy(service)
        desc = f"{change.message!r} deployed to {service} raises {change.exc_type} in {op}"
        return replace(base, description=desc, ramp_s=1.0, change=change, error_op=op, error_rate=rate, attr_key=key)
    if name == "payment_attribute_failure":
        card = rng.choice(("amex", "discover", "mastercard"))
        change = codefaults.attribute_fee(card)
        desc = f"payment Charge raises KeyError for card_type={card} after {change.message!r}"
        return replace(
            base,
            description=desc,
            ramp_s=1.0,
            change=change,
            error_op="Charge",
            error_rate=1.0,
            attr_key="app.payment.card_type",
            attr_value=card,
        )
    if name == "dependency_unreachable":
        return replace(base, description=f"{service} is down: no process accepts connections", ramp_s=1.0, dead=True)
    if name == "cache_failure_memory":
        return replace(
            base,
            description="cart's redis cache times out; cart caches in process memory",
            ramp_s=5.0,
            cache_down=True,
        )
    if name == "cpu_saturation":
        return replace(base, description=f"{service} CPU saturated by a runaway loop", ramp_s=60.0, cpu=True)
    if name == "memory_leak":
        change = codefaults.memory_leak(service)
        return replace(
            base,
            description=f"{change.message!r} leaks memory in {service}",
            ramp_s=300.0,
            change=change,
            leak=True,
            error_op=_LEAK_OP[service],
        )
    if name == "slow_db_query":
        change = codefaults.slow_query()
        statement = (
            "SELECT id, name, description, picture, price_units, price_nanos, categories "
            "FROM products WHERE lower(id) = lower(%s)"
        )
        return replace(
            base,
            description="product lookup query no longer uses the primary key index",
            ramp_s=5.0,
            change=change,
            db_slow_ms=rng.uniform(350.0, 600.0),
            db_statement=statement,
        )
    if name == "connection_pool_exhaustion":
        return replace(
            base, description="productcatalog's PostgreSQL pool is exhausted (in_use == max)", ramp_s=90.0, pool=True
        )
    if name == "config_timeout":
        target = rng.choice(("payment", "shipping"))
        key = f"{target}_timeout_ms"
        previous = {"payment": "3000", "shipping": "2000"}[target]
        current = {"payment": "40", "shipping": "3"}[target]
        return replace(
            base,
            description=f"checkout config {key} lowered from {previous} to {current}",
            ramp_s=1.0,
            timeout_target=target,
            timeout_ms=float(current),
            config={"key": key, "previous": previous, "current": current},
        )
    if name == "queue_consumer_lag":
        return replace(
            base,
            description="accounting consumer processing slowed; orders pile up in kafka",
            ramp_s=20.0,
            consumer_slow=True,
        )
    if name == "network_delay":
        return replace(
            base,
            description=f"~{150} ms added network latency on {service}'s interface",
            ramp_s=10.0,
            net_delay_ms=rng.uniform(120.0, 220.0),
        )
    raise KeyError(name)


_LEAK_OP = {"email": "SendOrderConfirmation", "recommendation": "ListRecommendations"}


LEAK_FIRST_OOM_S = 270.0
LEAK_PERIOD_S = 240.0
RESTART_S = 20.0


def down_windows(plan: Plan, end_ns: int) -> list[tuple[int, int]]:
    """When the root-cause service accepts no connections: forever once dead, or during OOM restarts."""
    if plan.dead:
        return [(plan.onset_ns, end_ns + 1)]
    windows: list[tuple[int, int]] = []
    if plan.leak:
        t = plan.onset_ns + int(LEAK_FIRST_OOM_S * 1e9)
        while t < end_ns:
            windows.append((t, t + int(RESTART_S * 1e9)))
            t += int((LEAK_PERIOD_S + RESTART_S) * 1e9)
    return windows


def leak_fill(plan: Plan, t_ns: int) -> float:
    """Fraction of the memory limit the leak has used at `t_ns` (0 before onset, 1 at the OOM kill)."""
    if not plan.leak or t_ns < plan.onset_ns:
        return 0.0
    elapsed = (t_ns - plan.onset_ns) / 1e9
    if elapsed < LEAK_FIRST_OOM_S:
        return elapsed / LEAK_FIRST_OOM_S
    since = (elapsed - LEAK_FIRST_OOM_S) % (LEAK_PERIOD_S + RESTART_S)
    return max(0.0, (since - RESTART_S) / LEAK_PERIOD_S)
