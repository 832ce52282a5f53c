"""Calls to dependencies we do not trace inside: redis, PostgreSQL and Kafka (plus the async consumer).

The consumer side of Kafka runs as a single-threaded queue: a message is processed when it has been
produced and the previous one is done, so a slower consumer shows up as growing lag, not errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentlens.simulate.callers import Err
from incidentlens.simulate.requests import Ctx
from incidentlens.simulate.spans import CLIENT, CONSUMER, PRODUCER, span
from incidentlens.simulate.topology import CONSUME_ORDER, KAFKA, POSTGRES, REDIS, Call, CallKind, Step

if TYPE_CHECKING:
    from incidentlens.simulate.traffic import Traffic

MS = 1_000_000
POOL_MAX = 20
POOL_TIMEOUT_S = 2.0
SLOW_QUERY_MS = 250


class DepCalls:
    def __init__(self, traffic: Traffic) -> None:
        self.tr = traffic
        self.consumer_free_at = 0
        self.offset = 18_230_000 + traffic.rng.randrange(1000)
        checkout_rate = traffic.rate * 0.10
        # Far slower than arrivals: each order takes ~4 inter-arrival times once the fault peaks.
        self.slow_consume_ns = int(4e9 / max(checkout_rate, 1e-6))

    def call(self, caller: Step, call: Call, tid: str, parent: str, t: int, ctx: Ctx) -> tuple[int, Err | None]:
        if call.kind is CallKind.REDIS:
            return self._redis(caller, call, tid, parent, t, ctx)
        if call.kind is CallKind.POSTGRES:
            return self._postgres(caller, call, tid, parent, t)
        return self._kafka(caller, tid, parent, t, ctx)

    def _delay(self, service: str, t: int) -> int:
        plan = self.tr.plan
        if plan.net_delay_ms and plan.service == service:
            return int(plan.net_delay_ms * plan.level(t) * self.tr.rng.uniform(0.85, 1.15) * MS)
        return 0

    def _redis(self, caller: Step, call: Call, tid: str, parent: str, t: int, ctx: Ctx) -> tuple[int, Err | None]:
        tr, plan, rng = self.tr, self.tr.plan, self.tr.rng
        peer, host, port, system = REDIS
        attrs: dict[str, object] = {
            "db.system": system,
            "db.statement": f"{call.statement} cart:{ctx.user_id}",
            "db.operation.name": call.statement,
            "server.address": host,
            "server.port": port,
            "peer.service": peer,
        }
        failing = plan.cache_down and rng.random() < plan.level(t)
        noise = rng.random() < 0.0005
        if failing or noise:
            end = t + int(250 * MS) + int(rng.uniform(0, 2) * MS)  # socket_timeout=0.25
            item = span(
                trace_id=tid,
                span_id=tr.span_id(),
                parent=parent,
                name=call.statement,
                kind=CLIENT,
                start=t,
                end=end,
                attrs=attrs,
                error="Timeout reading from socket",
            )
            tr.emit(caller.service, t, item)
            tr.logs.log(
                caller.service,
                end,
                "WARNING",
                "cart.store",
                "redis unavailable, using in-process cache: Timeout reading from socket",
                trace_id=tid,
                span_id=parent,
            )
            tr.stats.cache(t, hit=False)
            return end, None  # the store falls back to its in-process dict
        end = t + int(call.ms * rng.lognormvariate(0, 0.3) * MS) + self._delay(caller.service, t)
        tr.emit(
            caller.service,
            t,
            span(
                trace_id=tid,
                span_id=tr.span_id(),
                parent=parent,
                name=call.statement,
                kind=CLIENT,
                start=t,
                end=end,
                attrs=attrs,
            ),
        )
        tr.stats.cache(t, hit=rng.random() < 0.93)
        return end, None

    def _postgres(self, caller: Step, call: Call, tid: str, parent: str, t: int) -> tuple[int, Err | None]:
        tr, plan, rng = self.tr, self.tr.plan, self.tr.rng
        peer, host, port, system = POSTGRES
        if plan.pool and caller.service == plan.service:
            level = plan.level(t)
            if level > 0.6 and rng.random() < (level - 0.55) * 1.6:
                end = t + int(POOL_TIMEOUT_S * 1e9) + int(rng.uniform(0, 3) * MS)
                return end, Err("UNAVAILABLE", f"couldn't get a connection after {POOL_TIMEOUT_S:.2f} sec")
            t += int(level * rng.uniform(0, POOL_TIMEOUT_S) * 1e9 * 0.8)  # waiting for a free connection
        statement = call.statement
        ms = call.ms * rng.lognormvariate(0, 0.4)
        if (
            plan.db_statement
            and caller.service == plan.service
            and statement.endswith("WHERE id = %s")
            and plan.level(t) > 0
        ):
            statement = plan.db_statement
            ms += plan.db_slow_ms * rng.lognormvariate(0, 0.3)
        if plan.cpu and plan.service == "productcatalog" and caller.service == plan.service:
            ms *= 1 + 2 * plan.level(t)  # the client spends its time waiting for CPU, not for the database
        end = t + int(ms * MS) + self._delay(caller.service, t)
        verb, table = statement.split(" ", 1)[0], "products" if "products" in statement else "orders"
        attrs: dict[str, object] = {
            "db.system": system,
            "db.name": "shop",
            "db.user": caller.service,
            "db.statement": statement,
            "db.operation.name": verb,
            "db.collection.name": table,
            "server.address": host,
            "server.port": port,
            "peer.service": peer,
        }
        tr.emit(
            caller.service,
            t,
            span(
                trace_id=tid,
                span_id=tr.span_id(),
                parent=parent,
                name=f"{verb} {table}",
                kind=CLIENT,
                start=t,
                end=end,
                attrs=attrs,
            ),
        )
        if (end - t) / MS > SLOW_QUERY_MS:
            tr.logs.log(
                caller.service,
                end,
                "WARNING",
                f"{caller.service}.db",
                f"slow query: {(end - t) / MS:.0f} ms statement={statement}",
                trace_id=tid,
                span_id=parent,
            )
        return end, None

    def _kafka(self, caller: Step, tid: str, parent: str, t: int, ctx: Ctx) -> tuple[int, Err | None]:
        tr, rng = self.tr, self.tr.rng
        peer, host, port, system = KAFKA
        sid = tr.span_id()
        self.offset += 1
        end = t + int(rng.uniform(0.8, 2.5) * MS)
        attrs: dict[str, object] = {
            "messaging.system": system,
            "messaging.destination.name": "orders",
            "messaging.operation.type": "publish",
            "messaging.kafka.message.key": ctx.order_id,
            "server.address": host,
            "server.port": port,
            "peer.service": peer,
        }
        tr.emit(
            caller.service,
            t,
            span(
                trace_id=tid,
                span_id=sid,
                parent=parent,
                name="orders publish",
                kind=PRODUCER,
                start=t,
                end=end,
                attrs=attrs,
            ),
        )
        tr.stats.produced(end)
        self._consume(end, tid, sid, ctx)
        return end, None

    def _consume(self, produced: int, ptid: str, psid: str, ctx: Ctx) -> None:
        """Process one order in accounting, in a new trace linked to the producer span."""
        tr, plan, rng = self.tr, self.tr.plan, self.tr.rng
        start = max(produced + int(rng.uniform(2, 20) * MS), self.consumer_free_at)
        if start >= tr.end_ns or tr.is_down("accounting", start):
            return
        work = int(CONSUME_ORDER.self_ms * rng.lognormvariate(0, 0.3) * MS)
        if plan.consumer_slow:
            work += int(self.slow_consume_ns * plan.level(start) * rng.uniform(0.8, 1.2))
        tid, sid = tr.trace_id(), tr.span_id()
        db_start = start + work
        end, _ = self._postgres(CONSUME_ORDER, CONSUME_ORDER.calls[0], tid, sid, db_start)
        end += int(rng.uniform(0.2, 1.0) * MS)
        self.consumer_free_at = end
        attrs: dict[str, object] = {
            "messaging.system": "kafka",
            "messaging.destination.name": "orders",
            "messaging.operation.type": "process",
            "messaging.consumer.group.name": "accounting",
            "messaging.kafka.message.offset": self.offset,
            "messaging.kafka.message.key": ctx.order_id,
        }
        links = [{"traceId": ptid, "spanId": psid, "attributes": []}]
        tr.emit(
            "accounting",
            start,
            span(
                trace_id=tid,
                span_id=sid,
                parent="",
                name="orders process",
                kind=CONSUMER,
                start=start,
                end=end,
                attrs=attrs,
                links=links,
            ),
        )
        tr.logs.log(
            "accounting",
            end,
            "INFO",
            "accounting",
            "order booked",
            trace_id=tid,
            span_id=sid,
            fields={"order_id": ctx.order_id, "offset": self.offset, "partition": 0},
        )
        tr.stats.consumed(end)

    def finish(self) -> None:
        """Nothing is pending: unconsumed orders simply stay as lag."""
