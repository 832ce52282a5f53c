"""Template text in the canonical form log-parsing labels use, and parameter extraction against it.

The canonical form (the conventions of the corrected Loghub labels, Khan et al. 2022): tokens joined by
one space; a word that mixes `<*>` with other characters between delimiters becomes `<*>` (`blk_<*>` ->
`<*>`, but `node-<*>` and `core.<*>` keep their constant part); `<*>.<*>` and `<*><*>` collapse to one
`<*>`; separate variables (`<*> <*>`, `<*>:<*>`) stay separate.
"""

from __future__ import annotations

import re
from functools import lru_cache

from incidentlens.analyze.templates.masking import WILDCARD

# Pieces between these delimiters are the unit a variable replaces (`/` is not one: paths stay whole).
_DELIMITERS = re.compile(r"([\s,!;:=|\"'\[\](){}.\-+@#$%&])")
_MIXED = re.compile(r"^[^\s/]*<\*>[^\s/]*$")
_DOTTED = re.compile(r"<\*>(?:\.<\*>)+")
_ADJACENT = re.compile(r"(?:<\*>){2,}")


def canonical(tokens: list[str] | tuple[str, ...]) -> str:
    """The canonical text of a template given its tokens (each a constant word or containing `<*>`)."""
    out: list[str] = []
    for token in tokens:
        if WILDCARD in token and token != WILDCARD:
            token = _canonical_token(token)
        out.append(token)
    return " ".join(out)


@lru_cache(maxsize=65536)
def _canonical_token(token: str) -> str:
    pieces = _DELIMITERS.split(token)
    for i, piece in enumerate(pieces):
        if piece != WILDCARD and WILDCARD in piece and _MIXED.match(piece):
            pieces[i] = WILDCARD
    text = "".join(pieces)
    text = _DOTTED.sub(WILDCARD, text)
    return _ADJACENT.sub(WILDCARD, text)


@lru_cache(maxsize=16384)
def parameter_regex(template: str) -> re.Pattern[str]:
    """A regex whose groups capture, in order, the text under each `<*>` of `template` in a message."""
    parts = template.split(WILDCARD)
    escaped = [r"\s+".join(re.escape(word) for word in part.split(" ")) for part in parts]
    return re.compile("^" + "(.*?)".join(escaped) + "$", re.DOTALL)


def extract_parameters(template: str, message: str) -> tuple[str, ...]:
    """The parameter values of `message` under `template` (empty when the message does not fit it)."""
    if WILDCARD not in template:
        return ()
    match = parameter_regex(template).match(" ".join(message.split()))
    return match.groups() if match else ()
