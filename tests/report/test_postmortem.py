"""The postmortem and status update models over a real SQLite workflow database, with times chosen so
durations are exact: only confirmed causes are stated, every sentence is referenced, absences are said."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from incidentlens.errors import AuditIntegrityError, ConfigError, InputError
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Hypothesis, HypothesisStatus, Prediction, Severity
from incidentlens.model.enums import IncidentStatus
from incidentlens.model.records import CodeLocation
from incidentlens.report.postmortem import Postmortem, SloTarget
from incidentlens.report.references import RefKind, Sentence
from incidentlens.report.render_reports import ReportFormat, render_postmortem, render_status_update
from incidentlens.report.status import StatusUpdate
from incidentlens.store import get_incident, set_incident_status
from incidentlens.store.database import Database, open_database
from incidentlens.workflow import incidents, record_investigation
from incidentlens.workflow.audit import audit_trail
from incidentlens.workflow.ledger import decide_hypothesis
from incidentlens.workflow.reports import load_postmortem, load_status_update

DETECTED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ONSET = DETECTED - timedelta(minutes=3)


def ns(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000


def minutes(n: float) -> datetime:
    """A time `n` minutes after detection."""
    return DETECTED + timedelta(minutes=n)


EVIDENCE = (
    Evidence("ev-tpl", EvidenceKind.LOG_TEMPLATE, "payment", 'ERROR template "charge failed" is new', "charge failed"),
    Evidence("ev-deploy", EvidenceKind.CHANGE, "payment", "deploy of payment 2 min before onset", "deploy v2"),
    Evidence("ev-cpu", EvidenceKind.METRIC_ANOMALY, "currency", "cpu of currency up", "cpu 0.9"),
    Evidence("ev-slow", EvidenceKind.TRACE_LATENCY, "checkout", "checkout slower", "p95 900 ms"),
)
HYPOTHESES = (
    Hypothesis(
        "hyp-1-payment",
        "a code defect in payment makes charges fail",
        "payment",
        FaultKind.CODE,
        0.8,
        ("ev-tpl", "ev-deploy"),
        predictions=(Prediction("rolling back payment removes the errors", "errors stop", "errors persist"),),
        locations=(CodeLocation("services/payment/charge.py", 42, function="charge"),),
    ),
    Hypothesis("hyp-2-currency", "currency is CPU-starved", "currency", FaultKind.CPU, 0.4, ("ev-cpu",)),
    Hypothesis("hyp-3-checkout", "checkout itself is slow", "checkout", FaultKind.UNKNOWN, 0.2, ("ev-slow",)),
)


def brief() -> dict[str, Any]:
    return {
        "onset_ns": ns(ONSET),
        "onset_reason": "errors depart from their normal level",
        "incident": [ns(ONSET), ns(minutes(20))],
        "abstained": False,
        "impact": {
            "affected_services": ["payment", "checkout"],
            "error_rate_before": 0.01,
            "error_rate_during": 0.11,
            "latency_p95_before_ms": 80.0,
            "latency_p95_during_ms": 300.0,
            "alerts": ["CheckoutErrors (checkout, critical)"],
        },
        "timeline": [
            {
                "ts_ns": ns(ONSET - timedelta(minutes=2)),
                "kind": "change",
                "service": "payment",
                "text": "deploy v2",
                "evidence_id": "ev-deploy",
            },
            {
                "ts_ns": ns(DETECTED),
                "kind": "alert",
                "service": "checkout",
                "text": "CheckoutErrors",
                "evidence_id": "",
            },
        ],
    }


def record(db: Database, *, fingerprint: str = "fp-1") -> str:
    recorded = record_investigation(
        db,
        title="checkout fails to charge",
        service="payment",
        severity=Severity.CRITICAL,
        detected_ns=ns(DETECTED),
        alert_fingerprint=fingerprint,
        evidence=list(EVIDENCE),
        hypotheses=list(HYPOTHESES),
        brief_json=orjson.dumps(brief()).decode(),
        workspace="ws",
        inputs={},
        now=minutes(1),
    )
    return recorded.incident_id


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def db(workspace: Path) -> Iterator[Database]:
    database = open_database(workspace=workspace)
    try:
        yield database
    finally:
        database.dispose()


def respond(db: Database, incident_id: str) -> None:
    """A whole response with known times: assign, ack, own, refute one, confirm one, mitigate, resolve."""
    incidents.assign(db, incident_id=incident_id, owner="@payments", actor="carol", at=minutes(2))
    incidents.acknowledge(db, incident_id=incident_id, actor="carol", at=minutes(3))
    incidents.take_ownership(db, incident_id=incident_id, actor="dave", at=minutes(5))
    decide_hypothesis(
        db,
        incident_id=incident_id,
        hypothesis_id="hyp-2-currency",
        decision=HypothesisStatus.REFUTED,
        comment="the cpu spike comes <b>after</b> the errors. Not the cause",
        actor="carol",
        at=minutes(6),
    )
    decide_hypothesis(
        db,
        incident_id=incident_id,
        hypothesis_id="hyp-1-payment",
        decision=HypothesisStatus.CONFIRMED,
        comment="the trace shows the KeyError",
        actor="dave",
        at=minutes(8),
    )
    incidents.mitigate(db, incident_id=incident_id, actor="dave", at=minutes(12), note="rolled back payment v2")
    incidents.resolve(db, incident_id=incident_id, actor="dave", at=minutes(20))


def texts(report: Postmortem | StatusUpdate, key: str) -> list[str]:
    return [s.text for s in report.section(key).sentences]


def assert_all_referenced(report: Postmortem | StatusUpdate, db: Database, incident_id: str) -> None:
    """Every sentence of every section cites at least one record, and each resolves in this incident."""
    evidence = {e.id for e in get_incident(db, incident_id).evidence}
    seqs = {str(e.seq) for e in audit_trail(db, incident_id=incident_id)}
    for section in report.sections:
        assert section.sentences, section.key
        for sentence in section.sentences:
            assert sentence.refs, sentence.text
            for ref in sentence.refs:
                assert ref.key in (evidence if ref.kind is RefKind.EVIDENCE else seqs), (ref, sentence.text)


def seq_of(db: Database, incident_id: str, entity: str, action: str) -> int:
    return next(e.seq for e in audit_trail(db, incident_id=incident_id) if e.entity == entity and e.action == action)


def test_without_a_confirmation_the_cause_is_not_confirmed_and_the_leaders_are_listed_unconfirmed(db: Database) -> None:
    incident_id = record(db)
    pm = load_postmortem(db, incident_id=incident_id, now=minutes(30))
    assert_all_referenced(pm, db, incident_id)
    assert not pm.root_cause_confirmed and pm.dropped == 0
    cause = texts(pm, "root_cause")
    assert cause[0] == "The root cause is not confirmed: no hypothesis has been confirmed by a person"
    assert [t.split(" (")[0] for t in cause[1:]] == [
        "Unconfirmed HYPOTHESIS hyp-1-payment",
        "Unconfirmed HYPOTHESIS hyp-2-currency",
        "Unconfirmed HYPOTHESIS hyp-3-checkout",
    ]
    assert not any("confirmed by" in t or "Root cause, confirmed" in t for t in texts(pm, "summary"))
    latest = max(e.seq for e in audit_trail(db, incident_id=incident_id))
    (nothing,) = pm.section("refuted").sentences
    assert nothing.text.startswith("Nothing was refuted or rejected") and nothing.refs[0].key == str(latest)
    assert "No fix was executed through IncidentLens" in texts(pm, "resolution")
    assert "The incident is not resolved (status investigating)" in texts(pm, "resolution")
    assert any(t.startswith("MTTA: not reached") for t in texts(pm, "metrics"))
    assert texts(pm, "impact")[0].startswith("Duration: not marked mitigated or resolved; 33m 00s since the onset")
    assert any(t.startswith("Confirm or refute hyp-1-payment: rolling back payment") for t in texts(pm, "action_items"))


def test_a_resolved_incident_states_the_confirmed_cause_with_evidence_and_the_refuted_one_with_why(
    db: Database,
) -> None:
    incident_id = record(db)
    respond(db, incident_id)
    pm = load_postmortem(db, incident_id=incident_id, now=minutes(30))
    assert_all_referenced(pm, db, incident_id)
    assert pm.root_cause_confirmed and pm.dropped == 0 and len(pm.audit_head) == 64

    first, *rest = pm.section("root_cause").sentences
    assert first.text.startswith("HYPOTHESIS hyp-1-payment confirmed by dave at 2026-03-02 10:08:00Z")
    assert first.refs[0].key == str(seq_of(db, incident_id, "hypothesis", "confirm"))
    assert {r.key for s in rest for r in s.refs if r.kind is RefKind.EVIDENCE} == {"ev-tpl", "ev-deploy"}
    assert not any("currency" in s.text or "checkout itself" in s.text for s in rest)

    (refuted,) = pm.section("refuted").sentences
    assert "hyp-2-currency refuted by carol" in refuted.text and "Not the cause”" in refuted.text
    assert refuted.refs == (refuted.refs[0],) and refuted.refs[0].key == str(
        seq_of(db, incident_id, "hypothesis", "refute")
    )
    assert texts(pm, "contributing") == [
        "Change linked to the confirmed root cause hyp-1-payment: deploy of payment 2 min before onset"
    ]

    impact = texts(pm, "impact")
    assert impact[0].startswith("Duration: 15m 00s, from the onset at 2026-03-02 09:57:00Z")
    assert impact[-1].startswith(
        "Error budget (estimate): 10.00 % of requests failing above the normal rate for 15.0 min"
    )
    assert (
        "about 1.50 min of full outage, 3.5 % of the 43.2-minute budget of a 99.9 % availability SLO over 30 days"
        in impact[-1]
    )
    metrics = texts(pm, "metrics")
    for name, took in (
        ("MTTA", "3m 00s"),
        ("MTTU", "8m 00s"),
        ("MTTO", "5m 00s"),
        ("MTTM", "12m 00s"),
        ("MTTR", "20m 00s"),
    ):
        assert any(t.startswith(f"{name}: {took} (") for t in metrics), (name, metrics)
    resolution = texts(pm, "resolution")
    assert "No fix was executed through IncidentLens" in resolution
    assert "dave marked the incident mitigated at 2026-03-02 10:12:00Z: “rolled back payment v2”" in resolution
    timeline = pm.section("timeline").sentences
    assert [s.at for s in timeline] == sorted(s.at for s in timeline if s.at)
    assert timeline[0].refs[0].key == "ev-deploy"
    assert any("the alert or first anomalous signal started (detected)" in s.text for s in timeline)
    assert any(t.startswith("Verify hyp-1-payment: rolling back payment") for t in texts(pm, "action_items"))

    custom = load_postmortem(db, incident_id=incident_id, now=minutes(30), slo=SloTarget(99.0, 28))
    assert "0.4 % of the 403.2-minute budget of a 99 % availability SLO over 28 days" in texts(custom, "impact")[-1]
    with pytest.raises(ConfigError, match="between 0 and 100"):
        SloTarget(100.0)


def test_status_update_says_what_we_know_what_we_do_and_when_we_report_next(db: Database) -> None:
    incident_id = record(db)
    incidents.assign(db, incident_id=incident_id, owner="@checkout", actor="carol", at=minutes(1.5))
    su = load_status_update(db, incident_id=incident_id, now=minutes(30), next_update_minutes=15)
    assert_all_referenced(su, db, incident_id)
    known = texts(su, "known")
    assert known[0] == (
        "Since 2026-03-02 09:57:00Z (33m 00s so far) the incident affects payment, checkout; "
        "11.0 % of requests failed (normally 1.0 %)"
    )
    assert known[2].startswith(
        "We do not know the cause for certain yet; the leading hypothesis (confidence 0.80, not confirmed)"
    )
    assert "Owner: @checkout (not yet engaged)" in known
    assert texts(su, "doing")[0] == "We are investigating and testing the hypotheses against the evidence"
    assert su.next_update == "Next update in 15 minutes, by 2026-03-02 10:45:00Z, or sooner if anything changes."

    respond(db, incident_id)
    done = load_status_update(db, incident_id=incident_id, now=minutes(30))
    assert_all_referenced(done, db, incident_id)
    assert "The cause is confirmed: a code defect in payment makes charges fail" in texts(done, "known")
    assert texts(done, "doing")[0] == "The incident is resolved; a postmortem draft follows"
    assert done.next_update.startswith("No further updates are planned")
    assert "Owner: @payments (engaged since 2026-03-02 10:05:00Z)" in texts(done, "known")
    routing = texts(load_postmortem(db, incident_id=incident_id, now=minutes(30)), "action_items")[-1]
    assert routing == "Review routing: the incident changed owner 1 time(s) before the final owner"


def test_a_step_the_audit_chain_does_not_record_is_left_out_and_counted(db: Database) -> None:
    incident_id = record(db)
    set_incident_status(db, incident_id=incident_id, status=IncidentStatus.MITIGATED, at=minutes(4), actor="ghost")
    pm = load_postmortem(db, incident_id=incident_id, now=minutes(30))
    assert_all_referenced(pm, db, incident_id)
    assert pm.dropped >= 1
    assert not any("ghost" in s.text for section in pm.sections for s in section.sentences)
    assert texts(pm, "impact")[0].startswith("Duration: not marked mitigated or resolved")
    with pytest.raises(ValueError, match="needs a reference"):
        Sentence("a bare claim", ())


def test_rendering_links_references_escapes_html_and_takes_user_templates(db: Database, tmp_path: Path) -> None:
    incident_id = record(db)
    respond(db, incident_id)
    pm = load_postmortem(db, incident_id=incident_id, now=minutes(30))
    md = render_postmortem(pm, ReportFormat.MARKDOWN)
    assert "## Root cause\n- HYPOTHESIS hyp-1-payment confirmed by dave" in md
    assert "[ev:ev-tpl]" in md and "\n- [ev:ev-tpl] log_template on payment: " in md
    html = render_postmortem(pm, ReportFormat.HTML)
    assert '<a class="ref" href="#ref-ev-ev-tpl">[ev:ev-tpl]</a>' in html and 'id="ref-ev-ev-tpl"' in html
    assert "&lt;b&gt;after&lt;/b&gt;" in html and "<b>after</b>" not in html
    su_html = render_status_update(load_status_update(db, incident_id=incident_id, now=minutes(30)), ReportFormat.HTML)
    assert '<h2 id="s-known">What we know</h2>' in su_html

    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "postmortem.md.j2").write_text("custom {{ pm.incident_id }}: {{ pm.sections | length }} sections\n")
    assert render_postmortem(pm, ReportFormat.MARKDOWN, templates_dir=mine) == f"custom {incident_id}: 9 sections\n"
    assert render_postmortem(pm, ReportFormat.HTML, templates_dir=mine).startswith("<!doctype html>")  # not overridden
    (mine / "postmortem.md.j2").write_text("line one\n{% for x in %}\n")
    with pytest.raises(InputError, match=r"postmortem\.md\.j2:2"):
        render_postmortem(pm, ReportFormat.MARKDOWN, templates_dir=mine)
    (mine / "postmortem.md.j2").write_text("{{ pm.no_such_field }}\n")
    with pytest.raises(InputError, match="no_such_field"):
        render_postmortem(pm, ReportFormat.MARKDOWN, templates_dir=mine)
    with pytest.raises(ConfigError, match="does not exist"):
        render_postmortem(pm, ReportFormat.MARKDOWN, templates_dir=tmp_path / "missing")


def test_reports_refuse_an_audit_chain_that_does_not_verify(db: Database) -> None:
    incident_id = record(db)
    with db.session() as session:
        session.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    with pytest.raises(AuditIntegrityError, match="seq 2"):
        load_postmortem(db, incident_id=incident_id, now=minutes(30))
