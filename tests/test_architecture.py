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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


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
