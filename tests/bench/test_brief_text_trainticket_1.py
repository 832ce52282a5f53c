"""Half 1 of the Train Ticket benchmark briefs (split so each file stays fast): no direction word contradicts
the numbers beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.text_consistency import contradictions

from incidentlens.bench import nezha
from incidentlens.bench.rca import case_brief
from incidentlens.report.render import OutputFormat, render


def test_no_brief_contradicts_its_numbers(shared_data: Path) -> None:
    data = shared_data / "nezha"
    if not (data / "cases.csv").is_file():
        pytest.skip(f"Nezha data not found at {data}")
    cases = (nezha.discover(data, system="trainticket") + nezha.fault_free_cases(data, system="trainticket"))[1::2]
    assert cases
    problems = {c.case_id: p for c in cases if (p := contradictions(render(case_brief(c), OutputFormat.MARKDOWN)))}
    assert not problems, problems
