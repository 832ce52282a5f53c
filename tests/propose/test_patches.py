"""Rule-based patches, diffs and proposal building: pure, on texts; the diffs are checked by real `git apply`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from incidentlens.model import (
    CodeLocation,
    Evidence,
    EvidenceKind,
    FaultKind,
    FixKind,
    Hypothesis,
    RiskLevel,
    SuspectCommit,
)
from incidentlens.propose.build import RepoView, build_proposals
from incidentlens.propose.diffs import files_in_diff, unified_diff
from incidentlens.propose.patches import guard_missing, reraise_swallowed, restore_timeouts

CART = "class Store:\n    def get_cart(self, user):\n        cart = self._read(user)\n        return cart['items']\n"
QUOTE = "DEFAULT_FACTOR = 1.0\n\ndef quote(address):\n    factor = ZONE_FACTORS[address.country]\n    return factor\n"
HANDLER = (
    "import logging\nlogger = logging.getLogger(__name__)\n\ndef handle(req):\n    try:\n        work(req)\n"
    "    except Exception:\n        pass\n"
)


def applies(tmp_path: Path, path: str, before: str, diff: str) -> str:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / path).write_text(before)
    subprocess.run(["git", "apply", "-"], cwd=tmp_path, input=diff.encode(), check=True)
    return (tmp_path / path).read_text()


def test_none_guard_before_the_failing_line(tmp_path: Path) -> None:
    patch = guard_missing(path="store.py", text=CART, line=4, exception_type="TypeError", function="get_cart")
    assert patch is not None and patch.rule == "none-guard" and patch.risk is RiskLevel.MEDIUM
    assert "        if cart is None:\n            return None\n        return cart['items']" in patch.after
    assert applies(tmp_path, "store.py", CART, unified_diff("store.py", CART, patch.after)) == patch.after


def test_missing_key_uses_the_module_default() -> None:
    patch = guard_missing(path="quote.py", text=QUOTE, line=4, exception_type="KeyError")
    assert patch is not None
    assert "factor = ZONE_FACTORS.get(address.country, DEFAULT_FACTOR)" in patch.after


def test_no_rule_for_other_exceptions_or_lines_out_of_range() -> None:
    assert guard_missing(path="q.py", text=QUOTE, line=4, exception_type="ValueError") is None
    assert guard_missing(path="q.py", text=QUOTE, line=99, exception_type="KeyError") is None


def test_lowered_timeout_is_restored_from_history() -> None:
    before = "name: checkout\nshipping_timeout_ms: 2000\nretries: 3\n"
    now = "name: checkout\nshipping_timeout_ms: 3\nretries: 3\n"
    patch = restore_timeouts(path="config.yaml", text=now, previous=before)
    assert patch is not None and patch.after == before and "3 -> 2000" in patch.rationale
    assert restore_timeouts(path="config.yaml", text=before, previous=now) is None  # raised, not lowered


def test_swallowed_exception_is_logged_and_reraised() -> None:
    patch = reraise_swallowed(path="h.py", text=HANDLER, line=6)
    assert patch is not None
    assert patch.after.endswith('    except Exception:\n        logger.exception("unexpected error")\n        raise\n')


def test_diff_names_its_file_and_is_empty_without_change() -> None:
    assert unified_diff("a.py", "x\n", "x\n") == ""
    assert files_in_diff(unified_diff("a/b.py", "x\n", "y\n")) == ("a/b.py",)


def _evidence() -> dict[str, Evidence]:
    return {
        "ev-tpl": Evidence(
            "ev-tpl",
            EvidenceKind.LOG_TEMPLATE,
            "cart",
            "ERROR template new",
            "cart operation failed",
            score=14.0,
            attributes={
                "template": "cart operation failed",
                "level": "ERROR",
                "shift": "new",
                "baseline_count": 0,
                "exception_type": "TypeError",
            },
        ),
        "ev-chg": Evidence(
            "ev-chg",
            EvidenceKind.CHANGE,
            "cart",
            "config change of cart 1 min before onset: cart config cache_timeout_ms: 500 -> 5",
            "cart config cache_timeout_ms: 500 -> 5",
            score=0.9,
            attributes={"kind": "config", "previous": "500", "current": "5"},
        ),
    }


def test_build_proposals_from_a_repo_view() -> None:
    hypothesis = Hypothesis(
        "hyp-1-cart",
        "a code defect in cart",
        "cart",
        FaultKind.CODE,
        0.9,
        ("ev-tpl", "ev-chg"),
        locations=(CodeLocation("services/cart/store.py", 4, function="get_cart"),),
        suspect_commits=(SuspectCommit("abc123", "Dev", 0, "cart: simplify"),),
    )
    view = RepoView(
        head="f00",
        files={"services/cart/store.py": CART},
        revert_commit="abc123",
        revert_diff=unified_diff("services/cart/store.py", CART, CART.replace("x", "x")) or "diff --git a/x b/x\n",
        config_files={"services/cart/config.yaml": "cache_timeout_ms: 5\n"},
    )
    proposals = build_proposals(hypothesis=hypothesis, evidence=_evidence(), view=view, baseline_minutes=30)
    kinds = {p.kind: p for p in proposals}
    rollback = kinds[FixKind.CONFIG_ROLLBACK]
    assert "-cache_timeout_ms: 5\n+cache_timeout_ms: 500" in rollback.diff
    assert rollback.action["key"] == "cache_timeout_ms" and rollback.action["value"] == "500"
    assert kinds[FixKind.REVERT].action["commit"] == "abc123"
    assert "if cart is None" in kinds[FixKind.CODE_PATCH].diff
    for p in proposals:
        assert p.service == "cart" and p.evidence_ids and p.author == "incidentlens"
        assert p.expectation["template"] == "cart operation failed"
        assert p.prediction is not None and "within 10 minutes" in p.prediction.statement


def test_config_rollback_without_the_value_in_the_repo_is_an_action_spec() -> None:
    hypothesis = Hypothesis("hyp-2", "config", "cart", FaultKind.CONFIG, 0.8, ("ev-chg", "ev-tpl"))
    proposals = build_proposals(hypothesis=hypothesis, evidence=_evidence(), view=None, baseline_minutes=30)
    rollback = next(p for p in proposals if p.kind is FixKind.CONFIG_ROLLBACK)
    assert rollback.diff == ""
    assert rollback.action == {
        "service": "cart",
        "commit": "",
        "previous": "500",
        "action": "set-config",
        "key": "cache_timeout_ms",
        "value": "500",
    }
