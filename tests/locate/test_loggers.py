"""Logger names with line numbers (Java abbreviated, Python module/pathname, Go file:line) and runtime frames."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentlens.locate.locatecode import QueryKind, locate_code
from incidentlens.locate.loggers import RefKind, abbreviation_match, find_logger_refs, parse_logger_ref
from incidentlens.model.stack import Frame

from .conftest import MakeRepo


def _java(package: str, cls: str, methods: int = 3) -> str:
    lines = [f"package {package};", "", "import org.slf4j.Logger;", "", f"public class {cls} {{"]
    for n in range(methods):
        lines += [f"  public void step{n}(String id) {{", f'    log.info("{cls} step {n} for {{}}", id);', "  }", ""]
    lines.append("}")
    return "\n".join(lines) + "\n"


def java_tree() -> dict[str, str]:
    """Three services; `ContactsServiceImpl` exists twice with packages that both abbreviate to `c.s`."""
    files: dict[str, str] = {}
    specs = [
        ("contacts", "contacts.service", "ContactsServiceImpl"),
        ("crm", "crm.sync", "ContactsServiceImpl"),
        ("contacts", "contacts.web", "ContactsController"),
        ("billing", "com.acme.billing.invoice", "InvoiceService"),
        ("billing", "com.acme.billing.invoice", "InvoiceServiceImpl"),
    ]
    for service, package, cls in specs:
        files[f"services/{service}/src/main/java/{package.replace('.', '/')}/{cls}.java"] = _java(package, cls)
    for n in range(12):  # filler classes so names are looked up among many
        package = f"com.acme.filler{n % 3}.part{n}"
        files[f"services/filler/src/main/java/{package.replace('.', '/')}/Filler{n}.java"] = _java(
            package, f"Filler{n}"
        )
    # A file whose folder does not spell its package: only the declaration tells.
    files["services/legacy/src/Orders.java"] = _java("com.acme.legacy.orders", "Orders")
    return files


@pytest.fixture
def java_repo(make_repo: MakeRepo) -> Path:
    return make_repo(java_tree())


def _top(repo: Path, text: str, service: str | None = None) -> list[tuple[str, int, float, str]]:
    result = locate_code(repo, loggers=[text], service=service)
    (query,) = result.of_kind(QueryKind.LOGGER)
    return [(loc.path, loc.line, loc.confidence, loc.function) for loc in query.locations]


def test_abbreviated_logger_is_ambiguous_across_services_without_a_folder(java_repo: Path) -> None:
    found = _top(java_repo, "c.s.ContactsServiceImpl#7")
    paths = {path for path, *_ in found}
    assert paths == {
        "services/contacts/src/main/java/contacts/service/ContactsServiceImpl.java",
        "services/crm/src/main/java/crm/sync/ContactsServiceImpl.java",
    }
    assert all(conf < 0.5 for _, _, conf, _ in found)  # two equal fits share the confidence


def test_service_folder_resolves_the_ambiguous_short_name(java_repo: Path) -> None:
    for service, expected in (("crm", "crm/sync"), ("contacts", "contacts/service")):
        path, line, conf, function = _top(java_repo, "c.s.ContactsServiceImpl#7", service)[0]
        assert path == f"services/{service}/src/main/java/{expected}/ContactsServiceImpl.java"
        assert (line, function) == (7, "ContactsServiceImpl.step0")
        assert conf > 0.9


def test_abbreviation_never_guesses_a_package(java_repo: Path) -> None:
    assert _top(java_repo, "x.y.ContactsServiceImpl#7") == []  # no package starts with x.y
    assert _top(java_repo, "c.a.b.i.InvoiceService#6")[0][0].endswith("/invoice/InvoiceService.java")
    # Trailing segments only (log4j %c{2}) still fit, less surely; the class name alone fits least.
    tail = _top(java_repo, "i.InvoiceServiceImpl#6")[0]
    assert tail[0].endswith("InvoiceServiceImpl.java") and 0.7 < tail[2] < 0.95
    bare = _top(java_repo, "InvoiceServiceImpl#6")[0]
    assert bare[2] < tail[2]


def test_package_comes_from_the_declaration_not_the_folder(java_repo: Path) -> None:
    path, line, _, function = _top(java_repo, "c.a.l.o.Orders#11")[0]
    assert (path, line, function) == ("services/legacy/src/Orders.java", 11, "Orders.step1")


def test_python_module_and_pathname_and_go_file_references(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "services/payment/payment/charge.py": "import logging\n\n\ndef charge(x):\n    return x\n",
            "services/cart/cart/charge.py": "def other():\n    return 1\n",
            "services/checkout/main.go": "package main\n\nfunc main() {\n\tprintln(1)\n}\n",
            "services/frontend/main.go": "package main\n\nfunc main() {}\n",
        }
    )
    assert _top(repo, "payment.charge:5")[0][:2] == ("services/payment/payment/charge.py", 5)
    assert _top(repo, "payment.charge:5")[0][3] == "charge"
    assert _top(repo, "/app/services/cart/cart/charge.py:2")[0][:2] == ("services/cart/cart/charge.py", 2)
    ambiguous = _top(repo, "charge:2")
    assert len(ambiguous) == 2 and ambiguous[0][2] < 0.5
    go = _top(repo, "main.go:4", "checkout")[0]
    assert go[:2] == ("services/checkout/main.go", 4) and go[3] == "main"
    assert _top(repo, "checkout/main.go:4")[0][0] == "services/checkout/main.go"


def test_python_go_and_node_frames(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "services/payment/charge.py": "def charge(amount, qty):\n    return amount / qty\n",
            "services/checkout/main.go": "package main\n\nfunc (s *Server) PlaceOrder() {\n\tpanic(1)\n}\n",
            "services/frontend/src/routes/cart.js": "function getCart(req) {\n  return req.x.y;\n}\n",
        }
    )
    frames = [
        Frame("/usr/local/lib/python3.12/site-packages/grpc/_server.py", 443, "_call_behavior", is_library=True),
        Frame("/app/services/payment/charge.py", 2, "charge"),
        Frame("/usr/src/app/services/checkout/main.go", 4, "main.(*Server).PlaceOrder"),
        Frame("/usr/local/go/src/runtime/panic.go", 770, "runtime.gopanic"),
        Frame("/srv/services/frontend/src/routes/cart.js", 2, "getCart", column=18),
        Frame("node:internal/process/task_queues", 95, "processTicksAndRejections"),
    ]
    result = locate_code(repo, frames=frames)
    got = [(loc.path, loc.line, loc.function) for q in result.of_kind(QueryKind.FRAME) for loc in q.locations]
    assert got == [
        ("services/payment/charge.py", 2, "charge"),
        ("services/checkout/main.go", 4, "main.(*Server).PlaceOrder"),
        ("services/frontend/src/routes/cart.js", 2, "getCart"),
    ]
    assert result.library_frames == 3
    assert "> 2 |     return amount / qty" in result.of_kind(QueryKind.FRAME)[0].locations[0].snippet


def test_reference_parsing() -> None:
    java = parse_logger_ref("c.s.ContactsServiceImpl#31")
    assert java is not None and (java.kind, java.name, java.line) == (RefKind.JAVA, "c.s.ContactsServiceImpl", 31)
    py = parse_logger_ref("payment.charge:42")
    assert py is not None and (py.kind, py.name, py.line) == (RefKind.PYTHON, "payment.charge", 42)
    go = parse_logger_ref("checkout/main.go:123")
    assert go is not None and (go.kind, go.name, go.line) == (RefKind.PATH, "checkout/main.go", 123)
    assert parse_logger_ref("no reference here") is None
    line = "2026-01-01 10:00:00.123 ERROR [main] c.s.ContactsServiceImpl#31 - lookup failed (at main.go:7)"
    kinds = {(r.kind, r.name) for r in find_logger_refs(line)}
    assert (RefKind.JAVA, "c.s.ContactsServiceImpl") in kinds and (RefKind.PATH, "main.go") in kinds


_SEGMENT = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@given(st.lists(_SEGMENT, min_size=1, max_size=6), st.data())
def test_logback_abbreviations_of_a_package_always_match_it(package: list[str], data: st.DataObject) -> None:
    """Any mix of full segments and prefixes (logback shortens left to right) fits its own package."""
    cut = [seg[: data.draw(st.integers(1, len(seg)))] for seg in package]
    assert abbreviation_match(cut, package) == 1.0
    drop = data.draw(st.integers(0, len(package) - 1))
    assert abbreviation_match(cut[drop:], package) in (1.0, 0.85)


@given(st.lists(_SEGMENT, min_size=1, max_size=5), st.lists(_SEGMENT, min_size=1, max_size=5))
def test_abbreviation_match_only_when_every_segment_is_a_prefix(abbrev: list[str], package: list[str]) -> None:
    quality = abbreviation_match(abbrev, package)
    tail = package[len(package) - len(abbrev) :] if len(abbrev) <= len(package) else None
    fits = tail is not None and all(full.startswith(short) for short, full in zip(abbrev, tail, strict=True))
    assert (quality is not None) == fits


@given(st.text(max_size=200))
def test_reference_finder_never_raises(text: str) -> None:
    for ref in find_logger_refs(text):
        assert ref.line > 0 and ref.name
