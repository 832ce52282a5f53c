"""Requests -> spans, logs and request statistics: walks each endpoint's call tree for every arrival.

Faults act only through the `Plan` effects, the way they would in a real system: a dead service emits
nothing and its callers fail to connect; a slow one makes its callers' client spans slow; a handler bug
raises in the service whose code changed and surfaces as wrapped errors further up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from incidentlens.simulate import codefaults, requests
from incidentlens.simulate.callers import Err, degraded, log_noise, propagate
from incidentlens.simulate.deps import DepCalls
from incidentlens.simulate.faults import Plan, down_windows, leak_fill
from incidentlens.simulate.fleet import Fleet
from incidentlens.simulate.logs import LogWriter
from incidentlens.simulate.metrics import Stats
from incidentlens.simulate.requests import Ctx
from incidentlens.simulate.spans import CLIENT, SERVER, SpanWriter, exception_event, span
from incidentlens.simulate.topology import ENDPOINTS, SERVICES, Call, CallKind, Step

MS = 1_000_000
_PY_STATUS = {
    "UNKNOWN": 2,
    "INTERNAL": 13,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "UNAVAILABLE": 14,
}


@dataclass(slots=True)
class Outcome:
    """How a handler ended: its error as the caller sees it, and what its own server span records."""

    end: int
    err: Err | None = None
    http_status: int = 200
    span_status: str = ""
    event: dict[str, object] | None = None


class Traffic:
    """Generates every request of the window in time order, streaming to the writers."""

    def __init__(
        self,
        *,
        plan: Plan,
        rng: random.Random,
        fleet: Fleet,
        spans: SpanWriter,
        logs: LogWriter,
        stats: Stats,
        files: dict[str, str],
        start_ns: int,
        end_ns: int,
        rate: float,
    ) -> None:
        self.plan, self.rng, self.fleet = plan, rng, fleet
        self.spans, self.logs, self.stats = spans, logs, stats
        self.files = files
        self.start_ns, self.end_ns, self.rate = start_ns, end_ns, rate
        self.down = down_windows(plan, end_ns)
        self.deps = DepCalls(self)
        self._ids = random.Random(rng.getrandbits(64))

    # ids -----------------------------------------------------------------------------------------
    def trace_id(self) -> str:
        return f"{self._ids.getrandbits(128):032x}"

    def span_id(self) -> str:
        return f"{self._ids.getrandbits(64):016x}"

    def is_down(self, service: str, t: int) -> bool:
        return service == self.plan.service and any(a <= t < b for a, b in self.down)

    def emit(self, service: str, t: int, item: dict[str, object]) -> None:
        self.spans.add(self.fleet.resource(service, t), item)

    # arrivals ------------------------------------------------------------------------------------
    def run(self) -> None:
        rng = self.rng
        weights = [e.weight for e in ENDPOINTS]
        t = float(self.start_ns)
        restarts = [b for _, b in self.down if b < self.end_ns] if self.plan.leak else []
        while True:
            t += rng.expovariate(self.rate) * 1e9
            if t >= self.end_ns:
                break
            while restarts and restarts[0] <= t:
                self._started(restarts.pop(0))
            endpoint = rng.choices(ENDPOINTS, weights)[0]
            ctx = requests.new_ctx(rng)
            ctx.order_id = f"{rng.getrandbits(64):016x}"[:8] + "-" + f"{rng.getrandbits(32):08x}"
            self.request(int(t), endpoint.method, endpoint.route, endpoint.root, ctx)
            self.spans.end_trace()
        self.deps.finish()

    def _started(self, t: int) -> None:
        """The first line a restarted (OOM-killed) service writes."""
        if self.plan.service == "email":
            self.logs.log("email", t, "INFO", "email.server", "email service starting on port 6060")
        else:
            self.logs.log(
                "recommendation", t, "INFO", "recommendation", "recommendation service started", fields={"port": "9001"}
            )

    def request(self, t: int, method: str, route: str, root: Step, ctx: Ctx) -> None:
        trace_id = self.trace_id()
        span_id = self.span_id()
        out = self._handle(root, trace_id, span_id, t, ctx)
        end, err, status = out.end, out.err, out.http_status
        attrs = {
            "http.request.method": method,
            "http.route": route,
            "url.path": route.replace("{productId}", ctx.product_id),
            "http.response.status_code": status,
            "server.address": "frontend",
            "app.session.id": ctx.session_id,
        }
        self.emit(
            "frontend",
            t,
            span(
                trace_id=trace_id,
                span_id=span_id,
                parent="",
                name=f"{method} {route}",
                kind=SERVER,
                start=t,
                end=end,
                attrs=attrs,
                error=f"HTTP {status}" if err else "",
            ),
        )
        self.stats.request("frontend", t, end - t, err is not None)

    # a handler in one service --------------------------------------------------------------------
    def _handle(self, step: Step, tid: str, sid: str, t0: int, ctx: Ctx) -> Outcome:
        """Run `step`'s handler starting at t0."""
        plan, rng = self.plan, self.rng
        svc = step.service
        factor = 1.0
        if plan.cpu and svc == plan.service:
            factor += 7.0 * plan.level(t0)
        t = t0 + int(step.self_ms * factor * 0.5 * rng.lognormvariate(0, 0.35) * MS)
        if plan.leak and svc == plan.service and rng.random() < 0.5 * leak_fill(plan, t0):
            t += int(rng.uniform(100, 600) * MS)  # stop-the-world collection while the heap is full
        err: Err | None = None
        failed: Call | None = None
        for call in step.calls:
            for _ in range(call.repeat):
                t, call_err = self._call(step, call, tid, sid, t, ctx)
                if call_err and not call.optional:
                    err, failed = call_err, call
                    break
                if call_err:
                    degraded(self.logs, step, call, call_err, tid, sid, t, ctx)
            if err:
                break
        bug = None if err else self._bug(step, t, ctx)
        noise = None if err or bug else self._noise(step, ctx)
        t += int(step.self_ms * factor * 0.5 * rng.lognormvariate(0, 0.35) * MS)
        if bug is not None:
            return self._raise(step, tid, sid, t, ctx, bug)
        if noise is not None:
            log_noise(self.logs, self.files, step, noise, tid, sid, t)
            return Outcome(t, noise, 500, noise.message)
        if err is not None and failed is not None:
            wrapped = propagate(self.logs, self.files, step, failed, err, tid, sid, t, ctx)
            return Outcome(t, wrapped, 500, wrapped.message)
        requests.log_success(self.logs, step, ctx, t, tid, sid)
        return Outcome(t)

    def _bug(self, step: Step, t: int, ctx: Ctx) -> codefaults.CodeChange | None:
        plan = self.plan
        change = plan.change
        if change is None or not change.frames or step.service != plan.service or step.op != plan.error_op:
            return None
        if plan.level(t) <= 0:
            return None
        if plan.leak:
            return change if leak_fill(plan, t) > 0.9 and self.rng.random() < 0.3 else None
        if plan.attr_value:
            return change if ctx.card_type == plan.attr_value else None
        if step.service == "cart":
            return change if ctx.cart_empty else None
        if step.service == "shipping":
            return change if ctx.country not in requests.ZONE_COUNTRIES else None
        return change if self.rng.random() < plan.error_rate else None

    def _raise(self, step: Step, tid: str, sid: str, t: int, ctx: Ctx, change: codefaults.CodeChange) -> Outcome:
        """An unhandled exception: logged with its traceback by the handler, recorded on the span."""
        message = change.exc_message.replace("{value}", ctx.country)
        text = codefaults.traceback_text(change, self.files)
        logger = f"{step.service}.server" if step.service not in ("recommendation",) else "recommendation"
        log_msg = {
            "Charge": "charge failed",
            "GetCart": "cart operation failed",
            "GetQuote": "quote failed",
            "ListRecommendations": "recommendation failed",
            "SendOrderConfirmation": "send confirmation failed",
        }[step.op]
        self.logs.log(
            step.service,
            t,
            "ERROR",
            logger,
            log_msg,
            trace_id=tid,
            span_id=sid,
            exc=text.replace("{value}", ctx.country),
        )
        span_text = codefaults.traceback_text(change, self.files, instrumented=True).replace("{value}", ctx.country)
        event = exception_event(t, change.exc_type, message, span_text)
        desc = f"{change.exc_type}: {message}" if message else change.exc_type
        if step.service == "email":  # Flask answers 500 with its generic page
            return Outcome(t, Err("UNKNOWN", "500 INTERNAL SERVER ERROR"), 500, desc, event)
        return Outcome(t, Err("UNKNOWN", f"Exception calling application: {message}"), 500, desc, event)

    def _noise(self, step: Step, ctx: Ctx) -> Err | None:
        """Rare, unrelated failures present before and during the incident."""
        x = self.rng.random()
        if step.op == "Charge" and x < 0.004:
            return Err("INVALID_ARGUMENT", "Credit card info is invalid.")
        if step.op == "GetProduct" and x < 0.003:
            return Err("NOT_FOUND", f"no product with ID {ctx.product_id.lower()}")
        if step.op == "GetAds" and x < 0.002:
            return Err("UNKNOWN", "java.lang.IllegalStateException: ad catalog refresh in progress")
        if step.op == "Convert" and x < 0.002:
            return Err("INVALID_ARGUMENT", f"unsupported currency code ZWL -> {ctx.currency}")
        return None

    # one outgoing call ---------------------------------------------------------------------------
    def _call(self, caller: Step, call: Call, tid: str, parent: str, t: int, ctx: Ctx) -> tuple[int, Err | None]:
        if call.kind is not CallKind.RPC or call.target is None:
            return self.deps.call(caller, call, tid, parent, t, ctx)
        target = call.target
        svc = SERVICES[target.service]
        cid = self.span_id()
        plan, rng = self.plan, self.rng
        net = int(rng.uniform(0.25, 0.9) * MS)
        if plan.net_delay_ms and plan.service in (caller.service, target.service):
            net += int(plan.net_delay_ms * plan.level(t) * rng.uniform(0.85, 1.15) * MS)
        name = f"{svc.rpc_service}/{target.op}" if svc.rpc_service else "POST"
        attrs: dict[str, object] = {
            "server.address": target.service,
            "server.port": svc.port,
            "peer.service": target.service,
        }
        if svc.rpc_service:
            attrs.update({"rpc.system": "grpc", "rpc.service": svc.rpc_service, "rpc.method": target.op})
        else:
            attrs.update(
                {
                    "http.request.method": "POST",
                    "url.full": f"http://{target.service}:{svc.port}/send_order_confirmation",
                }
            )
        err: Err | None
        if self.is_down(target.service, t):
            end = t + int(rng.uniform(0.6, 2.5) * MS)
            err = Err(
                "UNAVAILABLE",
                'connection error: desc = "transport: Error while dialing: dial tcp '
                f"10.96.{sum(map(ord, target.service)) % 200}.{svc.port % 200}:{svc.port}: connect: "
                'connection refused"',
            )
            self._client_span(caller, cid, tid, parent, name, t, end, attrs, err)
            return end, err
        s_start = t + net // 2
        s_sid = self.span_id()
        out = self._handle(target, tid, s_sid, s_start, ctx)
        self._server_span(target, tid, s_sid, cid, s_start, ctx, out)
        end = out.end + net - net // 2
        err = out.err
        if plan.timeout_target == target.service and caller.service == plan.service and plan.level(t) > 0:
            deadline = t + int(plan.timeout_ms * MS)
            if end > deadline:
                end, err = deadline, Err("DEADLINE_EXCEEDED", "context deadline exceeded")
        self._client_span(caller, cid, tid, parent, name, t, end, attrs, err)
        return end, err

    def _client_span(
        self,
        caller: Step,
        cid: str,
        tid: str,
        parent: str,
        name: str,
        t: int,
        end: int,
        attrs: dict[str, object],
        err: Err | None,
    ) -> None:
        if "rpc.system" in attrs:
            attrs["rpc.grpc.status_code"] = _PY_STATUS.get(err.code, 2) if err else 0
        else:
            attrs["http.response.status_code"] = 500 if err else 200
        self.emit(
            caller.service,
            t,
            span(
                trace_id=tid,
                span_id=cid,
                parent=parent,
                name=name,
                kind=CLIENT,
                start=t,
                end=end,
                attrs=attrs,
                error=err.message if err else "",
            ),
        )

    def _server_span(self, step: Step, tid: str, sid: str, parent: str, start: int, ctx: Ctx, out: Outcome) -> None:
        svc = SERVICES[step.service]
        attrs: dict[str, object] = requests.server_attrs(step, ctx)
        err, end = out.err, out.end
        if svc.rpc_service:
            name = f"{svc.rpc_service}/{step.op}"
            attrs.update(
                {
                    "rpc.system": "grpc",
                    "rpc.service": svc.rpc_service,
                    "rpc.method": step.op,
                    "rpc.grpc.status_code": _PY_STATUS.get(err.code, 2) if err else 0,
                }
            )
        else:
            name = "POST /send_order_confirmation"
            attrs.update(
                {
                    "http.request.method": "POST",
                    "http.route": "/send_order_confirmation",
                    "http.response.status_code": 500 if err else 200,
                }
            )
        events = [out.event] if out.event else None
        self.emit(
            step.service,
            start,
            span(
                trace_id=tid,
                span_id=sid,
                parent=parent,
                name=name,
                kind=SERVER,
                start=start,
                end=end,
                attrs=attrs,
                error=out.span_status,
                events=events,
            ),
        )
        self.stats.request(step.service, start, end - start, err is not None)
