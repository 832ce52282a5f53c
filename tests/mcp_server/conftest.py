"""One recorded demo workspace for the whole MCP test session (simulating and investigating takes seconds)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def load_support() -> ModuleType:
    """`mcp_workspace.py` beside this file, loaded once (tests run with --import-mode=importlib)."""
    if "mcp_workspace" in sys.modules:
        return sys.modules["mcp_workspace"]
    spec = importlib.util.spec_from_file_location("mcp_workspace", Path(__file__).with_name("mcp_workspace.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mcp_workspace"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def mcp_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_support().build_workspace(tmp_path_factory.mktemp("mcp-template"))
