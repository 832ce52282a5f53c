"""Log-parsing evaluation: GA, PA, FGA and FTA as defined by Jiang et al. (ISSTA'24), over a Loghub-style folder.

Definitions (one predicted group = one template id of our miner; one true group = one label template):
- GA  (grouping accuracy): share of lines whose predicted group has exactly the same set of lines as their
  true group.
- FGA (F1 of grouping accuracy): a predicted group is correct when its set of lines equals a true group's;
  precision = correct / predicted groups, recall = correct / true groups, FGA = their harmonic mean.
- PA  (parsing accuracy): share of lines whose predicted template text equals the label text exactly.
- FTA (F1 of template accuracy): a predicted template is correct when its group is correct (as for FGA) AND
  its text equals the label text; PTA = correct / predicted templates, RTA = correct / true templates.

Folder layout (that of Loghub-2k): one folder per system holding a raw log `NAME.log`, with labels in
`corrected_khan2022/NAME_structured_corrected.csv` (corrected), `loghub2.0_2k/NAME_structured_corrected.csv`
(loghub2) or `NAME_structured.csv` beside the raw log (original). No system is named in this module.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from incidentlens.analyze.templates import MinerConfig, TemplateMiner
from incidentlens.errors import FormatError, InputError

METRICS = ("GA", "PA", "FGA", "FTA")


class LabelSet(StrEnum):
    """Which ground truth to score against."""

    CORRECTED = "corrected"
    LOGHUB2 = "loghub2"
    ORIGINAL = "original"


_LABEL_DIRS = {LabelSet.CORRECTED: "corrected_khan2022", LabelSet.LOGHUB2: "loghub2.0_2k", LabelSet.ORIGINAL: ""}


@dataclass(frozen=True, slots=True)
class Scores:
    """The four metrics for one system (each in [0, 1])."""

    GA: float
    PA: float
    FGA: float
    FTA: float

    def as_dict(self) -> dict[str, float]:
        return {"GA": self.GA, "PA": self.PA, "FGA": self.FGA, "FTA": self.FTA}


@dataclass(frozen=True, slots=True)
class SystemResult:
    name: str
    scores: Scores
    lines: int
    predicted_templates: int
    true_templates: int


@dataclass
class BenchResult:
    """Per-system scores, systems skipped (with the reason) and the wall time of the whole run."""

    systems: list[SystemResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def average(self) -> Scores:
        if not self.systems:
            return Scores(0.0, 0.0, 0.0, 0.0)
        n = len(self.systems)
        sums = [sum(getattr(s.scores, m) for s in self.systems) / n for m in METRICS]
        return Scores(*sums)

    def as_json(self) -> dict[str, object]:
        return {
            "systems": {s.name: s.scores.as_dict() for s in self.systems},
            "average": self.average().as_dict(),
        }


def _f1(correct: int, predicted: int, true: int) -> float:
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score(predicted_ids: Sequence[int], predicted_texts: Sequence[str], truth: Sequence[str]) -> Scores:
    """GA, PA, FGA, FTA of one system: per line, our group id and template text against the label template."""
    if not (len(predicted_ids) == len(predicted_texts) == len(truth)):
        raise ValueError("predictions and labels must have one entry per line")
    n = len(truth)
    if n == 0:
        return Scores(0.0, 0.0, 0.0, 0.0)
    true_sizes = Counter(truth)
    members: dict[int, list[int]] = defaultdict(list)
    for line, group in enumerate(predicted_ids):
        members[group].append(line)
    correct_lines = correct_groups = correct_templates = 0
    for lines in members.values():
        labels = {truth[i] for i in lines}
        if len(labels) != 1:
            continue
        (label,) = labels
        if true_sizes[label] != len(lines):
            continue
        correct_groups += 1
        correct_lines += len(lines)
        if all(predicted_texts[i] == label for i in lines):
            correct_templates += 1
    pa = sum(1 for p, t in zip(predicted_texts, truth, strict=True) if p == t) / n
    return Scores(
        GA=correct_lines / n,
        PA=pa,
        FGA=_f1(correct_groups, len(members), len(true_sizes)),
        FTA=_f1(correct_templates, len(members), len(true_sizes)),
    )


@dataclass(frozen=True, slots=True)
class LabelledLog:
    """One system's raw lines and, line for line, their label templates."""

    name: str
    lines: list[str]
    templates: list[str]


def _label_file(system: Path, labels: LabelSet) -> tuple[Path | None, Path | None]:
    """(labels CSV, raw log) for one system folder; either may be None when absent."""
    raws = sorted(p for p in system.glob("*.log") if p.is_file())
    raw = raws[0] if len(raws) == 1 else None
    if raw is None:
        return None, None
    sub = system / _LABEL_DIRS[labels] if _LABEL_DIRS[labels] else system
    names = [f"{raw.name}_structured_corrected.csv", f"{raw.name}_structured.csv"]
    if labels is LabelSet.ORIGINAL:
        names.reverse()
    for name in names:
        if (sub / name).is_file():
            local_raw = sub / raw.name
            return sub / name, local_raw if local_raw.is_file() else raw
    return None, raw


def load_system(system: Path, labels: LabelSet) -> LabelledLog | None:
    """Read one system folder; None when it has no raw log or no labels of the requested set."""
    label_path, raw_path = _label_file(system, labels)
    if label_path is None or raw_path is None:
        return None
    with raw_path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        lines = [line.rstrip("\r\n") for line in fh]
    templates: list[str] = []
    with label_path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "EventTemplate" not in reader.fieldnames:
            raise FormatError(str(label_path), "no EventTemplate column in the header", line=1)
        has_id = "LineId" in reader.fieldnames
        picked: list[str] = []
        for row in reader:
            template = row.get("EventTemplate") or ""
            templates.append(template)
            if has_id:
                picked.append(row.get("LineId") or "")
    if has_id:
        try:
            indices = [int(float(value)) - 1 for value in picked]
        except ValueError as exc:
            raise FormatError(str(label_path), f"LineId is not a number ({exc})") from None
        if indices and (min(indices) < 0 or max(indices) >= len(lines)):
            raise FormatError(str(label_path), f"LineId outside the {len(lines)} lines of {raw_path.name}")
        lines = [lines[i] for i in indices]
    elif len(templates) > len(lines):
        raise FormatError(str(label_path), f"{len(templates)} labels but only {len(lines)} lines in {raw_path.name}")
    else:
        lines = lines[: len(templates)]
    return LabelledLog(system.name, lines, templates)


def evaluate_log(log: LabelledLog, config: MinerConfig | None = None) -> SystemResult:
    """Mine one system's lines (headers split automatically) with a fresh miner and score the result."""
    miner = TemplateMiner(config)
    ids = miner.add_lines(log.lines)  # headers cut by the miner itself, at its own `header_confidence`
    texts = {t.id: t.text for t in miner.templates()}
    scores = score(ids, [texts[i] for i in ids], log.templates)
    return SystemResult(log.name, scores, len(ids), len(set(ids)), len(set(log.templates)))


def run(data_dir: Path, labels: LabelSet = LabelSet.CORRECTED, config: MinerConfig | None = None) -> BenchResult:
    """Evaluate every system folder of `data_dir`; systems without labels are listed in `skipped`."""
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: not a directory")
    started = time.perf_counter()
    result = BenchResult()
    for system in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        log = load_system(system, labels)
        if log is None:
            result.skipped.append((system.name, f"no {labels.value} labels (or no single raw .log file)"))
            continue
        result.systems.append(evaluate_log(log, config))
    result.seconds = time.perf_counter() - started
    return result
