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
   header (`134681 node-246 unix.hw state_change 1077804742 1 message`) when the line opens with a number.
6. Further shapes: `stamp host ... prog[pid]:` after several host/stamp tokens, `stamp name - message`,
   `LEVEL dotted.logger [context] message`, glog's `I1203 17:48:58.1 42 file.go:12] message`.
Each cut carries a confidence (the `CONF_*` constants); `split_header(line, min_confidence)` takes the
longest cut at or above `min_confidence` and leaves everything after it in the message, so a doubtful
field is kept as message text rather than guessed away.
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
    """What the header held; fields it did not have are None. `confidence` is that of the cut (0: no header)."""

    timestamp: str | None = None
    level: str | None = None
    logger: str | None = None
    pid: str | None = None
    confidence: float = 0.0


_EMPTY = HeaderFields()

# How sure each kind of evidence makes us that the header reaches that far (module rules, in order). A cut is
# taken only when its confidence reaches the caller's `min_confidence`; otherwise the next shorter cut is
# used, down to none at all, so doubtful tokens stay in the message instead of being guessed away.
CONF_STAMP = 0.9  # date/time-shaped tokens, month names, a bracketed date
CONF_BARE_NUMBERS = 0.6  # a prefix of plain numbers only (`081109 203615`): a stamp or the message's numbers
CONF_LEVEL = 0.9  # an upper-case or bracketed level word after header-like tokens
CONF_TITLE_LEVEL = 0.8  # `Info`, `Warning`
CONF_LETTER_LEVEL = 0.7  # Android's one-letter `D` after numeric fields
CONF_FIRST_LEVEL = 0.6  # a level word opening the line without a stamp (`Error: ...` may be wording)
CONF_LOGGER = 0.85  # `name:` after a level, `[thread] -`, `name[pid]:` after a stamp
CONF_PADDED = 0.75  # a word followed by column padding after a level
CONF_PROGRAM = 0.75  # `name:` after a stamp and a host
CONF_FAR_PROGRAM = 0.7  # `name[pid]:` after several host/stamp tokens (`host Nov 9 12:01:01 host/host prog[1]:`)
CONF_DOTTED = 0.6  # a dotted name without colon after a level (`nova.compute.manager [ctx] message`)
CONF_DASHED = 0.6  # `stamp name - message`: one or two fields closed by a dash separator
CONF_COLUMNS = 0.55  # two numeric fields in a row ending a columnar header
CONF_PIPES = 0.8  # `stamp|field|field|message`
DEFAULT_MIN_CONFIDENCE = 0.5

_DATEISH = re.compile(r"[:/]|\d[-.]\d")
_DOTTED_NAME = re.compile(r"^[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+$")
_SEPARATORS = ("-", "|", "--", "---", ":")
_FAR_PROGRAM = re.compile(r"^([\w./$()@\-]+)\[(\d+)\]:$")
# glog/klog: level letter glued to the date (`I1203`), then time, thread id and `file.go:123]`.
_GLOG_LEVEL = re.compile(r"^[IWEF]\d{4}$")
_GLOG_SOURCE = re.compile(r"^[\w.\-]+:\d+\]$")


def _level_of(token: str) -> tuple[str, float] | None:
    word = token.strip("[]<>:,")
    if word.lower() not in _LEVELS:
        return None
    if word.isupper() or token.startswith("["):
        return word, CONF_LEVEL
    if word.istitle():
        return word, CONF_TITLE_LEVEL
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


def split_header(line: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> tuple[HeaderFields, str]:
    """Split one plain-text log line into its header fields and its message (see the module rules).

    Only cuts whose confidence reaches `min_confidence` are made; below it the tokens stay in the message.
    """
    fields, message, _ = _split(line, min_confidence)
    return fields, message


_Fields = tuple[str | None, str | None, str | None, str | None]  # timestamp, level, logger, pid


class _Cuts:
    """Candidate cuts found left to right: (tokens of header, confidence, fields)."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[tuple[int, float, _Fields]] = []

    def add(self, end: int, confidence: float, fields: _Fields) -> None:
        if end >= 0:
            self.found.append((end, confidence, fields))

    def best(self, min_confidence: float) -> tuple[int, HeaderFields]:
        """The longest cut sure enough (ties: the later rule, which saw more of the line)."""
        best_end, best = -1, None
        for found in self.found:
            if found[1] >= min_confidence and found[0] >= best_end:
                best_end, best = found[0], found
        if best is None:
            return -1, _EMPTY
        timestamp, level, logger, pid = best[2]
        return best_end, HeaderFields(timestamp, level, logger, pid, best[1])


def _split(line: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> tuple[HeaderFields, str, int]:
    """`split_header` plus the cut: k >= 0 whitespace tokens of header, or -k pipe fields of header."""
    line = line.rstrip("\r\n")
    head = line[:_HEAD]
    if "|" in head and min_confidence <= CONF_PIPES:
        piped = _split_pipes(line)
        if piped is not None:
            return piped
    tokens = list(_TOKEN.finditer(head))
    if not tokens:
        return _EMPTY, line.strip(), 0
    cuts = _Cuts()
    n = len(tokens)
    if _GLOG_LEVEL.match(tokens[0].group()):
        for c in range(1, min(n, 4)):
            if _GLOG_SOURCE.match(tokens[c].group()):
                source = tokens[c].group()[:-1]
                stamp = head[tokens[0].start() : tokens[1].end()]
                cuts.add(c, CONF_LOGGER, (stamp, tokens[0].group()[0], source, None))
                break
    i = 0
    stamp_end = -1
    dated = False
    while i < n:
        text = tokens[i].group()
        if _STAMP.match(text) or text.lower().strip(",") in _NAMES or text == "-":
            dated = dated or text.lower().strip(",") in _NAMES or bool(_DATEISH.search(text))
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
            dated = True
            i = j + 1
        else:
            break
    timestamp = head[tokens[0].start() : tokens[stamp_end].end()] if stamp_end >= 0 else None
    cuts.add(stamp_end, CONF_STAMP if dated else CONF_BARE_NUMBERS, (timestamp, None, None, None))

    level_at, level, level_conf = _find_level(tokens, stamp_end)
    if level is not None:
        if stamp_end < 0 and level_at == 0 and not tokens[0].group().startswith("["):
            level_conf = min(level_conf, CONF_FIRST_LEVEL)
        cuts.add(level_at, level_conf, (timestamp, level, None, None))
    end = level_at if level is not None else stamp_end
    prev_conf = level_conf if level is not None else (CONF_STAMP if dated else CONF_BARE_NUMBERS)
    _logger_after(tokens, end, head, cuts, (timestamp, level, prev_conf))
    if level is None:
        _program_far(tokens, stamp_end, cuts, timestamp)
        columns = _numeric_run_end(tokens)
        if columns > end:
            cuts.add(columns, CONF_COLUMNS, (timestamp, None, None, None))
    cut_end, fields = cuts.best(min_confidence)
    if cut_end < 0:
        return _EMPTY, line.strip(), 0
    cut = tokens[cut_end].end()
    return fields, line[cut:].strip(), cut_end + 1


def _find_level(tokens: list[re.Match[str]], stamp_end: int) -> tuple[int, str | None, float]:
    """A level word within the first 12 tokens, every token before it header-like; (index, level, confidence)."""
    n = len(tokens)
    j = stamp_end + 1
    while j < min(n, 12):
        text = tokens[j].group()
        found = _level_of(text)
        if found is None and text in _ONE_LETTER_LEVELS and j > 0 and _NUMBER.match(tokens[j - 1].group()):
            found = (text, CONF_LETTER_LEVEL)
        if found is not None:
            return j, found[0], found[1]
        if text.startswith("["):
            j = _bracket_end(tokens, j) + 1
            continue
        if not (_HEADERISH.match(text) or _DOTTED_NAME.match(text)):
            break
        j += 1
    return -1, None, 0.0


def _logger_after(
    tokens: list[re.Match[str]],
    end: int,
    head: str,
    cuts: _Cuts,
    fields: tuple[str | None, str | None, float],
) -> None:
    """Candidate cuts over separators, a thread and a logger after the level (or the stamps)."""
    timestamp, level, prev_conf = fields
    start = end
    n = len(tokens)
    has_level = level is not None
    k = end + 1
    while k < n and tokens[k].group() in _SEPARATORS:
        end = k
        k += 1
    base: _Fields = (timestamp, level, None, None)
    if end > start >= 0:
        cuts.add(end, prev_conf, base)  # separators after a cut belong to the header
    if k < n and tokens[k].group().startswith("["):
        close = _bracket_end(tokens, k)
        after = close + 1
        if after < n and (tokens[after].group() in ("-", "--", "|") or _LOGGER.match(tokens[after].group())):
            if tokens[after].group() in ("-", "--", "|"):
                cuts.add(after, CONF_LOGGER, base)  # `[thread] - message`: the separator ends the header
                return
            end = close
            k = end + 1
    if k >= n or (end < 0 and not has_level):
        return
    candidates = [k] if has_level or end < 0 else [k, k + 1]
    pattern = _LOGGER if has_level else _PROGRAM
    for c in candidates:
        if c < n and pattern.match(tokens[c].group()):
            name = tokens[c].group()[:-1]
            pid = None
            match = re.search(r"\[(\d+)\]$", name)
            if match:
                pid, name = match.group(1), name[: match.start()]
            sure = CONF_LOGGER if has_level or (pid is not None and c == k) else CONF_PROGRAM
            cuts.add(c, sure, (timestamp, level, name, pid))
            return
    text = tokens[k].group()
    if has_level:
        gap_end = tokens[k].end()
        if gap_end + 2 <= len(head) and head[gap_end : gap_end + 2] == "  " and text.isalnum():
            cuts.add(k, CONF_PADDED, (timestamp, level, text, None))
        elif _DOTTED_NAME.match(text) and k + 1 < n:  # a lone dotted name is the message (`ERROR a.b.Error`)
            # `LEVEL dotted.logger [context] message` (oslo/log4j without a colon): the name, then one context
            stop = k
            if k + 1 < n and tokens[k + 1].group().startswith("["):
                close = _bracket_end(tokens, k + 1)
                if close > k or tokens[k + 1].group().endswith("]"):
                    stop = close
            while stop + 1 < n and tokens[stop + 1].group() in _SEPARATORS:
                stop += 1
            cuts.add(stop, CONF_DOTTED, (timestamp, level, text, None))
        return
    # `stamp name - message` or `stamp name *64 - message`: fields closed by a dash separator
    for sep in (k + 1, k + 2):
        if sep + 1 < n and tokens[sep].group() in ("-", "--"):
            cuts.add(sep, CONF_DASHED, (timestamp, None, text, None))
            return


def _program_far(tokens: list[re.Match[str]], stamp_end: int, cuts: _Cuts, timestamp: str | None) -> None:
    """`name[pid]:` after a run of host and stamp tokens (`dn228 Nov 9 12:01:01 dn228/dn228 crond[2915]:`)."""
    if stamp_end < 0:
        return
    hosts = 0
    for c in range(stamp_end + 1, min(len(tokens), stamp_end + 10)):
        text = tokens[c].group()
        match = _FAR_PROGRAM.match(text)
        if match or _PROGRAM.match(text):
            if match and hosts >= 2:
                cuts.add(c, CONF_FAR_PROGRAM, (timestamp, None, match.group(1), match.group(2)))
            return
        if _STAMP.match(text) or text.lower() in _NAMES or _HEADERISH.match(text):
            hosts += 1
            continue
        return


def _numeric_run_end(tokens: list[re.Match[str]]) -> int:
    """End of a columnar header marked by two or more numeric fields in a row within the first 8 tokens."""
    first = tokens[0].group()
    if not (_NUMBER.match(first) or first == "-"):
        return -1  # a columnar header opens with a number (`134681 node-246 ...`); wording does not
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
    header = HeaderFields(fields[0].strip(), None, logger, pid, CONF_PIPES)
    return header, "|".join(fields[taken:]).strip(), -taken


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


class MessageExtractor:
    """Messages of many lines, fast: the rules above run once per line *shape*, the cut is a C-level split.

    Every rule depends on where digits are, never on their values, so lines equal up to their digits have
    the same header length; the shape key is the UTF-8 bytes with digits turned to `0` (`bytes.translate`,
    several times faster than `str.translate`). Lines over 512 characters skip the cache; the cache holds
    at most `max_shapes` shapes and is cleared when full. The shape cache is bounded
    (`max_shapes`, cleared when full).
    """

    __slots__ = ("_shapes", "max_shapes", "min_confidence")

    def __init__(self, max_shapes: int = 50_000, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> None:
        self._shapes: dict[bytes, int] = {}
        self.max_shapes = max_shapes
        self.min_confidence = min_confidence

    def message(self, line: str) -> str:
        """The message part of one line, exactly as `split_header(line, min_confidence)[1]` gives it."""
        if len(line) > _HEAD:
            return _split(line, self.min_confidence)[1]  # long lines are rare: never cached
        shape = line.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)
        cut = self._shapes.get(shape)
        if cut is None:
            _, message, cut = _split(line, self.min_confidence)
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
