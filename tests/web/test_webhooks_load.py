"""A 2-second run of benchmarks/bench_webhooks.py against a real `incidentlens serve`: no alert lost, no duplicate."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_webhooks.py"


def test_two_seconds_at_100_alerts_per_second_lose_nothing() -> None:
    spec = importlib.util.spec_from_file_location("bench_webhooks", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_webhooks"] = module
    spec.loader.exec_module(module)
    result = module.bench(rate=100.0, seconds=2.0, fingerprints=20, investigate=False)
    assert module.ok(result), result
    assert result["sent"] == result["accepted"] == 200 and result["incidents"] == 20
