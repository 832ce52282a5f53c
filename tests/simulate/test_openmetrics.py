"""The simulator's raw exporter series agree with its query-level metric file: the counters' increments per
15 s are the request rates and CPU ratios the file holds, and the text is OpenMetrics promtool can read."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from incidentlens.simulate import simulate

_SAMPLE = re.compile(r"^([a-z_]+)\{(.*)\} (\S+) (\d+(?:\.\d+)?)$")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("om") / "bundle"
    simulate("memory_leak", seed=3, out=out, with_repo=False, openmetrics=True)
    return out


def _series(text: str, name: str) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and m.group(1) == name:
            out[m.group(2)].append((float(m.group(4)), float(m.group(3))))
    return out


def _file(bundle: Path, name: str) -> dict[tuple[str, str], dict[float, float]]:
    doc = orjson.loads((bundle / "metrics" / "metrics.prom.json").read_bytes())
    return {
        (s["metric"]["service"], s["metric"]["pod"]): {float(t): float(v) for t, v in s["values"]}
        for s in doc["data"]["result"]
        if s["metric"]["__name__"] == name
    }


def test_exposition_is_openmetrics_with_one_type_line_per_family(bundle: Path) -> None:
    text = (bundle / "openmetrics" / "metrics.om").read_text(encoding="utf-8")
    assert text.endswith("# EOF\n")
    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types))
    assert "http_server_request_duration_seconds" in types and "container_cpu_usage_seconds" in types


def _increments(samples: list[tuple[float, float]]) -> tuple[dict[float, float], int]:
    """Per sample time, the counter's increase over the previous 15 s; and how often it restarted from zero."""
    out: dict[float, float] = {}
    previous_t, previous, restarts = 0.0, 0.0, 0
    for t, value in samples:
        if t - previous_t != 15:  # a new process (first sample, or after an OOM kill): counting starts at zero
            restarts += previous_t > 0
            previous = 0.0
        out[t] = value - previous
        previous_t, previous = t, value
    return out, restarts


def _key(labels: str, service_label: str) -> tuple[str, str]:
    service = re.search(rf'{service_label}="([^"]+)"', labels)
    pod = re.search(r'pod="([^"]+)"', labels)
    assert service and pod
    return service[1], pod[1]


def test_counter_increments_are_the_rates_of_the_metric_file(bundle: Path) -> None:
    text = (bundle / "openmetrics" / "metrics.om").read_text(encoding="utf-8")
    rps = _file(bundle, "http_server_requests_per_second")
    requests: dict[tuple[str, str], dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for labels, samples in _series(text, "http_server_request_duration_seconds_count").items():
        for t, n in _increments(samples)[0].items():
            requests[_key(labels, "service")][t] += n  # the 200 and the 500 series together
    assert set(requests) == set(rps)
    for key, per_time in requests.items():
        assert per_time == pytest.approx({t: v * 15 for t, v in rps[key].items()}, abs=1e-4), key  # 6 digits

    ratio = _file(bundle, "container_cpu_usage_ratio")
    restarts = 0
    for labels, samples in _series(text, "container_cpu_usage_seconds_total").items():
        used, restarted = _increments(samples)
        key = _key(labels, "container")
        assert used == pytest.approx({t: v * 15 for t, v in ratio[key].items()}, abs=1e-5), key
        restarts += restarted
    assert restarts >= 1  # the leaking service was OOM-killed and restarted
