"""Every simulated fault type: the top hypothesis names the true root-cause service at the default seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.text_consistency import contradictions

from incidentlens.investigation import InvestigationRequest, run
from incidentlens.report.render import OutputFormat, render
from incidentlens.simulate import FAULTS, simulate

FAULT_NAMES = sorted(name for name in FAULTS if name != "none")


@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_top_hypothesis_names_the_true_service(tmp_path: Path, fault: str) -> None:
    bundle = tmp_path / "bundle"
    truth = simulate(fault, out=bundle)
    result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
    ranked = [h.service for h in result.hypotheses]
    assert ranked, f"{fault}: no hypothesis at all"
    assert ranked[0] == truth.service, f"{fault}: ranked {ranked[:3]}, truth {truth.service}"
    top = result.hypotheses[0]
    assert top.supporting, "a hypothesis without evidence must not be shown"
    assert all(e in result.evidence for e in top.supporting)
    assert 0.0 < top.confidence <= 0.99
    assert contradictions(render(result.brief, OutputFormat.MARKDOWN)) == []


def test_code_fault_locates_the_faulty_file_and_owner(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    truth = simulate("bad_deploy_exception", out=bundle)
    result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
    top = result.hypotheses[0]
    assert any(loc.path == truth.file for loc in top.locations), top.locations
    assert any(c.sha == truth.commit for c in top.suspect_commits), top.suspect_commits
    assert any(o.name == truth.owner for o in top.owners), top.owners
