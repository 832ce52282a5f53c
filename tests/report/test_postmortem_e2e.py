"""A postmortem for a resolved simulated incident, driven through the CLI like tests/workflow/test_end_to_end.py
(investigate -> refute one, confirm one -> fix validated, approved by two, executed -> verify-fix -> resolve):
the rendered Markdown is parsed and every sentence of every factual section must cite a record that exists
for that incident, as an evidence id or an audit seq. The HTML links each reference to its footnote."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from incidentlens.cli.main import app
from incidentlens.store import get_incident
from incidentlens.store.database import open_database

runner = CliRunner()
REF = re.compile(r"\[(ev|audit):([^\]\s]+)\]")
QUOTED = re.compile(r"“[^”]*”")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def sections(markdown: str) -> dict[str, list[str]]:
    """`## Title` -> its non-empty lines."""
    out: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = []
        elif current is not None and line.strip():
            out[current].append(line)
    return out


def claims(line: str) -> list[str]:
    """A bullet's sentences; quoted words are a person's and belong to the sentence quoting them."""
    assert line.startswith("- "), f"not a bullet: {line!r}"
    return [part for part in SENTENCE_END.split(QUOTED.sub("“…”", line[2:])) if part.strip()]


def test_a_resolved_incident_postmortem_has_no_claim_without_a_reference(tmp_path: Path) -> None:
    bundle, healthy, ws = tmp_path / "bundle", tmp_path / "healthy", tmp_path / "ws"
    run("simulate", "--fault", "bad_deploy_exception", "--seed", "7", "--scale", "0.25", "--out", str(bundle))
    run("simulate", "--fault", "none", "--seed", "7", "--scale", "0.25", "--out", str(healthy))
    truth = json.loads((bundle / "truth.json").read_text())
    (tmp_path / "policy.yaml").write_text(f"production_services: [{truth['service']}]\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        "users:\n  carol: {roles: [responder]}\n  alice: {roles: [approver]}\n  bob: {roles: [approver]}\n"
        "default_user: carol\npolicy: policy.yaml\nslo: {target: 99.5}\n"
        f"repositories:\n  shop:\n    path: {bundle / 'repo'}\n"
        "    test_command: [python3, -m, compileall, -q, services]\n"
    )
    w, c = ("--workspace", str(ws)), ("--config", str(config))
    brief = json.loads(run(*w, "investigate", str(bundle), "--json"))
    top, other = brief["hypotheses"][0], brief["hypotheses"][1]
    run(*w, "incident", "assign", "INC-0001", truth["owner"], *c)
    run(*w, "incident", "ack", "INC-0001", *c)
    run(*w, "incident", "own", "INC-0001", *c)
    run(*w, "hypothesis", "refute", "INC-0001", other["id"], "--comment", "only a victim. It calls cart", *c)
    run(*w, "hypothesis", "confirm", "INC-0001", top["id"], "--comment", "stack trace matches", *c)
    fixes = json.loads(run(*w, "fix", "list", "INC-0001", "--json", *c))
    revert = next(f for f in fixes if f["kind"] == "revert")["id"]
    patch = next(f for f in fixes if f["kind"] == "code_patch")["id"]
    run(*w, "fix", "validate", revert, *c)
    run(*w, "fix", "approve", revert, "--as", "alice", "--comment", "revert is safe", *c)
    run(*w, "fix", "approve", revert, "--as", "bob", *c)
    run(*w, "fix", "reject", patch, "--as", "bob", "--comment", "the revert is enough", *c)
    run(*w, "fix", "execute", revert, "--executor", "git_branch", *c)
    run(*w, "verify-fix", revert, "--telemetry", str(healthy), *c)
    run(*w, "incident", "mitigate", "INC-0001", *c)
    run(*w, "incident", "resolve", "INC-0001", "--note", "reverted the cart deploy", *c)

    md = run(*w, "postmortem", "INC-0001", *c)
    db = open_database(workspace=ws)
    try:
        evidence = {e.id for e in get_incident(db, "INC-0001").evidence}
    finally:
        db.dispose()
    seqs = {str(e["seq"]) for e in json.loads(run(*w, "audit", "show", "INC-0001", "--json"))}
    parts = sections(md)
    factual = {title: lines for title, lines in parts.items() if title != "References"}
    assert len(factual) == 9
    checked = 0
    for title, lines in factual.items():
        assert lines, f"section {title} is empty"
        for line in lines:
            for sentence in claims(line):
                refs = REF.findall(sentence)
                assert refs, f"{title}: no reference in {sentence!r}"
                for kind, key in refs:
                    assert key in (evidence if kind == "ev" else seqs), f"{title}: [{kind}:{key}] does not resolve"
                checked += 1
    assert checked > 40

    cause = parts["Root cause"]
    assert cause[0].startswith(f"- HYPOTHESIS {top['id']} confirmed by carol") and other["id"] not in "".join(cause)
    assert any(
        other["id"] in line and "“only a victim. It calls cart”" in line for line in parts["What was tried and refuted"]
    )
    assert any(patch in line and "rejected" in line for line in parts["What was tried and refuted"])
    resolution = "\n".join(parts["Resolution and the approved fix"])
    assert "Alice approved fix" in resolution and "Bob approved fix" in resolution
    assert "executed fix" in resolution and "on post-fix telemetry: confirmed" in resolution
    assert "99.5 % availability SLO" in "\n".join(parts["Impact"])
    assert {line.split(":")[0] for line in parts["Response metrics (MTTx)"]} >= {"- MTTA", "- MTTU", "- MTTO", "- MTTR"}

    page = tmp_path / "pm.html"
    run(*w, "postmortem", "INC-0001", "--format", "html", "--out", str(page), *c)
    html = page.read_text()
    targets = set(re.findall(r'href="#([^"]+)"', html))
    assert targets and targets <= set(re.findall(r' id="([^"]+)"', html))
    items = re.findall(r"<li>(.*?)</li>", html.split('id="s-references"')[0], re.S)
    assert items and all('class="ref"' in item for item in items)

    update = run(*w, "status-update", "INC-0001", *c)
    assert "## What we know" in update and "The cause is confirmed" in update and "No further updates" in update
