"""Log template mining: masking, header separation, the online miner and its JSON state.

Public API (stable):
- `TemplateMiner(config: MinerConfig | None = None)` with `add(message) -> MatchResult`,
  `add_many(messages) -> list[int]` (fast path), `templates() -> list[Template]`, `template(id)`,
  `parameters(id, message)`, `to_json() -> bytes`, `TemplateMiner.from_json(data)`.
- `split_header(line) -> (HeaderFields, message)` for plain-text lines.
- `Masker`, `MaskRule`, `DEFAULT_RULES`, `WILDCARD` for callers that mask on their own.
"""

from __future__ import annotations

from incidentlens.analyze.templates.headers import HeaderFields, split_header
from incidentlens.analyze.templates.masking import DEFAULT_RULES, WILDCARD, Masker, MaskRule
from incidentlens.analyze.templates.miner import MatchResult, MinerConfig, Template, TemplateMiner

__all__ = [
    "DEFAULT_RULES",
    "WILDCARD",
    "HeaderFields",
    "MaskRule",
    "Masker",
    "MatchResult",
    "MinerConfig",
    "Template",
    "TemplateMiner",
    "split_header",
]
