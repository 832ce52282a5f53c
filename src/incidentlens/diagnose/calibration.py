"""Turn raw service scores into a confidence that means what it says (Platt scaling).

The probability that the top hypothesis names the true service is modelled as a logistic function of the
top score and its margin over the runner-up. The three constants are fitted once, jointly, over every
benchmark case we have (Nezha Train Ticket and Online Boutique, RCD Sock Shop, simulated bundles of every
fault type) by `benchmarks/fit_calibration.py`; one mapping serves every dataset. A near tie is never
decisive, so its confidence is capped.
"""

from __future__ import annotations

import math

INTERCEPT = -1.640
TOP_SCORE_WEIGHT = 3.940
MARGIN_WEIGHT = 9.922
TIE_MARGIN = 0.05
TIE_CAP = 0.5


def calibrated_confidence(top_score: float, runner_up_score: float) -> float:
    margin = max(top_score - runner_up_score, 0.0)
    logit = INTERCEPT + TOP_SCORE_WEIGHT * top_score + MARGIN_WEIGHT * margin
    confidence = 1.0 / (1.0 + math.exp(-logit))
    if margin < TIE_MARGIN:
        confidence = min(confidence, TIE_CAP)
    return round(min(confidence, 0.99), 3)
