"""RCA scores, pure: AC@k and Avg@5 on the service, AIS@k on the inner cause, ECE of top-1 confidence.

Inner-cause labels (Nezha's `inner_service_label`) come in three shapes, matched against a predicted
locus (the hypothesis' `component`, and its `fault` kind):
- a code region `A#s_A#e`: matches a locus in class `A` whose line range overlaps [s, e];
- two log templates, or a template and a code point (`T1_T2`, `T_A#n`): matches a locus naming either;
- a metric name (`CpuUsageRate(%)`, `NetworkP90(ms)`, `MemoryUsage(Mi)`): matches the resource kind.

A predicted locus may name several places separated by ` | `; each is `Logger#line`, `Logger#s-e`,
`Logger#s_Logger#e`, or free text (a log template, possibly with `<*>` wildcards, or an operation).
Loggers compare as logback abbreviates them: `t.s.TravelServiceImpl` is `travel.service.TravelServiceImpl`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from incidentlens.model import FaultKind

K_MAX = 5
ECE_BINS = 10

_POINT_RE = re.compile(r"^\s*([\w$.]+)#(\d+)\s*$")
_RANGE_RE = re.compile(r"^\s*([\w$.]+)#(\d+)\s*(?:-|_[\w$.]+#)\s*(\d+)\s*$")
_METRIC_KINDS: tuple[tuple[re.Pattern[str], FaultKind], ...] = (
    (re.compile(r"cpu", re.I), FaultKind.CPU),
    (re.compile(r"mem", re.I), FaultKind.MEMORY),
    (re.compile(r"network|net_|latency|rtt|packet|receive|transmit", re.I), FaultKind.NETWORK),
    (re.compile(r"disk|filesystem|iops|io_", re.I), FaultKind.DISK),
)


@dataclass(frozen=True, slots=True)
class CodeRegion:
    logger: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Prediction:
    """One ranked hypothesis as the scorer sees it."""

    service: str
    fault: str = ""
    locus: str = ""


@dataclass(frozen=True, slots=True)
class CaseScore:
    """One case's outcome: ranked services, inner-cause hits, top-1 confidence."""

    case_id: str
    system: str
    fault_type: str
    truth: str
    predicted: tuple[str, ...]
    confidence: float
    seconds: float
    inner_hits: tuple[bool, ...] = ()


def service_rank(truth: str, predicted: Sequence[str]) -> int | None:
    """1-based rank of the true service among distinct predicted services, None when absent."""
    seen: list[str] = []
    for service in predicted:
        if service not in seen:
            seen.append(service)
    return seen.index(truth) + 1 if truth in seen else None


def ac_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of cases whose truth is within the top k."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def avg_at_5(ranks: Sequence[int | None]) -> float:
    """Mean of AC@1..AC@5, as in RCAEval and the BARO paper."""
    return sum(ac_at(ranks, k) for k in range(1, K_MAX + 1)) / K_MAX


def _abbrev_match(a: str, b: str) -> bool:
    """Same class once logback's package abbreviation is allowed on either side."""
    pa, pb = a.split("."), b.split(".")
    if pa[-1] != pb[-1]:
        return False
    return all(x.startswith(y) or y.startswith(x) for x, y in zip(reversed(pa[:-1]), reversed(pb[:-1]), strict=False))


def parse_region(text: str) -> CodeRegion | None:
    """`A#s_A#e`, `A#s-e` or `A#n` as a line range in one logger/class; None for anything else."""
    m = _RANGE_RE.match(text)
    if m is not None:
        lo, hi = sorted((int(m.group(2)), int(m.group(3))))
        return CodeRegion(m.group(1), lo, hi)
    m = _POINT_RE.match(text)
    if m is not None:
        return CodeRegion(m.group(1), int(m.group(2)), int(m.group(2)))
    return None


def _split_label(label: str) -> list[str]:
    """The two bounds of a two-part label; a code point on either side decides where the split is."""
    m = re.match(r"^(.*)_([\w$.]+#\d+)$", label) or re.match(r"^([\w$.]+#\d+)_(.*)$", label)
    if m is not None:
        return [m.group(1), m.group(2)]
    return [p for p in label.split("_", 1) if p.strip()]


def label_fault(label: str) -> FaultKind | None:
    """The resource kind a metric label names (CpuUsageRate -> cpu, ...); None for code labels."""
    if "#" in label or " " in label.strip():
        return None
    for pattern, kind in _METRIC_KINDS:
        if pattern.search(label):
            return kind
    return None


def _template_matches(template: str, text: str) -> bool:
    t, x = template.strip().lower(), text.strip().lower()
    if not t or not x:
        return False
    if t in x or x in t:
        return True
    if "<*>" in x:  # a predicted template with wildcards against the label's literal text
        pattern = ".*".join(re.escape(part.strip()) for part in x.split("<*>"))
        return re.search(pattern, t) is not None
    return False


def _region_overlaps(label: CodeRegion, locus: CodeRegion) -> bool:
    return _abbrev_match(label.logger, locus.logger) and locus.start <= label.end and label.start <= locus.end


def inner_match(label: str, prediction: Prediction) -> bool:
    """Whether a predicted locus (component text and fault kind) matches an inner-cause label."""
    label = label.strip()
    if not label:
        return False
    kind = label_fault(label)
    if kind is not None:
        return prediction.fault == kind.value
    loci = [p.strip() for p in prediction.locus.split(" | ") if p.strip()]
    whole = parse_region(label)
    if whole is not None and whole.start != whole.end:
        return any((r := parse_region(p)) is not None and _region_overlaps(whole, r) for p in loci)
    for bound in _split_label(label):
        region = parse_region(bound)
        for locus in loci:
            found = parse_region(locus)
            if region is not None:
                if found is not None and _region_overlaps(region, found):
                    return True
            elif _template_matches(bound, locus):
                return True
    return False


def inner_hits(truth_service: str, label: str, ranked: Sequence[Prediction], k_max: int = 3) -> tuple[bool, ...]:
    """For k = 1..k_max: whether a top-k hypothesis names the true service and a matching inner cause."""
    hits: list[bool] = []
    found = False
    for i in range(k_max):
        if i < len(ranked) and ranked[i].service == truth_service and inner_match(label, ranked[i]):
            found = True
        hits.append(found)
    return tuple(hits)


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = ECE_BINS) -> float:
    """ECE over equal-width confidence bins: sum of |accuracy - mean confidence| weighted by bin size."""
    if not confidences:
        return 0.0
    total = len(confidences)
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(confidences):
        groups.setdefault(min(max(int(c * bins), 0), bins - 1), []).append(i)
    ece = 0.0
    for members in groups.values():
        acc = sum(1 for i in members if correct[i]) / len(members)
        conf = sum(confidences[i] for i in members) / len(members)
        ece += len(members) / total * abs(acc - conf)
    return ece


def summarise(cases: Sequence[CaseScore], *, with_inner: bool) -> dict[str, float | int]:
    """AC@1, AC@3, Avg@5 (and AIS@1, AIS@3 when the dataset has inner labels) over some cases."""
    ranks = [service_rank(c.truth, c.predicted) for c in cases]
    out: dict[str, float | int] = {
        "AC@1": round(ac_at(ranks, 1), 4),
        "AC@3": round(ac_at(ranks, 3), 4),
        "Avg@5": round(avg_at_5(ranks), 4),
    }
    if with_inner:
        labelled = [c for c in cases if c.inner_hits]
        for k in (1, 3):
            hits = sum(1 for c in labelled if len(c.inner_hits) >= k and c.inner_hits[k - 1])
            out[f"AIS@{k}"] = round(hits / len(labelled), 4) if labelled else 0.0
    out["cases"] = len(cases)
    return out
