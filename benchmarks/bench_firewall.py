"""Redaction measured on a planted corpus: per detector (our patterns, detect-secrets, presidio) and for the
combinations, the share of planted secrets and personal data that do not survive, by family, and the clean
telemetry lines that get changed (false positives). Run: PYTHONPATH=src:. python benchmarks/bench_firewall.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.assist.corpus import Planted, clean_lines, corpus, leaked, vendor_corpus

from incidentlens.assist.firewall import Firewall
from incidentlens.assist.settings import Detector

SETS = {
    "patterns": (Detector.PATTERNS,),
    "detect_secrets": (Detector.DETECT_SECRETS,),
    "presidio": (Detector.PRESIDIO,),
    "patterns+detect_secrets (default)": (Detector.PATTERNS, Detector.DETECT_SECRETS),
    "all three": (Detector.PATTERNS, Detector.DETECT_SECRETS, Detector.PRESIDIO),
}


def measure(
    detectors: tuple[Detector, ...], items: list[Planted]
) -> tuple[dict[str, tuple[int, int]], int, int, float]:
    clean = clean_lines()
    total: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    started = time.perf_counter()
    for item in items:
        fw = Firewall(detectors, enabled=True)
        out = fw.redact(item.text)
        for secret in item.secrets:
            total[item.family] += 1
            caught[item.family] += not leaked(secret, out)
    changed = sum(Firewall(detectors).redact(line) != line for line in clean)
    seconds = time.perf_counter() - started
    return {f: (caught[f], total[f]) for f in sorted(total)}, changed, len(clean), seconds


def main() -> None:
    vendor = "vendor tokens (our rules name only npm and SendGrid)"
    for title, items in (("planted corpus", corpus()), (vendor, vendor_corpus())):
        print(f"\n{title}\n")
        table(items)


def table(items: list[Planted]) -> None:
    families: list[str] = []
    rows = {}
    for name, detectors in SETS.items():
        try:
            rows[name] = measure(detectors, items)
        except Exception as exc:  # a detector that cannot run here is reported, not hidden
            print(f"{name}: cannot run: {exc}")
            continue
        families = sorted(set(families) | set(rows[name][0]))
    print("| detector set | " + " | ".join(families) + " | all | clean lines changed | seconds |")
    print("|---" * (len(families) + 4) + "|")
    for name, (by_family, changed, clean, seconds) in rows.items():
        cells = [f"{by_family[f][0]}/{by_family[f][1]}" for f in families]
        caught = sum(c for c, _ in by_family.values())
        total = sum(t for _, t in by_family.values())
        print(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {100 * caught / total:.1f} % | {changed}/{clean} | {seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
