"""CODEOWNERS parsing and matching with GitHub's semantics; pure code over the file's text.

Patterns are gitignore-like (no character classes, no negation), the last matching rule wins, and a rule
with no owners marks its paths as explicitly unowned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# GitHub's search order; the first file that exists is the only one used.
CODEOWNERS_LOCATIONS: tuple[str, ...] = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

_OWNER_RE = re.compile(
    r"^(?:@[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:/[A-Za-z0-9_.-]+)?"  # @user or @org/team
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})$"  # e-mail address
)


@dataclass(frozen=True, slots=True)
class CodeownersRule:
    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        return self.regex.match(path.lstrip("/")) is not None


@dataclass(frozen=True, slots=True)
class Codeowners:
    """Parsed rules of one CODEOWNERS file; `problems` name the lines GitHub would reject (skipped here)."""

    source: str
    rules: tuple[CodeownersRule, ...]
    problems: tuple[str, ...] = ()

    def match(self, path: str) -> CodeownersRule | None:
        """The rule that decides `path`'s owners: the last one that matches."""
        for rule in reversed(self.rules):
            if rule.matches(path):
                return rule
        return None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Translate one CODEOWNERS pattern into an anchored regex over repository-relative paths."""
    if not pattern:
        raise ValueError("empty pattern")
    if "***" in pattern:
        raise ValueError("three consecutive asterisks are not a valid pattern")
    if pattern == "/":
        return re.compile(r"(?!)")  # GitHub: matches nothing
    segments = pattern.split("/")
    if segments[0] == "":
        segments = segments[1:]  # leading slash anchors at the root
    elif (len(segments) == 1 or (len(segments) == 2 and segments[1] == "")) and segments[0] != "**":
        # A single segment without a leading slash may appear at any depth.
        segments = ["**", *segments]
    if len(segments) > 1 and segments[-1] == "":
        segments[-1] = "**"  # "dir/" means everything below dir
    return re.compile(_segments_to_regex(segments) + r"\Z")


def _segments_to_regex(segments: list[str]) -> str:
    last = len(segments) - 1
    out = ["^"]
    need_slash = False
    for i, seg in enumerate(segments):
        if seg == "**":
            if i == 0 and i == last:
                out.append(".+")
            elif i == 0:
                out.append("(?:.+/)?")
                need_slash = False
            elif i == last:
                out.append("/.*")
            else:
                out.append("(?:/.+)?")
                need_slash = True
            continue
        if need_slash:
            out.append("/")
        if seg == "*":
            out.append("[^/]+")  # a lone '*' segment needs at least one character
        else:
            out.append(_segment_to_regex(seg))
            if i == last:
                out.append("(?:/.*)?")  # a file pattern also covers a directory's descendants
        need_slash = True
    return "".join(out)


def _segment_to_regex(seg: str) -> str:
    parts: list[str] = []
    escaped = False
    for ch in seg:
        if escaped:
            parts.append(re.escape(ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "*":
            parts.append("[^/]*")
        elif ch == "?":
            parts.append("[^/]")
        else:
            # '[' ']' '^' ':' are literal: CODEOWNERS has no character classes.
            parts.append(re.escape(ch))
    if escaped:
        parts.append(re.escape("\\"))
    return "".join(parts)


def split_rule(line: str) -> tuple[str, list[str]]:
    """Split a rule line into its pattern and owner tokens, honouring `\\ ` and `\\#` escapes and comments."""
    text = line.strip()
    pattern_chars: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            # Keep the escape: the matcher reads `\x` as a literal x (so `\#` and `\ ` are path characters).
            pattern_chars.append(text[i : i + 2])
            i += 2
            continue
        if ch in " \t" or ch == "#":
            break
        pattern_chars.append(ch)
        i += 1
    rest = text[i:]
    comment_at = rest.find("#")
    if comment_at >= 0:
        rest = rest[:comment_at]
    return "".join(pattern_chars), rest.split()


def parse_codeowners(text: str, *, source: str) -> Codeowners:
    """Parse a CODEOWNERS file; bad lines are skipped and named in `problems`, like GitHub's error view."""
    rules: list[CodeownersRule] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") or stripped.startswith("^["):
            problems.append(f"{source}:{number}: GitLab section header ignored (not GitHub syntax)")
            continue
        pattern, owners = split_rule(raw)
        if not pattern:
            problems.append(f"{source}:{number}: rule has no pattern")
            continue
        if pattern.startswith("!"):
            problems.append(f"{source}:{number}: negated pattern {pattern!r} is not supported by CODEOWNERS")
            continue
        try:
            regex = compile_pattern(pattern)
        except ValueError as exc:
            problems.append(f"{source}:{number}: invalid pattern {pattern!r}: {exc}")
            continue
        bad = [o for o in owners if not _OWNER_RE.match(o)]
        if bad:
            problems.append(f"{source}:{number}: invalid owner {bad[0]!r} (want @user, @org/team or e-mail)")
            continue
        rules.append(CodeownersRule(pattern=pattern, owners=tuple(owners), line=number, regex=regex))
    return Codeowners(source=source, rules=tuple(rules), problems=tuple(problems))
