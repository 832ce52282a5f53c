"""2-second runs of benchmarks/bench_webhooks.py against real `incidentlens serve` processes (one on SQLite, two
replicas on PostgreSQL): no alert lost, no duplicate incident."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_webhooks.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_webhooks", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_webhooks"] = module
    spec.loader.exec_module(module)
    return module


def test_two_seconds_at_100_alerts_per_second_lose_nothing() -> None:
    module = _bench()
    result = module.bench(rate=100.0, seconds=2.0, fingerprints=20, investigate=False)
    assert module.ok(result), result
    assert result["sent"] == result["accepted"] == 200 and result["incidents"] == 20


def test_two_replicas_on_postgresql_lose_nothing_and_open_no_duplicate(postgres_url: str) -> None:
    module = _bench()
    result = module.bench(
        rate=100.0, seconds=2.0, fingerprints=20, investigate=False, replicas=2, database_url=postgres_url
    )
    assert module.ok(result), result
    assert result["sent"] == result["accepted"] == 200 and result["incidents"] == 20
    assert result["replicas"] == 2 and result["database"] == "postgresql+psycopg"
