"""The investigation use case: a request (sources, window, repository, memory) -> one run -> a result.

Every edge builds an `InvestigationRequest` and calls `run` (or `run_on_store` when it loaded the store
itself); recording goes through `record.record_result`.
"""

from incidentlens.investigation.analysis import Investigation
from incidentlens.investigation.request import InvestigationRequest, InvestigationResult, TimeWindow
from incidentlens.investigation.run import run, run_on_store

__all__ = ["Investigation", "InvestigationRequest", "InvestigationResult", "TimeWindow", "run", "run_on_store"]
