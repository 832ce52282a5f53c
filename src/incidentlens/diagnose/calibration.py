"""Turn raw service scores into a confidence that means what it says (Platt scaling).

The probability that the top hypothesis names the true service is modelled as a logistic function of the
top score, its margin over the runner-up, and how many services show anomalies at all (an incident disturbs
several services; one lone anomaly in a quiet system is more often noise). The constants are fitted once,
jointly, by `benchmarks/fit_calibration.py` over every benchmark case we have: faults (Nezha Train Ticket and
Online Boutique, RCD Sock Shop, simulated bundles of every fault type) and inputs with no fault at all (Nezha's
fault-free minutes, healthy simulated bundles, every format sample, random text), where naming any service
is wrong. One mapping serves every dataset; its leave-one-source-out error is reported by the same script.
A near tie is never decisive, so its confidence is capped at the abstention line. The same number decides
abstention: at or below `ABSTAIN_CONFIDENCE` the brief says "not enough evidence".
"""

from __future__ import annotations

import math

INTERCEPT = -4.181
TOP_SCORE_WEIGHT = 2.754
MARGIN_WEIGHT = 6.772
CANDIDATES_WEIGHT = 4.285
CANDIDATES_SATURATE = 10
TIE_MARGIN = 0.05
TIE_CAP = 0.5
# No more likely right than wrong: say "not enough evidence" rather than name a service.
ABSTAIN_CONFIDENCE = 0.5


def calibrated_confidence(top_score: float, runner_up_score: float, candidates: int) -> float:
    """P(this candidate is the root-cause service); `candidates`: how many services are anomalous."""
    margin = max(top_score - runner_up_score, 0.0)
    disturbed = min(candidates, CANDIDATES_SATURATE) / CANDIDATES_SATURATE
    logit = INTERCEPT + TOP_SCORE_WEIGHT * top_score + MARGIN_WEIGHT * margin + CANDIDATES_WEIGHT * disturbed
    confidence = 1.0 / (1.0 + math.exp(-logit))
    if margin < TIE_MARGIN:
        confidence = min(confidence, TIE_CAP)
    return round(min(confidence, 0.99), 3)
