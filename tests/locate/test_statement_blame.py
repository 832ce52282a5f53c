"""A commit that wrote a changed statement's line is reported as its author, not as a mere toucher (issue 15)."""

from __future__ import annotations

from pathlib import Path

import orjson

from incidentlens.investigation import InvestigationRequest, run
from incidentlens.simulate import simulate


def test_slow_db_query_commit_is_blamed_for_the_line_it_wrote(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    simulate("slow_db_query", seed=3, out=bundle)
    truth = orjson.loads((bundle / "truth.json").read_bytes())
    result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
    top = result.hypotheses[0]
    assert top.service == truth["service"]
    line = f"{truth['file']}:{truth['lines'][0]}"
    assert any(f"{loc.path}:{loc.line}" == line for loc in top.locations)
    first = top.suspect_commits[0]
    assert first.sha == truth["commit"]
    assert line in first.why and "(blame)" in first.why
    assert "none of its lines blamed" not in first.why
