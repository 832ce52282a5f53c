"""`incidentlens serve` without the web extra, and `incidentlens users token`."""

from __future__ import annotations

import hashlib
import re
import sys

import pytest
from typer.testing import CliRunner

from incidentlens.cli.main import app


def test_serve_without_the_web_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what a missing package looks like to `import`
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'incidentlens[web]'" in result.output and "Traceback" not in result.output


def test_users_token_prints_a_token_and_its_hash() -> None:
    result = CliRunner().invoke(app, ["users", "token", "alice"])
    assert result.exit_code == 0
    token = re.search(r"give it to them\): (\S+)", result.output)
    digest = re.search(r"token_sha256: ([0-9a-f]{64})", result.output)
    assert token and digest and hashlib.sha256(token.group(1).encode()).hexdigest() == digest.group(1)
