"""Rule-based code patches for recognised failure patterns, from a code location and the file's text.

Each rule reads only the texts it is given (no git, no files) and returns the patched text with why.
The patches are starting points a reviewer reads and validation tests: never applied without approval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from incidentlens.model import RiskLevel

_NONE_ERRORS = ("TypeError", "AttributeError")
_SUBSCRIPT = re.compile(r"(?<![\w.\]\)])([A-Za-z_]\w*)\s*\[")
_ATTRIBUTE = re.compile(r"(?<![\w.\]\)])([A-Za-z_]\w*)\.[A-Za-z_]\w*")
_KEY_LOOKUP = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*)\[([^\[\]]+)\]")
_DEFAULT_CONSTANT = re.compile(r"^(DEFAULT_[A-Z0-9_]+)\s*=", re.MULTILINE)
_TIMEOUT = re.compile(
    r"^(?P<lead>\s*)(?P<name>[A-Za-z_][\w.]*timeout[\w.]*)(?P<sep>\s*[=:]\s*)(?P<value>\d+(?:\.\d+)?)\b", re.I
)
_EXCEPT = re.compile(r"^(\s*)except\b[^:]*:\s*(#.*)?$")
_LOGGER = re.compile(r"^(logger|log|LOGGER|LOG)\s*=\s*logging\.getLogger", re.MULTILINE)
_KEYWORDS = {"return", "if", "not", "and", "or", "in", "is", "for", "while", "await", "yield", "lambda", "print"}


@dataclass(frozen=True, slots=True)
class CodePatch:
    path: str
    after: str
    rule: str
    rationale: str
    risk: RiskLevel


def guard_missing(*, path: str, text: str, line: int, exception_type: str, function: str = "") -> CodePatch | None:
    """An unguarded None (TypeError/AttributeError) or missing key (KeyError) at `line` gets a guard."""
    lines = text.splitlines(keepends=True)
    if not 1 <= line <= len(lines):
        return None
    source = lines[line - 1]
    indent = source[: len(source) - len(source.lstrip())]
    where = f"{path}:{line}" + (f" in {function}" if function else "")
    if exception_type == "KeyError":
        match = _KEY_LOOKUP.search(source)
        if match is None or match.group(1).split(".")[-1] in _KEYWORDS:
            return None
        defaults = _DEFAULT_CONSTANT.findall(text)
        default = defaults[0] if len(defaults) == 1 else "None"
        patched = source[: match.start()] + f"{match.group(1)}.get({match.group(2)}, {default})" + source[match.end() :]
        lines[line - 1] = patched
        return CodePatch(
            path,
            "".join(lines),
            "missing-key-guard",
            f"KeyError at {where}: look the key up with a default ({default}) instead of failing the request",
            RiskLevel.MEDIUM,
        )
    if exception_type not in _NONE_ERRORS:
        return None
    body = source.strip()
    match = _SUBSCRIPT.search(body) if exception_type == "TypeError" else _ATTRIBUTE.search(body)
    match = match or _SUBSCRIPT.search(body) or _ATTRIBUTE.search(body)
    if match is None or match.group(1) in _KEYWORDS or match.group(1) == "self":
        return None
    name = match.group(1)
    guard = f"{indent}if {name} is None:\n{indent}    return None\n"
    lines.insert(line - 1, guard)
    return CodePatch(
        path,
        "".join(lines),
        "none-guard",
        f"{exception_type} at {where}: `{name}` can be None there; return early instead of raising "
        "(check that callers accept None)",
        RiskLevel.MEDIUM,
    )


def restore_timeouts(*, path: str, text: str, previous: str) -> CodePatch | None:
    """Timeout constants whose value went down since `previous` get their previous value back."""
    before: dict[str, str] = {}
    for old in previous.splitlines():
        m = _TIMEOUT.match(old)
        if m:
            before.setdefault(m.group("name"), m.group("value"))
    lines = text.splitlines(keepends=True)
    restored: list[str] = []
    for i, current in enumerate(lines):
        m = _TIMEOUT.match(current)
        if not m or m.group("name") not in before:
            continue
        old_value, new_value = before[m.group("name")], m.group("value")
        if float(new_value) >= float(old_value):
            continue
        lines[i] = current[: m.start("value")] + old_value + current[m.end("value") :]
        restored.append(f"{m.group('name')} {new_value} -> {old_value}")
    if not restored:
        return None
    return CodePatch(
        path,
        "".join(lines),
        "restore-timeout",
        f"timeout lowered in {path} by the suspect change; restore the previous value ({', '.join(restored)})",
        RiskLevel.LOW,
    )


def reraise_swallowed(*, path: str, text: str, line: int, span: int = 15) -> CodePatch | None:
    """An `except ...: pass` near `line` swallows the failure: log it and re-raise."""
    lines = text.splitlines(keepends=True)
    start, end = max(0, line - 1 - span), min(len(lines) - 1, line - 1 + span)
    logger = _LOGGER.search(text)
    for i in range(start, end):
        m = _EXCEPT.match(lines[i])
        if m is None or lines[i + 1].strip() != "pass":
            continue
        body_indent = lines[i + 1][: len(lines[i + 1]) - len(lines[i + 1].lstrip())]
        replacement = f"{body_indent}raise\n"
        if logger is not None:
            replacement = f'{body_indent}{logger.group(1)}.exception("unexpected error")\n' + replacement
        lines[i + 1] = replacement
        return CodePatch(
            path,
            "".join(lines),
            "reraise-swallowed",
            f"the exception handler at {path}:{i + 1} swallows errors (`pass`); log and re-raise so failures surface",
            RiskLevel.MEDIUM,
        )
    return None
