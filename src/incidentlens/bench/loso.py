"""Leave-one-system-out (LOSO) choice of the miner's accuracy settings over a Loghub-style folder.

Why: a setting chosen on the systems it is scored on says nothing about a system never seen. Here every
system's LOSO figure uses the settings that score best on the *other* systems, so it estimates what the
shipped defaults do on a new one.

Protocol:
- The tunable settings are `MinerSettings` (similarity, sibling_values, header_confidence); everything else in
  `MinerConfig` is a resource limit, not an accuracy knob. `GRID` is the whole search: 3 x 3 x 3 = 27 points.
- Objective on a set of systems: mean GA + mean PA over them (both end to end from raw lines). Ties go to the
  earlier grid point; the grid lists each axis with the current default first, so a tie keeps the default.
- Fold for system S: the objective on the other systems picks the settings; S is scored with them.
- Shipped defaults: the objective on all systems. `stability` is the share of folds that picked them.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from incidentlens.analyze.templates import MinerConfig, TemplateMiner
from incidentlens.analyze.templates.headers import MessageExtractor
from incidentlens.bench.logparse import LabelledLog, LabelSet, Scores, load_system, score
from incidentlens.errors import InputError


@dataclass(frozen=True, slots=True)
class MinerSettings:
    """The miner's accuracy settings, the only ones the LOSO search may change."""

    similarity: float
    sibling_values: int
    header_confidence: float

    @classmethod
    def of(cls, config: MinerConfig) -> MinerSettings:
        return cls(config.similarity, config.sibling_values, config.header_confidence)

    def config(self) -> MinerConfig:
        return MinerConfig(
            similarity=self.similarity, sibling_values=self.sibling_values, header_confidence=self.header_confidence
        )

    def label(self) -> str:
        return (
            f"similarity={self.similarity} sibling_values={self.sibling_values} "
            f"header_confidence={self.header_confidence}"
        )

    def short(self) -> str:
        return f"sim {self.similarity} sib {self.sibling_values} hdr {self.header_confidence}"

    def as_dict(self) -> dict[str, float]:
        return {
            "similarity": self.similarity,
            "sibling_values": self.sibling_values,
            "header_confidence": self.header_confidence,
        }


def _axis(default: float, values: Sequence[float]) -> tuple[float, ...]:
    return (default, *(v for v in values if v != default))


_DEFAULTS = MinerConfig()
# Each axis: the shipped default first (it wins ties), then its neighbours.
SIMILARITY = _axis(_DEFAULTS.similarity, (0.4, 0.5, 0.6))
SIBLING_VALUES = tuple(int(v) for v in _axis(_DEFAULTS.sibling_values, (2, 3, 4)))
HEADER_CONFIDENCE = _axis(_DEFAULTS.header_confidence, (0.5, 0.65, 0.8))
GRID: tuple[MinerSettings, ...] = tuple(
    MinerSettings(s, v, h) for s, v, h in itertools.product(SIMILARITY, SIBLING_VALUES, HEADER_CONFIDENCE)
)


@dataclass(frozen=True, slots=True)
class Fold:
    """One left-out system: the settings chosen without it, its score with them and with the shipped ones."""

    system: str
    chosen: MinerSettings
    in_sample: Scores
    loso: Scores


@dataclass
class LosoResult:
    shipped: MinerSettings
    folds: list[Fold] = field(default_factory=list)
    grid_size: int = 0
    seconds: float = 0.0

    @property
    def stability(self) -> float:
        """Share of folds whose choice equals the shipped settings."""
        return sum(f.chosen == self.shipped for f in self.folds) / len(self.folds) if self.folds else 0.0

    def average(self, which: str) -> Scores:
        rows = [getattr(f, which) for f in self.folds]
        n = len(rows) or 1
        return Scores(*(sum(getattr(r, m) for r in rows) / n for m in ("GA", "PA", "FGA", "FTA")))

    def as_json(self) -> dict[str, object]:
        return {
            "shipped": self.shipped.as_dict(),
            "stability": self.stability,
            "grid_size": self.grid_size,
            "systems": {
                f.system: {"in_sample": f.in_sample.as_dict(), "loso": f.loso.as_dict(), "chosen": f.chosen.as_dict()}
                for f in self.folds
            },
            "average": {"in_sample": self.average("in_sample").as_dict(), "loso": self.average("loso").as_dict()},
        }


def _objective(rows: Sequence[Scores]) -> float:
    n = len(rows) or 1
    return sum(r.GA for r in rows) / n + sum(r.PA for r in rows) / n


def _pick(matrix: dict[MinerSettings, dict[str, Scores]], systems: Sequence[str]) -> MinerSettings:
    best = GRID[0]
    best_value = -1.0
    for settings in GRID:  # strict `>`: the earlier grid point wins a tie
        value = _objective([matrix[settings][s] for s in systems])
        if value > best_value:
            best, best_value = settings, value
    return best


def _score_messages(log: LabelledLog, messages: list[str], config: MinerConfig) -> Scores:
    miner = TemplateMiner(config)
    ids = miner.add_many(messages)
    texts = {t.id: t.text for t in miner.templates()}
    return score(ids, [texts[i] for i in ids], log.templates)


# The systems and their split messages, inherited by forked workers (set only while `run_loso` runs).
_WORK: tuple[list[LabelledLog], dict[tuple[str, float], list[str]]] | None = None


def _row(settings: MinerSettings) -> dict[str, Scores]:
    """One grid point scored on every system (runs in a worker)."""
    assert _WORK is not None
    logs, messages = _WORK
    config = settings.config()
    return {log.name: _score_messages(log, messages[(log.name, settings.header_confidence)], config) for log in logs}


def load_systems(data_dir: Path, labels: LabelSet) -> list[LabelledLog]:
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: not a directory")
    logs = [load_system(p, labels) for p in sorted(p for p in data_dir.iterdir() if p.is_dir())]
    return [log for log in logs if log is not None]


def run_loso(data_dir: Path, labels: LabelSet = LabelSet.CORRECTED) -> LosoResult:
    """Score every grid point on every system once, then choose per fold and on all systems."""
    started = time.perf_counter()
    logs = load_systems(data_dir, labels)
    if len(logs) < 2:
        raise InputError(f"{data_dir}: leave-one-system-out needs at least two labelled systems, found {len(logs)}")
    # The header split depends on header_confidence only: split each system once per value.
    messages = {
        (log.name, h): [extractor.message(line) for line in log.lines]
        for h in HEADER_CONFIDENCE
        for log in logs
        for extractor in (MessageExtractor(min_confidence=h),)
    }
    global _WORK
    _WORK = (logs, messages)
    try:
        workers = max(1, min(4, os.cpu_count() or 1))
        if workers > 1:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                rows = list(pool.map(_row, GRID))
        else:
            rows = [_row(settings) for settings in GRID]
    finally:
        _WORK = None
    matrix = dict(zip(GRID, rows, strict=True))
    names = [log.name for log in logs]
    shipped = _pick(matrix, names)
    result = LosoResult(shipped, grid_size=len(GRID))
    for name in names:
        chosen = _pick(matrix, [n for n in names if n != name])
        result.folds.append(Fold(name, chosen, matrix[shipped][name], matrix[chosen][name]))
    result.seconds = time.perf_counter() - started
    return result
