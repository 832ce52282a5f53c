"""Stack-trace parser: real runtime output, hand-written layouts, a live Python chain, and fuzzing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentlens.analyze.stacktraces import find_stacktrace, parse_stacktrace
from incidentlens.model.stack import Language, StackTrace


def _sample(formats_dir: Path, name: str) -> StackTrace:
    trace = parse_stacktrace((formats_dir / "stacktraces" / name).read_text())
    assert trace is not None
    return trace


def _types(trace: StackTrace) -> list[str]:
    return [t.exception_type for t in trace.chain()]


def test_python_chained_sample(formats_dir: Path) -> None:
    trace = _sample(formats_dir, "python-chained.txt")
    assert trace.language is Language.PYTHON
    assert _types(trace) == ["PaymentError", "ZeroDivisionError"]
    assert trace.message == "charge failed for order o-1"
    assert [(f.function, f.line) for f in trace.frames] == [("<module>", 14), ("place_order", 11)]
    root = trace.root_cause()
    assert [(f.function, f.line) for f in root.frames] == [("place_order", 9), ("charge", 5)]
    first = trace.first_app_frame()
    assert first is not None and (first.file, first.line, first.function) == ("/srv/shop/app/checkout.py", 5, "charge")
    assert all(not f.is_library for f in trace.all_frames())


def test_java_caused_by_sample(formats_dir: Path) -> None:
    trace = _sample(formats_dir, "java-caused-by.txt")
    assert trace.language is Language.JAVA
    assert _types(trace) == ["java.lang.IllegalStateException", "java.lang.NullPointerException"]
    assert trace.message == "cart store unavailable for user u-42"
    assert trace.frames[0].module == "com.example.shop.CartService"
    assert trace.frames[0].function == "emptyCart" and trace.frames[0].file == "CartService.java"
    assert len(trace.root_cause().frames) == 2  # "... 1 more" is not a frame
    first = trace.first_app_frame()
    assert first is not None and (first.function, first.line) == ("itemCount", 5)


def test_node_sample(formats_dir: Path) -> None:
    trace = _sample(formats_dir, "node-error.txt")
    assert trace.language is Language.NODE
    assert (trace.exception_type, trace.message) == ("Error", "Payment request failed. Invalid token.")
    assert len(trace.frames) == 9
    assert [f.is_library for f in trace.frames] == [False] * 3 + [True] * 6
    assert trace.frames[0].column == 52
    last = trace.frames[-1]
    assert (last.file, last.line, last.function) == ("node:internal/main/run_main_module", 28, "")
    first = trace.first_app_frame()
    assert first is not None and first.function == "chargeCard"


def test_go_sample(formats_dir: Path) -> None:
    trace = _sample(formats_dir, "go-panic.synthetic.txt")
    assert trace.language is Language.GO
    assert trace.exception_type == "panic"
    assert trace.message.startswith("runtime error: invalid memory address")
    assert [f.line for f in trace.frames] == [321, 1102, 1369, 1029]
    assert trace.frames[0].module == "main" and trace.frames[0].function == "(*checkout).PlaceOrder"
    assert trace.frames[2].module == "google.golang.org/grpc" and trace.frames[2].is_library
    assert trace.frames[3].function.startswith("created by ")
    first = trace.first_app_frame()
    assert first is not None and first.file == "/usr/src/app/main.go"


def test_dotnet_inner_exception_sample(formats_dir: Path) -> None:
    trace = _sample(formats_dir, "dotnet-inner-exception.synthetic.txt")
    assert trace.language is Language.DOTNET
    assert _types(trace) == ["System.ApplicationException", "StackExchange.Redis.RedisConnectionException"]
    assert trace.root_cause().message.endswith("HGET u-42")
    assert [f.line for f in trace.frames] == [214, 88]  # after "End of inner exception stack trace"
    inner = trace.root_cause().frames
    assert [f.line for f in inner] == [2105, 91]
    assert inner[0].is_library and not inner[1].is_library  # /_/ SourceLink path = package code
    first = trace.first_app_frame()
    assert first is not None and first.function == "EnsureRedisConnected"


_CHAIN_PROGRAM = """
import json

class PaymentError(Exception):
    pass

def load(raw):
    return json.loads(raw)

def charge(raw):
    try:
        return load(raw)
    except ValueError as exc:
        raise PaymentError("bad payload") from exc

def handle():
    try:
        charge("{not json")
    except PaymentError:
        {}["missing"]

handle()
"""


def test_real_python_subprocess_chain(tmp_path: Path) -> None:
    script = tmp_path / "payments.py"
    script.write_text(_CHAIN_PROGRAM)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 1
    found = find_stacktrace("worker crashed, stderr follows:\n" + proc.stderr)
    assert found is not None and found.start == len("worker crashed, stderr follows:\n")
    trace = found.trace
    assert _types(trace) == ["KeyError", "PaymentError", "json.decoder.JSONDecodeError"]
    root = trace.root_cause()
    assert any(f.is_library and f.file.endswith("json/decoder.py") for f in root.frames)  # stdlib
    first = trace.first_app_frame()
    assert first is not None and first.function == "load" and Path(first.file).name == "payments.py"
    assert first.line == _CHAIN_PROGRAM.splitlines().index("    return json.loads(raw)") + 1


_JAVA_SUPPRESSED = (
    "java.io.IOException: close failed\n"
    "\tat com.shop.Store.close(Store.java:40)\n"
    "\tat com.shop.Main.main(Main.java:12)\n"
    "\tSuppressed: java.lang.IllegalStateException: flush failed\n"
    "\t\tat com.shop.Store.flush(Store.java:31)\n"
    "\t\t... 1 more\n"
    "Caused by: java.net.SocketException: Connection reset\n"
    "\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:328)\n"
    "\tat app//com.shop.Store.write(Store.java:22)\n"
    "\t... 2 more\n"
)


def test_java_suppressed_and_module_frames() -> None:
    trace = parse_stacktrace(_JAVA_SUPPRESSED)
    assert trace is not None
    assert _types(trace) == ["java.io.IOException", "java.net.SocketException"]
    assert [s.exception_type for s in trace.suppressed] == ["java.lang.IllegalStateException"]
    assert trace.suppressed[0].frames[0].function == "flush"
    cause = trace.root_cause()
    assert cause.frames[0].module == "sun.nio.ch.NioSocketImpl" and cause.frames[0].is_library
    assert cause.frames[1].module == "com.shop.Store" and not cause.frames[1].is_library
    first = trace.first_app_frame()
    assert first is not None and first.function == "write"


def test_dotnet_without_pdb_and_async_frames() -> None:
    text = (
        "System.InvalidOperationException: Sequence contains no elements\n"
        "   at System.Linq.ThrowHelper.ThrowNoElementsException()\n"
        "   at Shop.Orders.OrderService.<PlaceAsync>d__4.MoveNext()\n"
        "--- End of stack trace from previous location ---\n"
        "   at Shop.Api.OrdersController.Post(Order order) in C:\\src\\Api\\OrdersController.cs:line 31\n"
    )
    trace = parse_stacktrace(text)
    assert trace is not None and trace.language is Language.DOTNET
    assert [(f.module, f.function, f.line) for f in trace.frames] == [
        ("System.Linq.ThrowHelper", "ThrowNoElementsException", None),
        ("Shop.Orders.OrderService", "PlaceAsync", None),
        ("Shop.Api.OrdersController", "Post", 31),
    ]
    assert [f.is_library for f in trace.frames] == [True, False, False]


def test_node_bare_and_async_frames() -> None:
    text = (
        "TypeError: Cannot read properties of undefined (reading 'id')\n"
        "    at async handler (file:///srv/app/routes/cart.mjs:14:22)\n"
        "    at /srv/app/node_modules/express/lib/router/layer.js:95:5\n"
        "    at new Promise (<anonymous>)\n"
    )
    trace = parse_stacktrace(text)
    assert trace is not None and trace.exception_type == "TypeError"
    assert [(f.file, f.line, f.function, f.is_library) for f in trace.frames] == [
        ("/srv/app/routes/cart.mjs", 14, "handler", False),
        ("/srv/app/node_modules/express/lib/router/layer.js", 95, "", True),
        ("<anonymous>", None, "new Promise", True),
    ]


def test_find_in_log_message_with_multiline_java_message() -> None:
    text = "Request failed for order 42\njava.lang.RuntimeException: first line\nsecond line\n\tat a.b.C.d(C.java:3)\n"
    found = find_stacktrace(text)
    assert found is not None
    assert text[found.start :].startswith("java.lang.RuntimeException")
    assert found.trace.message == "first line\nsecond line"


def test_header_only_and_non_traces() -> None:
    only = parse_stacktrace("io.grpc.StatusRuntimeException: UNAVAILABLE")
    assert only is not None and only.exception_type == "io.grpc.StatusRuntimeException" and only.frames == ()
    assert parse_stacktrace("") is None
    assert parse_stacktrace("user logged in") is None
    assert find_stacktrace("we met at noon (see notes)") is None
    assert find_stacktrace("io.grpc.StatusRuntimeException: UNAVAILABLE") is None  # find needs structure


def test_signature_ignores_line_numbers_but_not_functions(formats_dir: Path) -> None:
    text = (formats_dir / "stacktraces" / "java-caused-by.txt").read_text()
    base = parse_stacktrace(text)
    shifted = parse_stacktrace(text.replace("CartService.java:8)", "CartService.java:80)"))
    renamed = parse_stacktrace(text.replace("CartService.emptyCart(", "CartService.clearCart("))
    assert base is not None and shifted is not None and renamed is not None
    assert base.signature() == shifted.signature()
    assert base.signature() != renamed.signature()
    assert len(base.signature()) == 16


def test_frames_json_shape(formats_dir: Path) -> None:
    trace = _sample(formats_dir, "java-caused-by.txt")
    frames = trace.frames_json()
    assert frames[0] == {
        "file": "CartService.java",
        "line": 5,
        "function": "itemCount",
        "module": "com.example.shop.CartService",
        "library": False,
    }
    assert len(frames) == 4


_FRAGMENTS = [
    "Traceback (most recent call last):",
    '  File "/a.py", line 3, in f',
    "    x()",
    "    ^^^",
    "ValueError: bad",
    "The above exception was the direct cause of the following exception:",
    "",
    "\tat a.b.C.d(C.java:1)",
    "Caused by: x.Y: z",
    "\t... 3 more",
    "\tSuppressed: p.Q",
    "panic: boom",
    "goroutine 1 [running]:",
    "main.main()",
    "\t/app/main.go:10 +0x1d",
    "    at f (/x.js:1:2)",
    "   at N.C.M() in /x.cs:line 9",
    " ---> System.Exception: inner",
    "   --- End of inner exception stack trace ---",
    'Exception in thread "main" java.lang.Error',
]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_crashes(text: str) -> None:
    trace = parse_stacktrace(text)
    found = find_stacktrace(text)
    if found is not None:
        assert 0 <= found.start <= len(text)
        assert found.trace.signature()
    if trace is not None:
        list(trace.chain())
        trace.first_app_frame()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=30)), max_size=30))
def test_shuffled_trace_fragments_never_crash(lines: list[str]) -> None:
    text = "\n".join(lines)
    trace = parse_stacktrace(text)
    if trace is not None:
        assert trace.exception_type or trace.all_frames()
        trace.signature()


def test_hostile_size_is_bounded() -> None:
    text = "x.Y: z\n" + "\tat a.b.C.d(C.java:1)\n" * 50_000
    trace = parse_stacktrace(text)
    assert trace is not None and len(trace.frames) < 5000


@pytest.mark.parametrize("name", ["python-chained.txt", "java-caused-by.txt", "node-error.txt"])
def test_real_samples_found_inside_log_lines(formats_dir: Path, name: str) -> None:
    text = (formats_dir / "stacktraces" / name).read_text()
    found = find_stacktrace("2026-11-28 04:10:01 ERROR something broke\n" + text)
    whole = parse_stacktrace(text)
    assert found is not None and whole is not None
    assert found.trace.signature() == whole.signature()
