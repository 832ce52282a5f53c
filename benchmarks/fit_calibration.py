"""Fit the confidence calibration (logistic on top score, margin and anomalous services) and report its ECE.

Usage:
    python benchmarks/calibration_data.py /tmp/calibration.jsonl
    python benchmarks/fit_calibration.py /tmp/calibration.jsonl
Prints the fitted constants for `src/incidentlens/diagnose/calibration.py`, the pooled expected calibration
error, and the ECE of each source when it is held out of the fit (how well the mapping generalises).
When the data holds several values of `analyze/traces.MIN_RISE_Z` (calibration_data.py --grid), each held-out
source is also scored at the value chosen on the other sources (right answers above the abstention line plus
abstentions on fault-free inputs), so the figure covers that choice too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import orjson

from incidentlens.analyze.traces import MIN_RISE_Z
from incidentlens.diagnose.calibration import (
    ABSTAIN_CONFIDENCE,
    CANDIDATES_SATURATE,
    TIE_CAP,
    TIE_MARGIN,
    calibrated_confidence,
)


def design(rows: list[dict[str, object]]) -> np.ndarray:
    """Intercept, top score, margin over the runner-up, and the share of services anomalous (saturating)."""
    return np.array(
        [
            [
                1.0,
                float(r["p1"]),
                float(r["p1"]) - float(r["p2"]),
                min(int(r["n"]), CANDIDATES_SATURATE) / CANDIDATES_SATURATE,
            ]  # type: ignore[call-overload]
            for r in rows
        ]
    )


def predict(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The calibrated confidence as `diagnose/calibration.py` computes it (tie cap and 0.99 ceiling included)."""
    p = 1 / (1 + np.exp(-x @ w))
    p = np.where(x[:, 2] < TIE_MARGIN, np.minimum(p, TIE_CAP), p)
    return np.minimum(p, 0.99)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Logistic regression by Newton's method with a small ridge penalty."""
    w = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + l2 * w
        hess = (x.T * (p * (1 - p))) @ x + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    total = 0.0
    for b in range(bins):
        upper = p <= 1 if b == bins - 1 else p < (b + 1) / bins
        mask = (p >= b / bins) & upper
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def shipped_confidence(rows: list[dict[str, object]]) -> np.ndarray:
    """The confidence `diagnose/calibration.py` gives today (its constants, not a refit)."""
    return np.array(
        [calibrated_confidence(float(r["p1"]), float(r["p2"]), int(r["n"])) for r in rows]  # type: ignore[call-overload]
    )


def utility(q: np.ndarray, y: np.ndarray, faulty: np.ndarray) -> float:
    """What a setting is chosen by: right answers given above the abstention line plus fault-free abstentions."""
    hits = float(((q > ABSTAIN_CONFIDENCE) & (y == 1))[faulty].mean()) if faulty.any() else 0.0
    quiet = float((q[~faulty] <= ABSTAIN_CONFIDENCE).mean()) if (~faulty).any() else 0.0
    return hits + quiet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    every = [orjson.loads(line) for line in args.data.read_bytes().splitlines() if line.strip()]
    grid = sorted({float(r.get("min_rise_z", MIN_RISE_Z)) for r in every})
    shipped = MIN_RISE_Z if MIN_RISE_Z in grid else grid[0]
    at = {z: [r for r in every if float(r.get("min_rise_z", MIN_RISE_Z)) == z] for z in grid}
    rows = at[shipped]
    x, y = design(rows), np.array([1.0 if r["correct"] else 0.0 for r in rows])
    sources = np.array([r["source"] for r in rows])
    faulty = np.array([bool(r["truth"]) for r in rows])
    w = fit(x, y)
    p = predict(x, w)
    print(f"INTERCEPT = {w[0]:.3f}\nTOP_SCORE_WEIGHT = {w[1]:.3f}\nMARGIN_WEIGHT = {w[2]:.3f}")
    print(f"CANDIDATES_WEIGHT = {w[3]:.3f}")
    data = {
        z: (
            design(at[z]),
            np.array([1.0 if r["correct"] else 0.0 for r in at[z]]),
            np.array([r["source"] for r in at[z]]),
        )
        for z in grid
    }
    loso, y_loso = np.zeros_like(p), y.copy()
    picks: dict[str, float] = {}
    for source in sorted(set(sources)):
        held = sources == source

        def score(z: float, source: str = source) -> float:
            xz, yz, sz = data[z]
            rest = sz != source
            wz = fit(xz[rest], yz[rest])
            return utility(predict(xz[rest], wz), yz[rest], faulty[rest])

        best = max(grid, key=lambda z: (score(z), z == shipped))
        picks[str(source)] = best
        xb, yb, sb = data[best]
        # The held-out source is analysed at the setting the others chose (its answers may differ).
        loso[held] = predict(xb[sb == source], fit(xb[sb != source], yb[sb != source]))
        y_loso[held] = yb[sb == source]
    if len(grid) > 1:
        print(f"MIN_RISE_Z grid {grid}, shipped {shipped}; chosen per held-out source: {picks}")
        # The same choice with the shipped mapping (what users get) instead of a refit per value: a refit moves
        # every case a little, which can outweigh the one or two cases a gate changes.
        mapped = {z: shipped_confidence(at[z]) for z in grid}
        fixed: dict[str, float] = {}
        for source in sorted(set(sources)):
            rest = sources != source
            fixed[str(source)] = max(
                grid, key=lambda z: (utility(mapped[z][rest], data[z][1][rest], faulty[rest]), z == shipped)
            )
        print(f"  chosen with the shipped mapping: {fixed}")
    for name, q, yq in (("in-sample (pooled fit)", p, y), ("leave-one-source-out", loso, y_loso)):
        wrong_sure = int(((q >= 0.9) & (yq == 0)).sum())
        print(
            f"{name}: ECE {ece(q, yq):.3f} over {len(rows)} cases; wrong at >= 0.9: {wrong_sure} "
            f"({wrong_sure / len(rows):.1%}); abstained (<= {ABSTAIN_CONFIDENCE}) on fault-free "
            f"{int((q[~faulty] <= ABSTAIN_CONFIDENCE).sum())}/{int((~faulty).sum())}, on faults "
            f"{int((q[faulty] <= ABSTAIN_CONFIDENCE).sum())}/{int(faulty.sum())}; "
            f"right above the line {int(((q > ABSTAIN_CONFIDENCE) & (yq == 1)).sum())}/{int(faulty.sum())}"
        )
    for source in sorted(set(sources)):
        held = sources == source
        print(
            f"  {source:16s} n={int(held.sum()):3d} accuracy {y[held].mean():.2f}"
            f"  ECE held out {ece(loso[held], y_loso[held]):.3f}  in the pooled fit {ece(p[held], y[held]):.3f}"
            f"  max confidence held out {loso[held].max():.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
