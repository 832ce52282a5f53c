"""Every RCD Sock Shop benchmark brief: no direction word contradicts the numbers beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.text_consistency import contradictions

from incidentlens.bench import rcd
from incidentlens.bench.rca import case_brief
from incidentlens.report.render import OutputFormat, render


def test_no_brief_contradicts_its_numbers(shared_data: Path) -> None:
    data = shared_data / "rcd-sockshop"
    if not data.is_dir():
        pytest.skip(f"RCD data not found at {data}")
    cases = rcd.discover(data)
    assert cases
    problems = {c.case_id: p for c in cases if (p := contradictions(render(case_brief(c), OutputFormat.MARKDOWN)))}
    assert not problems, problems
