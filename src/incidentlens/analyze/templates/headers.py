"""Automatic separation of a plain-text line's header (timestamp, level, logger, pid) from its message.

No per-format regular expressions: the line is read left to right as whitespace tokens and each token is
judged by its shape. Rules, in order (each generic, none names a system):
1. Pipe headers: `stamp|field|field|message` -- leading pipe fields without spaces are header, the last
   field is always message.
2. Stamp prefix: tokens made of digits and date/time punctuation (`2015-10-18`, `18:01:47,978`, `081109`),
   month/weekday names, `-`, and bracketed dates (`[Sun Dec 04 04:47:44 2005]`).
3. Level: a level word (`INFO`, `[error]`, `Info`, Android's one-letter `D` after numeric fields) within the
   first 12 tokens, when every token before it is header-like (stamps, ids with digits, upper-case words,
   bracketed groups). Everything up to the level is header.
4. After the level (or the stamps): `-`/`|` separators, a bracketed thread when a logger or separator follows
   it, then a logger: a name ending in `:` (`dfs.DataNode$PacketResponder:`, `sshd[42]:`; without a level,
   one host word may precede it), or a word followed by column padding (two or more spaces).
5. Without level or logger, a run of two or more numeric fields inside the first 8 tokens ends a columnar
   header (`134681 node-246 unix.hw state_change 1077804742 1 message`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEAD = 512  # the header is looked for in the first 512 characters
_TOKEN = re.compile(r"\S+")
_STAMP = re.compile(r"^(?=[^A-Za-z]*\d)[\d:.,/\-+TZ]+,?$")
_NAMES = frozenset(
    [
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    ]
)
_LEVELS = frozenset(
    [
        "trace",
        "debug",
        "info",
        "information",
        "notice",
        "warn",
        "warning",
        "error",
        "err",
        "severe",
        "critical",
        "crit",
        "fatal",
        "panic",
        "emerg",
        "alert",
        "verbose",
    ]
)
_ONE_LETTER_LEVELS = frozenset("VDIWEFA")
# A logger name has a dot, `$`, brackets or capitals (`dfs.DataNode:`, `sshd[42]:`, `WindowManager:`);
# a plain lower-case word before a colon (`error:`, `ciod:`) is the start of the message.
_LOGGER = re.compile(r"^(?=[^:]*[.$\[(A-Z])[A-Za-z_$][\w.$/()\[\]#@-]*:$")
# A syslog program after the host (`cups:`, `sshd[42]:`): any name, since no level precedes it.
_PROGRAM = re.compile(r"^[A-Za-z_$][\w.$/()\[\]#@-]*:$")
_HEADERISH = re.compile(r"^(?:[\w.:\-/@$#]*\d[\w.:\-/@$#]*|[A-Z][A-Z0-9_]{1,15}|-|\[[^\]]*\])$")
_NUMBER = re.compile(r"^-?\d+$")
_FIELD = re.compile(r"^[\w.:\-/@$#]+$")
_PIPE_FIELD = re.compile(r"^[\w.:\-/@$#]{1,64}$")


@dataclass(frozen=True, slots=True)
class HeaderFields:
    """What the header held; fields it did not have are None."""

    timestamp: str | None = None
    level: str | None = None
    logger: str | None = None
    pid: str | None = None


_EMPTY = HeaderFields()


def _level_of(token: str) -> str | None:
    word = token.strip("[]<>:,")
    if word.lower() in _LEVELS and (word.isupper() or word.istitle() or token.startswith("[")):
        return word
    return None


def _bracket_end(tokens: list[re.Match[str]], start: int) -> int:
    """Index of the token closing the bracket group opened at `start` (or `start` when not balanced)."""
    depth = 0
    for j in range(start, min(len(tokens), start + 8)):
        text = tokens[j].group()
        depth += text.count("[") - text.count("]")
        if depth <= 0:
            return j
    return start


def split_header(line: str) -> tuple[HeaderFields, str]:
    """Split one plain-text log line into its header fields and its message (see the module rules)."""
    fields, message, _ = _split(line)
    return fields, message


def _split(line: str) -> tuple[HeaderFields, str, int]:
    """`split_header` plus the cut: k >= 0 whitespace tokens of header, or -k pipe fields of header."""
    line = line.rstrip("\r\n")
    head = line[:_HEAD]
    if "|" in head:
        piped = _split_pipes(line)
        if piped is not None:
            return piped
    tokens = list(_TOKEN.finditer(head))
    if not tokens:
        return _EMPTY, line.strip(), 0
    n = len(tokens)
    i = 0
    stamp_end = -1
    while i < n:
        text = tokens[i].group()
        if _STAMP.match(text) or text.lower().strip(",") in _NAMES or text == "-":
            stamp_end = i
            i += 1
        elif text.startswith("[") and i == 0:
            j = _bracket_end(tokens, i)
            inner = head[tokens[i].start() + 1 : tokens[j].end() - 1]
            if j == i and not text.endswith("]"):
                break
            if not any(ch.isdigit() for ch in inner):
                break
            stamp_end = j
            i = j + 1
        else:
            break
    timestamp = head[tokens[0].start() : tokens[stamp_end].end()] if stamp_end >= 0 else None

    level = None
    level_at = -1
    j = stamp_end + 1
    while j < min(n, 12):
        text = tokens[j].group()
        found = _level_of(text)
        if found is None and text in _ONE_LETTER_LEVELS and j > 0 and _NUMBER.match(tokens[j - 1].group()):
            found = text
        if found is not None:
            level, level_at = found, j
            break
        if text.startswith("["):
            j = _bracket_end(tokens, j) + 1
            continue
        if not _HEADERISH.match(text):
            break
        j += 1
    end = level_at if level_at >= 0 else stamp_end
    logger, pid, end = _logger_after(tokens, end, head, has_level=level is not None)
    if level is None and logger is None:
        end = max(end, _numeric_run_end(tokens))
    if end < 0:
        return _EMPTY, line.strip(), 0
    cut = tokens[end].end()
    return HeaderFields(timestamp, level, logger, pid), line[cut:].strip(), end + 1


def _logger_after(
    tokens: list[re.Match[str]], end: int, head: str, *, has_level: bool
) -> tuple[str | None, str | None, int]:
    """Extend the header over separators, a thread and a logger; returns (logger, pid, new end)."""
    n = len(tokens)
    k = end + 1
    while k < n and tokens[k].group() in ("-", "|", "--", "---", ":"):
        end = k
        k += 1
    if k < n and tokens[k].group().startswith("["):
        close = _bracket_end(tokens, k)
        after = close + 1
        if after < n and (tokens[after].group() in ("-", "--", "|") or _LOGGER.match(tokens[after].group())):
            if tokens[after].group() in ("-", "--", "|"):
                return None, None, after  # `[thread] - message`: the separator ends the header
            end = close
            k = end + 1
    if k >= n or (end < 0 and not has_level):
        return None, None, end
    candidates = [k] if has_level or end < 0 else [k, k + 1]
    pattern = _LOGGER if has_level else _PROGRAM
    for c in candidates:
        if c < n and pattern.match(tokens[c].group()):
            name = tokens[c].group()[:-1]
            pid = None
            match = re.search(r"\[(\d+)\]$", name)
            if match:
                pid, name = match.group(1), name[: match.start()]
            return name, pid, c
    if has_level:
        text = tokens[k].group()
        gap_end = tokens[k].end()
        if gap_end + 2 <= len(head) and head[gap_end : gap_end + 2] == "  " and text.isalnum():
            return text, None, k
    return None, None, end


def _numeric_run_end(tokens: list[re.Match[str]]) -> int:
    """End of a columnar header marked by two or more numeric fields in a row within the first 8 tokens."""
    last = -1
    for k in range(1, min(len(tokens), 8)):
        if _NUMBER.match(tokens[k].group()) and _NUMBER.match(tokens[k - 1].group()):
            last = k
    if last >= 0 and all(_FIELD.match(t.group()) for t in tokens[: last + 1]):
        return last
    return -1


def _split_pipes(line: str) -> tuple[HeaderFields, str, int] | None:
    fields = line.split("|")
    if len(fields) < 3 or not _STAMP.match(fields[0].strip()):
        return None
    taken = 1
    while taken < len(fields) - 1 and _PIPE_FIELD.match(fields[taken]) and taken < 4:
        taken += 1
    logger = fields[1] if taken > 1 else None
    pid = next((f for f in fields[1:taken] if _NUMBER.match(f)), None)
    return HeaderFields(fields[0].strip(), None, logger, pid), "|".join(fields[taken:]).strip(), -taken


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


class MessageExtractor:
    """Messages of many lines, fast: the rules above run once per line *shape*, the cut is a C-level split.

    Every rule depends on where digits are, never on their values, so lines equal up to their digits have
    the same header length; the shape key is the UTF-8 bytes with digits turned to `0` (`bytes.translate`,
    several times faster than `str.translate`). Lines over 512 characters skip the cache; the cache holds
    at most `max_shapes` shapes and is cleared when full. The shape cache is bounded
    (`max_shapes`, cleared when full).
    """

    __slots__ = ("_shapes", "max_shapes")

    def __init__(self, max_shapes: int = 50_000) -> None:
        self._shapes: dict[bytes, int] = {}
        self.max_shapes = max_shapes

    def message(self, line: str) -> str:
        """The message part of one line, exactly as `split_header(line)[1]` gives it."""
        if len(line) > _HEAD:
            return _split(line)[1]  # long lines are rare: no cache entry that could hold megabytes
        shape = line.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)
        cut = self._shapes.get(shape)
        if cut is None:
            _, message, cut = _split(line)
            if len(self._shapes) >= self.max_shapes:
                self._shapes.clear()
            self._shapes[shape] = cut
            return message
        if cut > 0:
            parts = line.split(None, cut)
            return parts[cut].strip() if len(parts) > cut else ""
        if cut < 0:
            return "|".join(line.rstrip("\r\n").split("|")[-cut:]).strip()
        return line.strip()
