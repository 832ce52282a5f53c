"""How callers react to a failed downstream call: what they log and the wrapped error they return.

Callers often log more than the root cause does (checkout and frontend each log every failed order),
and their Python tracebacks point at their own call sites, not at the root cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidentlens.simulate.codefaults import SITE, line_of
from incidentlens.simulate.logs import LogWriter
from incidentlens.simulate.requests import Ctx, go_caller
from incidentlens.simulate.topology import Call, CallKind, Step

_GO_CODE = {
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "UNAVAILABLE": "Unavailable",
    "INTERNAL": "Internal",
}

_FRONTEND_REASON = {
    "GetProduct": "could not retrieve product",
    "Convert": "failed to convert currency",
    "GetCart": "could not retrieve cart",
    "AddItem": "failed to add to cart",
    "GetQuote": "failed to get shipping quote",
    "PlaceOrder": "failed to complete the order",
    "GetAds": "failed to retrieve ads",
    "ListRecommendations": "failed to get product recommendations",
}


@dataclass(frozen=True, slots=True)
class Err:
    code: str  # gRPC status code name as the caller sees it
    message: str  # the status description


def go_error(err: Err) -> str:
    """The error string a Go gRPC client prints for a failed call."""
    return f"rpc error: code = {_GO_CODE.get(err.code, 'Unknown')} desc = {err.message}"


def _target_op(call: Call) -> str:
    return call.target.op if call.target is not None else call.kind.value


def propagate(
    logs: LogWriter,
    files: dict[str, str],
    step: Step,
    failed: Call,
    err: Err,
    tid: str,
    sid: str,
    t: int,
    ctx: Ctx,
) -> Err:
    """Log the failure where `step` notices it and return the error its own caller will see."""
    kw: dict[str, Any] = {"trace_id": tid, "span_id": sid}
    op = _target_op(failed)
    if step.service == "frontend":
        route = step.op.split(" ", 1)[1]
        fields = {"route": route, "reason": _FRONTEND_REASON.get(op, "request failed"), "error": go_error(err)}
        stack = _zap_stacktrace(files, step.op, fields["reason"])
        logs.log("frontend", t, "ERROR", go_caller('"request error"'), "request error", fields=fields, exc=stack, **kw)
        return Err("UNKNOWN", go_error(err))
    if step.service == "checkout":
        if op == "Charge":
            msg, wrapped = "failed to charge card", f"failed to charge card: {go_error(err)}"
        elif op == "ShipOrder":
            msg, wrapped = "shipping error", go_error(err)
        else:
            msg, wrapped = "failed to prepare order", f"failed to prepare order: {go_error(err)}"
        logs.log("checkout", t, "ERROR", "", msg, fields={"error": go_error(err)}, **kw)
        return Err("INTERNAL" if msg == "failed to prepare order" else "UNKNOWN", wrapped)
    if step.service == "productcatalog" and failed.kind is CallKind.POSTGRES:
        logs.log(
            "productcatalog",
            t,
            "ERROR",
            "productcatalog.server",
            f"timeout acquiring connection from pool: {err.message}",
            **kw,
        )
        return Err("UNAVAILABLE", err.message)
    if step.service == "recommendation":
        logs.log(
            "recommendation",
            t,
            "ERROR",
            "recommendation",
            "recommendation failed",
            exc=_python_rpc_traceback(files, err),
            **kw,
        )
        return Err(
            "UNKNOWN",
            f"Exception calling application: <_InactiveRpcError of RPC that terminated "
            f'with: status = StatusCode.{err.code}, details = "{err.message}">',
        )
    logs.log(step.service, t, "ERROR", f"{step.service}.server", f"{step.op} failed: {err.message}", **kw)
    return err


_GO_HANDLERS = {
    "GET /api/products/{productId}": "productHandler",
    "GET /api/cart": "viewCartHandler",
    "POST /api/checkout": "placeOrderHandler",
}
_GO_SRC = "services/frontend/handlers.go"


def _zap_stacktrace(files: dict[str, str], route_op: str, reason: str) -> str:
    """zap's production `stacktrace` for an Error-level entry (only for handlers in the sources)."""
    handler = _GO_HANDLERS.get(route_op)
    text = files[_GO_SRC]
    if handler is None or f'"{reason}")' not in text:
        return ""
    top, _ = line_of(text, 'fe.logger.Error("request error"')
    call, _ = line_of(text, f'"{reason}")')
    return (
        f"main.(*frontendServer).renderError\n\t/usr/src/app/{_GO_SRC}:{top}\n"
        f"main.(*frontendServer).{handler}\n\t/usr/src/app/{_GO_SRC}:{call}\n"
        "net/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2220"
    )


def degraded(logs: LogWriter, step: Step, call: Call, err: Err, tid: str, sid: str, t: int, ctx: Ctx) -> None:
    """An optional call failed: the caller logs a warning and carries on without it."""
    kw: dict[str, Any] = {"trace_id": tid, "span_id": sid}
    op = _target_op(call)
    if step.service == "frontend":
        msg = _FRONTEND_REASON.get(op, "optional call failed")
        logs.log("frontend", t, "WARNING", go_caller(f'"{msg}"'), msg, fields={"error": go_error(err)}, **kw)
    elif step.service == "checkout":
        fields = {
            "email": f"{ctx.user_id}@example.com",
            "error": f'Post "http://email:6060/send_order_confirmation": {err.message}',
        }
        logs.log("checkout", t, "WARNING", "", "failed to send order confirmation", fields=fields, **kw)


def _python_rpc_traceback(files: dict[str, str], err: Err) -> str:
    """The traceback a Python gRPC client raises (grpc._channel._InactiveRpcError) in recommendation."""
    server = "services/recommendation/server.py"
    logic = "services/recommendation/recommender.py"
    n1, l1 = line_of(files[server], "product_ids = recommend(")
    n2, l2 = line_of(files[logic], "catalog.ListProducts(")
    return (
        "Traceback (most recent call last):\n"
        f'  File "/app/{server}", line {n1}, in ListRecommendations\n    {l1}\n'
        f'  File "/app/{logic}", line {n2}, in recommend\n    {l2}\n'
        f'  File "{SITE}/grpc/_channel.py", line 1181, in __call__\n'
        "    return _end_unary_response_blocking(state, call, False, None)\n"
        f'  File "{SITE}/grpc/_channel.py", line 1006, in _end_unary_response_blocking\n'
        "    raise _InactiveRpcError(state)  # pytype: disable=not-instantiable\n"
        "grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:\n"
        f"\tstatus = StatusCode.{err.code}\n"
        f'\tdetails = "{err.message}"\n'
        '\tdebug_error_string = "UNKNOWN:Error received from peer productcatalog:3550"\n>'
    )


def log_noise(logs: LogWriter, files: dict[str, str], step: Step, err: Err, tid: str, sid: str, t: int) -> None:
    """What a healthy service logs for its own rare, unrelated failures."""
    kw: dict[str, Any] = {"trace_id": tid, "span_id": sid}
    if step.op == "Charge":
        logs.log("payment", t, "WARNING", "payment.server", f"charge rejected: {err.message}", **kw)
    elif step.op == "Convert":
        logs.log("currency", t, "WARNING", "currency.server", f"unsupported currency: {err.message}", **kw)
    elif step.op == "GetAds":
        path = "services/ad/src/main/java/oteldemo/AdService.java"
        number, _ = line_of(files[path], "allAds.addAll(AdCatalog.byCategory(")
        trace = (
            f"{err.message}\n"
            "\tat oteldemo.AdCatalog.byCategory(AdCatalog.java:57)\n"
            f"\tat oteldemo.AdService.getAds(AdService.java:{number})\n"
            "\tat oteldemo.AdServiceGrpc$MethodHandlers.invoke(AdServiceGrpc.java:310)\n"
            "\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose"
            "(ServerCalls.java:182)\n"
            "\tat java.base/java.lang.Thread.run(Thread.java:1583)"
        )
        logs.log("ad", t, "ERROR", "oteldemo.AdService", "GetAds failed", exc=trace, **kw)
