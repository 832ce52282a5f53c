"""Without the `mcp` extra every command still works, and `incidentlens mcp` names the extra to install.

The SDK is hidden from a subprocess by a package named `mcp` that fails to import, first on the path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

CHECK_EVERY_COMMAND = r"""
import sys
try:
    import mcp  # noqa: F401
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("the SDK is still importable: the test would prove nothing")
from typer.main import get_command
from typer.testing import CliRunner
from incidentlens.cli.app import app
from incidentlens.cli.main import main  # registers every command

root = get_command(app)
runner = CliRunner()
checked = 0
for name, command in root.commands.items():
    paths = [[name]] + [[name, sub] for sub in getattr(command, "commands", {})]
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        checked += 1
listed = runner.invoke(app, ["--workspace", sys.argv[1], "incident", "list", "--json"])
assert listed.exit_code == 0 and listed.output.strip() == "[]", listed.output
import incidentlens.mcp_server.reads, incidentlens.mcp_server.changes  # the tool logic needs no SDK
assert "mcp.server" not in sys.modules
print("checked", checked)
"""


def _env(blocker: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTLENS_")}
    return {**clean, "PYTHONPATH": os.pathsep.join([str(blocker), str(SRC)])}


def _blocker(tmp_path: Path) -> Path:
    folder = tmp_path / "no-mcp"
    (folder / "mcp").mkdir(parents=True)
    (folder / "mcp" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'mcp'\", name='mcp')\n", encoding="utf-8"
    )
    return folder


def test_mcp_command_names_the_extra(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "incidentlens", "--workspace", str(tmp_path / "ws"), "mcp"],
        env=_env(_blocker(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "the MCP server needs the mcp extra (mcp is missing): pip install 'incidentlens[mcp]'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_every_other_command_works_without_the_sdk(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK_EVERY_COMMAND, str(tmp_path / "ws")],
        env=_env(_blocker(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) > 20
