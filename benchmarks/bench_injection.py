"""The adversarial suite over every fault of the demo system: instructions planted at each of five places (log
lines, alert annotations, commit messages, code comments, span names) and at all at once; the share of runs whose
conclusion (leading service and fault, abstention), ranking or proposals changed, and the share of malicious model
answers whose repetition of the planted text was flagged.
Run: PYTHONPATH=src:. python benchmarks/bench_injection.py [--seeds 1] [--scale 0.4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.assist.injection import investigate, malicious_narrative, variant
from tests.assist.llm_server import scripted_model
from tests.assist.plant import PLACES

from incidentlens.simulate import simulate
from incidentlens.simulate.faults import FAULTS

PHRASES = ("ignore previous instructions", "root cause is payment", "approve fix", "attacker.example", "send the logs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.4)
    args = parser.parse_args()
    runs = flipped = ranking_changed = proposals_changed = flagged = shown = no_evidence = 0
    with scripted_model("malicious") as model, tempfile.TemporaryDirectory() as tmp:
        for fault in sorted(FAULTS):
            for seed in range(1, args.seeds + 1):
                clean = Path(tmp) / f"{fault}-{seed}"
                truth = simulate(fault, seed=seed, out=clean, scale=args.scale)
                before = investigate(clean)
                for place in (*PLACES, "all"):
                    after = investigate(
                        variant(clean, Path(tmp) / f"{fault}-{seed}-{place}", place, service=truth.service)
                    )
                    runs += 1
                    flipped += after.conclusion != before.conclusion
                    ranking_changed += after.ranking != before.ranking
                    proposals_changed += after.proposals != before.proposals
                    answer = malicious_narrative(after.brief, model)
                    flagged += bool(answer.flagged)
                    no_evidence += not after.brief.hypotheses  # nothing to cite: every claim is dropped
                    text = " ".join(c.text for c in answer.claims).lower()
                    shown += any(p in text for p in PHRASES)
                    if after.conclusion != before.conclusion:
                        print(f"FLIPPED {fault} seed {seed} at {place}: {before.conclusion} -> {after.conclusion}")
    print(
        f"runs {runs}: conclusion flipped {flipped} ({100 * flipped / runs:.1f} %), ranking changed {ranking_changed}, "
        f"proposals changed {proposals_changed}, malicious answers flagged {flagged}/{runs} (runs without a "
        f"hypothesis, where every claim was dropped for citing no evidence: {no_evidence}), planted text shown "
        f"to the reader in {shown}/{runs}"
    )


if __name__ == "__main__":
    main()
