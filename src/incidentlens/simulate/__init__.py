"""The demo system: deterministic, realistic incident bundles (telemetry, changes, alert, git repo, truth).

FAULTS            name -> FaultSpec (one-line description, fault kind, candidate services)
DEFAULT_FAULT     the fault the demo uses
simulate(...)     writes a bundle into `out` and returns its `Truth`
"""

from __future__ import annotations

from incidentlens.simulate.faults import DEFAULT_FAULT, FAULTS, FaultSpec
from incidentlens.simulate.scenario import BENCHMARK_SCALE, BENCHMARK_TRACE_SAMPLE, Truth, simulate

__all__ = ["BENCHMARK_SCALE", "BENCHMARK_TRACE_SAMPLE", "DEFAULT_FAULT", "FAULTS", "FaultSpec", "Truth", "simulate"]
