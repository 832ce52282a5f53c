"""Simulated rolling updates: one pod at a time, one defective version, per-pod and per-edge series, by seed."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from incidentlens.errors import ConfigError
from incidentlens.ingest.changes import change_row
from incidentlens.ingest.common import parse_time_ns
from incidentlens.simulate.rollout import RolloutTruth, simulate_rollout
from incidentlens.simulate.rollout_plan import ROLLOUT_FAULTS, plan_rollout, services_in_order


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def _series(bundle: Path) -> list[dict[str, Any]]:
    doc = orjson.loads((bundle / "metrics" / "metrics.prom.json").read_bytes())
    assert doc["status"] == "success" and doc["data"]["resultType"] == "matrix"
    result: list[dict[str, Any]] = doc["data"]["result"]
    return result


def _changes(bundle: Path) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = orjson.loads((bundle / "changes" / "changes.json").read_bytes())["changes"]
    return changes


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def test_same_seed_same_bytes_other_seed_other_rollout(tmp_path: Path) -> None:
    a = simulate_rollout("rollout_errors", seed=4, out=tmp_path / "a")
    b = simulate_rollout("rollout_errors", seed=4, out=tmp_path / "b")
    c = simulate_rollout("rollout_errors", seed=5, out=tmp_path / "c")
    assert a == b and _files(tmp_path / "a") == _files(tmp_path / "b")
    assert (a.rolled, a.service, a.pods) != (c.rolled, c.service, c.pods)


@pytest.mark.parametrize("services", [1, 3, 6])
def test_one_pod_at_a_time_each_step_a_deploy_event_in_our_change_format(tmp_path: Path, services: int) -> None:
    truth = simulate_rollout("rollout_latency", seed=11, out=tmp_path / "b", services=services)
    assert len(truth.rolled) == services and truth.service in truth.rolled
    events = _changes(tmp_path / "b")
    rows = [change_row(e) for e in events]  # every event reads as a change
    assert {r["kind"] for r in rows} == {"deploy"}
    by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_service[e["service"]].append(e)
        assert e["pod"].startswith(e["service"] + "-") and e["version"] != e["previous"]
    assert list(by_service) == list(truth.rolled)  # services roll one after another
    for steps in by_service.values():
        assert [e["step"] for e in steps] == [f"{i + 1}/{len(steps)}" for i in range(len(steps))]
        assert len({e["pod"] for e in steps}) == len(steps) >= 2  # a new pod per step
        times = [parse_time_ns(e["timestamp"]) or 0 for e in steps]
        assert times == sorted(times) and len(set(times)) == len(times)
    bad = [e for e in events if e["service"] == truth.service]
    assert truth.version == bad[0]["version"]
    assert set(truth.pods) <= {e["pod"] for e in bad}


def test_exactly_one_new_version_is_defective_and_its_pods_show_it(tmp_path: Path) -> None:
    truth = simulate_rollout("rollout_errors", seed=3, out=tmp_path / "b")
    errors: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in _series(tmp_path / "b"):
        m = s["metric"]
        if m["__name__"] == "http_server_error_ratio":
            assert m["pod"].startswith(m["service"] + "-") and m["version"].startswith("v")
            errors[(m["service"], m["version"])].extend(float(v) for _, v in s["values"])
    bad = _median(errors[(truth.service, truth.version)])
    assert bad >= 0.08  # the defect: 10-33 % of the new pods' requests fail
    others = [(k, _median(v)) for k, v in errors.items() if k[0] == truth.service and k[1] != truth.version]
    assert others and all(level < 0.02 for _, level in others)  # its old pods do not


def test_edge_only_defect_is_invisible_in_its_own_pods_and_visible_on_callers_edges(tmp_path: Path) -> None:
    truth = simulate_rollout("rollout_edge_errors", seed=7, out=tmp_path / "b")
    own: list[float] = []
    edges: dict[str, list[float]] = defaultdict(list)
    for s in _series(tmp_path / "b"):
        m = s["metric"]
        values = [float(v) for _, v in s["values"]]
        own_series = m["__name__"] == "http_server_error_ratio" and m.get("service") == truth.service
        if own_series and m["version"] == truth.version:
            own.extend(values)
        if m["__name__"] == "istio_request_error_ratio" and m["destination_workload"] == truth.service:
            assert m["source_workload"] and m["reporter"] == "source"
            edges[m["destination_version"]].extend(values)
    assert own and _median(own) < 0.03  # the application never sees the failed calls
    assert _median(edges[truth.version]) >= 0.08


def test_fault_free_rollout_has_no_defective_version(tmp_path: Path) -> None:
    truth = simulate_rollout("rollout_none", seed=2, out=tmp_path / "b")
    assert truth.service == "" and truth.version == "" and truth.pods == ()
    assert _changes(tmp_path / "b")  # the rollout still happens
    alert = orjson.loads((tmp_path / "b" / "alerts" / "alertmanager.json").read_bytes())
    assert alert["alerts"][0]["status"] == "firing"


def test_every_kind_and_truth_file(tmp_path: Path) -> None:
    for i, fault in enumerate(ROLLOUT_FAULTS):
        truth = simulate_rollout(fault, seed=i, out=tmp_path / fault)
        assert orjson.loads((tmp_path / fault / "truth.json").read_bytes())["fault"] == fault
        assert isinstance(truth, RolloutTruth)
        assert truth.latest_change_service in truth.rolled
        if fault != "rollout_none":
            assert truth.change_ns < truth.alert_ns and truth.pods


def test_callees_come_before_callers_and_bad_input_is_refused(tmp_path: Path) -> None:
    order = services_in_order()
    assert order.index("productcatalog") < order.index("recommendation") < order.index("frontend")
    plan = plan_rollout("rollout_cpu", seed=1, start_ns=0)
    assert all(p.end_ns == 0 or p.end_ns > p.start_ns for p in plan.pods)
    with pytest.raises(ConfigError, match="unknown rollout fault"):
        simulate_rollout("nope", out=tmp_path / "x")
    with pytest.raises(ConfigError, match="1 to 6"):
        simulate_rollout("rollout_cpu", out=tmp_path / "y", services=7)
