"""Structural rules: pure packages do no I/O, git runs in one module, every command is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from typer.main import get_command

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command

SRC = Path(__file__).resolve().parents[1] / "src" / "incidentlens"
PURE_PACKAGES = ("model", "analyze", "diagnose", "propose", "report")
IO_MODULES = {"subprocess", "socket", "sqlite3", "duckdb", "sqlalchemy", "httpx", "urllib", "requests", "shutil"}


def _modules(path: Path) -> set[str]:
    """Every module a file imports at run time (imports under `if TYPE_CHECKING:` excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


def _files(*packages: str) -> list[Path]:
    return [p for package in packages for p in sorted((SRC / package).rglob("*.py"))]


def test_pure_packages_import_no_io_modules() -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(_imports(path) & IO_MODULES)
        for package in PURE_PACKAGES
        for path in (SRC / package).rglob("*.py")
        if _imports(path) & IO_MODULES
    }
    assert offenders == {}


def test_git_runs_only_through_locate_git() -> None:
    runners = {str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if "subprocess" in _imports(path)}
    # The simulator builds its demo repository with git too; it is a generator, not part of an investigation.
    # The command executor starts allow-listed commands and validation's test command (`run_argv`).
    assert runners <= {"locate/git.py", "simulate/repo.py", "workflow/executors/command.py"}, runners


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
    commands = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    missing = [name for name in commands if not re.search(rf"incidentlens {name}\b", readme)]
    assert commands and missing == []


# What the analysis may read: typed records and the telemetry *questions*, never a database or a source.
ANALYSIS_MAY_IMPORT = (
    "incidentlens.model",
    "incidentlens.analyze",
    "incidentlens.diagnose",
    "incidentlens.errors",
    "incidentlens.telemetry.rows",
    "incidentlens.telemetry.protocol",
)


def test_analysis_imports_no_io_even_indirectly() -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(
            m for m in _modules(path) if m.startswith("incidentlens.") and not m.startswith(ANALYSIS_MAY_IMPORT)
        )
        for path in _files("analyze", "diagnose")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_investigation_core_reads_telemetry_only_through_the_protocol() -> None:
    core = [SRC / "investigation" / name for name in ("analysis.py", "steps.py", "brief.py", "pictures.py")]
    banned = ("incidentlens.telemetry.queries", "incidentlens.telemetry.store", "duckdb", "incidentlens.sources.http")
    offenders = {str(p.relative_to(SRC)): sorted(m for m in _modules(p) if m.startswith(banned)) for p in core}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_edges_build_requests_and_never_touch_tables_or_the_analysis() -> None:
    """CLI, web and MCP call the investigation use case and the workflow; they never reach below them."""
    banned = (
        "sqlalchemy",
        "incidentlens.store.tables",
        "incidentlens.diagnose",
        "incidentlens.investigation.analysis",
        "incidentlens.investigation.steps",
        "incidentlens.telemetry.queries",
    )
    offenders = {
        str(path.relative_to(SRC)): sorted(m for m in _modules(path) if m.startswith(banned))
        for path in _files("cli", "web", "mcp_server")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_mcp_sdk_is_imported_only_by_the_server_modules() -> None:
    """The `mcp` extra stays optional: the tool logic and the CLI import without it."""
    users = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "mcp" in _imports(p)}
    assert users == {"mcp_server/server.py", "mcp_server/transport_http.py"}, users


def test_every_source_kind_is_importable_and_implements_the_protocol() -> None:
    import importlib

    from incidentlens.sources.registry import SOURCE_KINDS

    for kind, (module_name, class_name) in SOURCE_KINDS.items():
        cls = getattr(importlib.import_module(module_name), class_name)
        assert kind in getattr(cls, "kinds", (getattr(cls, "kind", None),)), kind
        for member in ("signals", "live", "load"):
            assert hasattr(cls, member), (kind, member)


def test_vendor_http_clients_are_not_imported_by_sources() -> None:
    """Live sources speak HTTP through the shared client (time-outs, retries, redaction) only."""
    direct = {
        str(p.relative_to(SRC))
        for p in _files("sources")
        if p.name != "http.py" and _imports(p) & {"httpx", "requests", "urllib3"}
    }
    assert direct == set()


def test_the_model_layer_cannot_decide_or_act() -> None:
    """assist/ reads and drafts: it imports no gate, executor, lifecycle or ledger decision (issue 17)."""
    banned = (
        "incidentlens.workflow.gate",
        "incidentlens.workflow.executors",
        "incidentlens.workflow.fix_context",
        "incidentlens.workflow.lifecycle",
        "incidentlens.workflow.ledger",
        "incidentlens.workflow.verify",
    )
    offenders = {
        str(path.relative_to(SRC)): sorted(m for m in _modules(path) if m.startswith(banned))
        for path in _files("assist")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
