"""`incidentlens locate` through the CLI runner, in-process, against real git repositories."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from incidentlens.cli import commands_locate  # noqa: F401 - registers the command
from incidentlens.cli.app import app

from .conftest import MakeRepo

runner = CliRunner()
FILES = {
    "services/payment/charge.py": "import logging\nlog = logging.getLogger(__name__)\n\n\ndef charge(a, q):\n"
    '    log.error("charge failed for order %s", a)\n    return a / q\n',
    "services/contacts/src/main/java/contacts/service/ContactsServiceImpl.java": "package contacts.service;\n\n"
    'public class ContactsServiceImpl {\n  void find(String id) {\n    log.warn("contact {} missing", id);\n  }\n}\n',
}


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    return make_repo(FILES)


def _json(args: list[str]) -> list[dict[str, object]]:
    result = runner.invoke(app, ["locate", *args, "--json"])
    assert result.exit_code == 0, result.output
    locations = orjson.loads(result.stdout)["locations"]
    assert all(set(loc) == {"path", "line", "end_line", "function", "confidence", "why"} for loc in locations)
    return list(locations)


def test_template_log_line_frame_and_logger(repo: Path) -> None:
    top = _json(["--repo", str(repo), "--template", "charge failed for order <*>"])[0]
    assert (top["path"], top["line"], top["function"]) == ("services/payment/charge.py", 6, "charge")
    line = _json(["--repo", str(repo), "--log-line", "ERROR charge failed for order 17", "--service", "payment"])
    assert line[0]["line"] == 6
    frame = _json(["--repo", str(repo), "--frame", '  File "/app/services/payment/charge.py", line 7, in charge'])
    assert (frame[0]["path"], frame[0]["line"]) == ("services/payment/charge.py", 7)
    trace = 'Traceback (most recent call last):\n  File "/app/services/payment/charge.py", line 7, in charge\n'
    trace += "ZeroDivisionError: division by zero\n"
    assert _json(["--repo", str(repo), "--frame", trace])[0]["line"] == 7
    logger = _json(["--repo", str(repo), "--frame", "c.s.ContactsServiceImpl#5"])
    assert str(logger[0]["path"]).endswith("ContactsServiceImpl.java")
    assert logger[0]["function"] == "ContactsServiceImpl.find"


def test_text_output_and_user_errors(repo: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["locate", "--repo", str(repo), "--template", "contact <*> missing"])
    assert result.exit_code == 0 and "ContactsServiceImpl.java:5" in result.output
    both = runner.invoke(app, ["locate", "--repo", str(repo), "--template", "x", "--frame", "y"])
    assert both.exit_code == 2 and "exactly one of" in both.output
    bad = runner.invoke(app, ["locate", "--repo", str(repo), "--frame", "not a frame at all"])
    assert bad.exit_code == 2 and "not a stack frame" in bad.output
    nogit = runner.invoke(app, ["locate", "--repo", str(tmp_path), "--template", "x <*>"])
    assert nogit.exit_code == 4 and "not a git repository" in nogit.output
