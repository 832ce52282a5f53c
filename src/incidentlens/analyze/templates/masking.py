"""Built-in masking: an ordered list of rules that replace obvious variables with `<*>` before mining.

Masking runs once per distinct message (the miner caches by message), so rules are plain compiled
regular expressions applied with `re.sub` (C speed). A pattern opens with a character class and checks what
precedes that first character with a lookbehind placed after it, which lets the engine skip ahead quickly.
Order matters: wide shapes (URLs, paths, UUIDs, timestamps, IPs) go first so the number rule does not cut
them into pieces. One set of rules serves every log source; nothing here names a system.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WILDCARD = "<*>"

# A variable ends where a delimiter starts: whitespace and the punctuation that separates fields.
_L = r"(?<![A-Za-z0-9_.\-/\\])"  # left boundary: not inside a word, dotted name, path or Windows path
_R = r"(?![A-Za-z0-9_])"


@dataclass(frozen=True, slots=True)
class MaskRule:
    """One masking rule: `pattern` matches are replaced by `<*>`; `name` documents what it catches.

    `needs`: text every match contains (`://` for URLs); a message without it skips the rule, which is how
    a long rule list stays cheap on messages it cannot touch.
    """

    name: str
    pattern: re.Pattern[str]
    needs: str = ""


def _rule(name: str, regex: str, needs: str = "") -> MaskRule:
    return MaskRule(name, re.compile(regex), needs)


DEFAULT_RULES: tuple[MaskRule, ...] = (
    _rule("url", r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>\])},;]+", needs="://"),
    _rule("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", needs="-"),
    _rule(
        "timestamp",
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?(?!\d)"
        r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} "
        r"\d{2}:\d{2}:\d{2}(?: \d{4})?",
        needs=":",
    ),
    # Unix paths need two separators or a leading one; Windows paths a drive letter.
    _rule("path", _L + r"(?:[A-Za-z]:\\[^\s\"'<>|,;]+|~?/[^\s\"'<>|,;:()\[\]{}=]*/[^\s\"'<>|,;:()\[\]{}=]*)"),
    # A host name with a port (`msra-sa-41:9000`, `db-1.internal/10.0.0.1:5432`) is one value.
    _rule(
        "host_port",
        r"(?<![\w.\-/])[A-Za-z][\w\-]*(?:\.[\w\-]+)*(?<=\d)(?:/\d{1,3}(?:\.\d{1,3}){3})?:\d{2,5}(?!\w|\.\w)",
        needs=":",
    ),
    # A dotted host name with a port (`proxy.example.co.uk:5070`); two dots at least, so `Foo.java:42` stays.
    _rule("dotted_host_port", r"[A-Za-z](?<![\w.\-/][A-Za-z])[\w\-]*(?:\.[\w\-]+){2,}:\d{2,5}(?!\w|\.\w)", needs=":"),
    # The value of `key=` when it is a dotted or slashed name (`name=com.example.app`, `cmp=a.b/.C`).
    _rule("dotted_value", r"(?<==)[A-Za-z_][\w$\-]*(?:[./]+[\w$\-]+)+", needs="="),
    # The quoted value of `key="..."`, spaces included (`tag="View Lock"`).
    _rule("quoted_value", r'(?<==")[^"\n]{1,200}(?=")', needs='="'),
    _rule("ipv6", _L + r"(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}" + _R, needs=":"),
    # An IPv4 address keeps no leading `/` or trailing `:port` of its own (`/10.0.0.1:50010` is one value).
    _rule("ipv4", r"(?<![A-Za-z0-9_.\-\\])/?\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?" + _R, needs="."),
    # An id with letters and digits interleaved, 16 characters or more (`a1b2c3d4e5f6g7h8`, `req-7f3kq9x2mzp4tt1w`).
    _rule(
        "long_id",
        r"[\w\-](?<![\w.\-/][\w\-])(?<=(?=[\w\-]{16})(?=[\w\-]*[A-Za-z][\w\-]*\d)(?=[\w\-]*\d[\w\-]*[A-Za-z])[\w\-])"
        r"[\w\-]{15,}(?![\w.\-/])",
    ),
    _rule("hex", _L + r"(?:0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,})" + _R),
    # A size with its unit is one value (`4.5 KB`, `12 B`; a spelled-out `bytes` stays wording).
    _rule("size", r"(?<![\w.])\d+(?:\.\d+)? ?(?:[KMGTP]i?B|B)(?!\w)", needs="B"),
    # A clock time or an `h:mm:ss` duration is one value (`12:01:01`, `00:01`, `3:07.5`), not three numbers.
    _rule("clock", r"\d(?<![\w.:]\d)\d?:\d{2}(?::\d{2})?(?:[.,]\d+)?(?![\w:])", needs=":"),
    # A duration with its unit (`250ms`, `1.5s`, `3m`, `2h`, `1h30m`).
    _rule("duration", r"(?<![\w.])(?:\d+(?:\.\d+)?(?:ms|us|µs|ns|s|m|h|d))+(?!\w)"),
    # Booleans and null are values, never wording (`opt-in: False`, `is true`).
    _rule("boolean", r"(?<![\w.\-])(?:true|false|True|False|TRUE|FALSE|null|NULL)(?![\w\-])"),
    # A counter or id glued to a word (`steps1514044800223`): four digits or more after letters.
    _rule("glued_number", r"\d(?<=[A-Za-z]\d)\d{3,}(?![A-Za-z0-9])"),
    # Numbers as whole pieces of a word (`blk_123`, `node-7`, `core.42`, `12ms`) but not `jk2_init`.
    _rule(
        "number",
        r"(?<![A-Za-z0-9])[-+]?\d+(?:[.,]\d+)*(?:ms|us|ns|s|[KMGT]i?B|[kKMG]|%)?(?![A-Za-z0-9])",
    ),
)


class Masker:
    """Applies an ordered list of rules; each distinct message is masked once by the miner's cache."""

    __slots__ = ("_patterns", "rules")

    def __init__(self, rules: Sequence[MaskRule] = DEFAULT_RULES) -> None:
        self.rules = tuple(rules)
        self._patterns = tuple((rule.pattern, rule.needs) for rule in self.rules)

    def mask(self, message: str) -> str:
        """The message with every rule's matches replaced by `<*>`, in rule order."""
        for pattern, needs in self._patterns:
            if needs and needs not in message:
                continue
            message = pattern.sub(WILDCARD, message)
        return message
