"""The online template miner: one pass, bounded memory, each distinct message processed once.

How a message finds its template:
1. The message cache (message -> template id) answers repeats without any work; `add_many` resolves a whole
   batch with one dict lookup per line and counts with `collections.Counter` (no per-line objects);
   `add_lines` first cuts headers with `MessageExtractor` (one `split_header` per line shape).
2. A new message is masked (`masking.py`) and split on whitespace. Candidates share its token count and
   first word (a variable-looking first word is bucketed as `<*>`). The score is the share of equal
   positions; the best candidate at or above `MinerConfig.similarity` absorbs the message, each differing
   position becoming `<*>` while keeping a shared `key=`/bracket frame (`user=<*>`, `(<*>)`).
3. Differing *wording* blocks a merge: two constant-looking words (`Failed`/`Accepted`), an empty field
   against a filled one (`rhost=`/`rhost=1.2.3.4`), or a word glued to the same frame (`LOGIN(uid=0)`).
   Values of one key (`user=root`/`user=guest`) are not wording.
4. Sibling rule: when a message differs from a template only by wording at one position (not the first,
   with at least two equal words), the words seen there are recorded; at `MinerConfig.sibling_values` distinct words
   the position is a variable (`Invalid user <*> from <*>`) and the sibling templates made meanwhile are
   folded into it. Their ids stay valid: `resolve(id)` maps them to the survivor, and `add_many` returns
   resolved ids.

Bounded memory: at most `max_templates` templates (policy when full: a message that matches no template
goes to the catch-all template `<*>`, so nothing is dropped and counts stay exact); the message cache holds
at most `max_cache_entries` messages and is cleared when full (later repeats are re-mined and land on the
same templates); messages longer than `max_message_chars` are cut before mining and never cached. The cost of
a new message is bounded too: at most `SCAN_WINDOW` templates per bucket are compared with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from incidentlens.analyze.templates.headers import DEFAULT_MIN_CONFIDENCE, MessageExtractor
from incidentlens.analyze.templates.masking import DEFAULT_RULES, WILDCARD, Masker, MaskRule
from incidentlens.analyze.templates.render import canonical, extract_parameters


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """One set of defaults for every log source (nothing here is tuned per system).

    The accuracy settings (`similarity`, `sibling_values`, `header_confidence`) are the ones
    `incidentlens bench logparse --loso` searches (`bench/loso.py`); their defaults are its choice on all the
    systems, each left-out system's figure coming from a choice made without it.
    """

    similarity: float = 0.6
    sibling_values: int = 3
    header_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_templates: int = 10_000
    max_cache_entries: int = 200_000
    max_message_chars: int = 4_096
    rules: tuple[MaskRule, ...] = DEFAULT_RULES


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Where one message went: its template (id and current text), its parameters, and whether it is new."""

    template_id: int
    template: str
    parameters: tuple[str, ...]
    is_new: bool


@dataclass(frozen=True, slots=True)
class Template:
    """A template as others see it: stable id, canonical text with `<*>`, and how many messages it has."""

    id: int
    text: str
    count: int
    tokens: tuple[str, ...] = field(default=())


class _Cluster:
    """Mutable state of one template; internal so callers only ever see frozen `Template` records."""

    __slots__ = ("alternatives", "bucket", "count", "id", "plain", "text", "tokens")

    def __init__(self, template_id: int, tokens: list[str], count: int = 0) -> None:
        self.id = template_id
        self.tokens = tokens
        self.count = count
        self.text = canonical(tokens)
        self.bucket = _bucket_of(tokens)
        self.plain = [bool(_PLAIN.match(t)) for t in tokens]
        self.alternatives: dict[int, set[str]] = {}


OVERFLOW_TEXT = WILDCARD


class TemplateMiner:
    """Online log template miner; see the module docstring for the algorithm and the memory policy."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self._masker = Masker(self.config.rules)
        self._cache: dict[str, int] = {}
        self._clusters: dict[int, _Cluster] = {}
        # Candidates share the token count and the first word (a variable-looking first word uses `<*>`).
        self._buckets: dict[tuple[int, str], list[_Cluster]] = {}
        self._next_id = 1
        self._overflow_id: int | None = None
        self._alias: dict[int, int] = {}
        self._extractor = MessageExtractor(min_confidence=self.config.header_confidence)

    # -- public API ---------------------------------------------------------------------------------
    def add(self, message: str) -> MatchResult:
        """Mine one message and return its template and parameters (the slow, detailed path)."""
        template_id = self._cache.get(message)
        is_new = False
        if template_id is None:
            before = self._next_id
            template_id = self._mine(message)
            is_new = template_id >= before
        template_id = self._alias.get(template_id, template_id)
        cluster = self._clusters[template_id]
        cluster.count += 1
        return MatchResult(template_id, cluster.text, extract_parameters(cluster.text, message), is_new)

    def add_many(self, messages: Sequence[str]) -> list[int]:
        """Mine a batch and return one template id per message (the fast path: no per-line objects)."""
        get = self._cache.get
        mine = self._mine
        return self._count([get(message) or mine(message) for message in messages])

    def add_lines(self, lines: Sequence[str]) -> list[int]:
        """Mine raw plain-text lines: headers are split per line shape (`MessageExtractor`), then as `add_many`."""
        get = self._cache.get
        mine = self._mine
        return self._count([get(message) or mine(message) for message in map(self._extractor.message, lines)])

    def _count(self, ids: list[int]) -> list[int]:
        counts = Counter(ids)
        alias = self._alias
        if alias and any(i in alias for i in counts):
            resolve = alias.get
            ids = [resolve(i, i) for i in ids]
            counts = Counter(ids)
        clusters = self._clusters
        for template_id, n in counts.items():
            clusters[template_id].count += n
        return ids

    def templates(self) -> list[Template]:
        """Every template, most frequent first (ties by id, so the order is stable)."""
        ordered = sorted(self._clusters.values(), key=lambda c: (-c.count, c.id))
        return [Template(c.id, c.text, c.count, tuple(c.tokens)) for c in ordered]

    def template(self, template_id: int) -> Template:
        """One template by id (KeyError for an unknown id)."""
        c = self._clusters[template_id]
        return Template(c.id, c.text, c.count, tuple(c.tokens))

    def parameters(self, template_id: int, message: str) -> tuple[str, ...]:
        """The values under each `<*>` of the template's current text in `message`."""
        return extract_parameters(self._clusters[template_id].text, message)

    def to_json(self) -> bytes:
        """Serialise templates and settings as JSON (never pickle); see `state.py`."""
        from incidentlens.analyze.templates.state import dump_state

        return dump_state(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> TemplateMiner:
        """Rebuild a miner saved by `to_json`; raises `FormatError` on anything malformed."""
        from incidentlens.analyze.templates.state import load_state

        return load_state(data)

    # -- used by state.py ---------------------------------------------------------------------------
    def _restore(self, clusters: Iterable[tuple[int, list[str], int]], next_id: int, overflow_id: int | None) -> None:
        for template_id, tokens, count in clusters:
            cluster = _Cluster(template_id, tokens, count)
            self._clusters[template_id] = cluster
            if template_id != overflow_id:
                self._buckets.setdefault(cluster.bucket, []).append(cluster)
        self._next_id = next_id
        self._overflow_id = overflow_id

    def _snapshot(self) -> tuple[list[tuple[int, list[str], int]], int, int | None]:
        rows = [(c.id, list(c.tokens), c.count) for c in sorted(self._clusters.values(), key=lambda c: c.id)]
        return rows, self._next_id, self._overflow_id

    # -- the algorithm --------------------------------------------------------------------------------
    def _mine(self, message: str) -> int:
        key = message
        if len(message) > self.config.max_message_chars:
            message = message[: self.config.max_message_chars]
        tokens = self._masker.mask(message).split()
        bucket = _bucket_of(tokens)
        candidates = _window(self._buckets.get(bucket, []))
        if bucket[1] != WILDCARD:
            candidates = candidates + _window(self._buckets.get((bucket[0], WILDCARD), []))
        full = len(self._clusters) >= self.config.max_templates
        cluster: _Cluster | None = None
        if candidates:
            best, score, blocked = _best_match(candidates, tokens, self.config.similarity)
            if best is not None and score >= self.config.similarity:
                _generalise(best, tokens)
                cluster = best
                self._keep_in_window(best)
            elif blocked is not None:
                cluster = self._try_sibling(blocked, tokens, candidates)
        if cluster is None:
            if full:
                cluster = self._overflow()
            else:
                cluster = _Cluster(self._next_id, tokens)
                self._next_id += 1
                self._clusters[cluster.id] = cluster
                self._buckets.setdefault(cluster.bucket, []).append(cluster)
        if len(key) <= self.config.max_message_chars:  # a cut message is re-mined, never held whole
            if len(self._cache) >= self.config.max_cache_entries:
                self._cache.clear()
            self._cache[key] = cluster.id
        return cluster.id

    def _keep_in_window(self, cluster: _Cluster) -> None:
        """Move a matched template out of the older half of the window, so templates in use stay within reach.

        A template is lost from view only when `SCAN_WINDOW / 2` new templates of its bucket arrive between two
        of its messages (junk); it then starts afresh as a new template, nothing is dropped.
        """
        members = self._buckets.get(cluster.bucket)
        if members is not None and len(members) > SCAN_WINDOW // 2:
            at = members.index(cluster)
            if at < len(members) - SCAN_WINDOW // 2:
                members.append(members.pop(at))

    def _try_sibling(
        self, blocked: tuple[_Cluster, int], tokens: list[str], candidates: list[_Cluster]
    ) -> _Cluster | None:
        """Record another constant word at one position; at `sibling_values` distinct words it is a variable."""
        cluster, position = blocked
        if _KEYWORD.match(cluster.tokens[position]) and _KEYWORD.match(tokens[position]):
            return None  # upper-case words are keywords (`GET`/`POST`, `RUNNING`/`FAILED`): wording, never values
        seen = cluster.alternatives.setdefault(position, {cluster.tokens[position]})
        seen.add(tokens[position])
        if len(seen) < self.config.sibling_values:
            return None
        del cluster.alternatives[position]
        cluster.tokens[position] = _merge_token(cluster.tokens[position], tokens[position])
        cluster.plain[position] = False
        cluster.text = canonical(cluster.tokens)
        _generalise(cluster, tokens)
        for other in list(candidates):
            if other is cluster or other.id == self._overflow_id:
                continue
            best, _, _ = _best_match([cluster], other.tokens, self.config.similarity)
            if best is not None and all(a in (b, WILDCARD) for a, b in zip(cluster.tokens, other.tokens, strict=True)):
                self._absorb(cluster, other, candidates)
        return cluster

    def _absorb(self, into: _Cluster, other: _Cluster, candidates: list[_Cluster]) -> None:
        """Fold `other` into `into`; its id becomes an alias so cached messages and old ids still resolve."""
        _generalise(into, other.tokens)
        into.count += other.count
        self._buckets[other.bucket].remove(other)
        del self._clusters[other.id]
        for old, new in self._alias.items():
            if new == other.id:
                self._alias[old] = into.id
        self._alias[other.id] = into.id

    def resolve(self, template_id: int) -> int:
        """The live id for `template_id` (ids of templates merged into another resolve to the survivor)."""
        return self._alias.get(template_id, template_id)

    def _overflow(self) -> _Cluster:
        if self._overflow_id is None:
            cluster = _Cluster(self._next_id, [WILDCARD])
            self._next_id += 1
            self._clusters[cluster.id] = cluster
            self._overflow_id = cluster.id
        return self._clusters[self._overflow_id]


SIBLING_MIN_SAME = 2
# A new message is compared with at most this many templates per bucket (the newest, and those matched
# lately): on junk, where every line opens a template, the cost per line stays bounded. Real logs stay far
# below it (largest bucket on the Loghub samples and full logs: 61).
SCAN_WINDOW = 128


def _window(members: list[_Cluster]) -> list[_Cluster]:
    return members if len(members) <= SCAN_WINDOW else members[-SCAN_WINDOW:]


# A constant-looking word: no digit and no wildcard (`Failed`, `y+`, `failures;`, `ns.example.com`).
_PLAIN = re.compile(r"^[^\d<>]+$")
# An upper-case keyword, maybe quoted or bracketed (`GET`, `"POST`, `[FAILED]`, `NOT_FOUND:`).
_KEYWORD = re.compile(r"^\W*[A-Z][A-Z_]+\W*$")
_OPENERS = "=:([{\"'"
_CLOSERS = ")]},;:\"'"


def _best_match(
    candidates: list[_Cluster], tokens: list[str], threshold: float
) -> tuple[_Cluster | None, float, tuple[_Cluster, int] | None]:
    """Best candidate by share of equal positions, and the first one blocked by a single constant-word difference.

    Two differing plain words (`Failed`/`Accepted`) are not merged on the score alone: such a candidate is
    returned as `blocked` so the sibling rule can decide once the position has shown enough distinct words.
    """
    n = len(tokens) or 1
    budget = n - threshold * n  # positions that may differ before the score falls under the threshold
    best: _Cluster | None = None
    best_score = -1.0
    best_wild = -1
    blocked: tuple[_Cluster, int] | None = None
    plain = [bool(_PLAIN.match(t)) for t in tokens]
    for cluster in candidates:
        # Equal positions counted in C first: most candidates (all of them, on junk) differ in too many places,
        # and the loop below would reach the same verdict one token at a time.
        if tokens and n - sum(map(str.__eq__, cluster.tokens, tokens)) > budget:
            continue
        cplain = cluster.plain
        same = 0
        wild = 0
        word_at = -1
        words = 0
        miss = 0
        for i, (a, b) in enumerate(zip(cluster.tokens, tokens, strict=True)):
            if a == b:
                same += 1
                continue
            miss += 1
            if miss > budget:
                break
            if a == WILDCARD:
                wild += 1
            elif (
                (cplain[i] and plain[i] and not _same_key(a, b))
                or _empty_against_value(a, b)
                or _different_wording(a, b)
            ):
                words += 1
                word_at = i
        if miss > budget:
            continue
        score = same / n
        if words == 0:
            if score > best_score or (score == best_score and wild > best_wild):
                best, best_score, best_wild = cluster, score, wild
        elif (
            words == 1
            and blocked is None
            and word_at > 0
            and same >= SIBLING_MIN_SAME
            and same + wild + 1 == len(tokens)
            and (same + 1) / n >= threshold
        ):
            blocked = (cluster, word_at)
    return best, best_score, blocked


def _bucket_of(tokens: list[str]) -> tuple[int, str]:
    if not tokens:
        return (0, "")
    first = tokens[0]
    return (len(tokens), first if _PLAIN.match(first) else WILDCARD)


def _empty_against_value(a: str, b: str) -> bool:
    """`rhost=` against `rhost=<*>`: a field that is empty in one message is wording, not a value."""
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short.endswith("=") and long.startswith(short)


def _different_wording(a: str, b: str) -> bool:
    """`(uid=<*>)` against `LOGIN(uid=<*>)`: the same structure with a word glued in front is other wording."""
    if WILDCARD not in a or WILDCARD not in b or len(a) == len(b):
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short[0] in _OPENERS and long.endswith(short) and long[: len(long) - len(short)].isalpha()


def _same_key(a: str, b: str) -> bool:
    """`user=root` and `user=guest`: the values of one key are variables even when they are words."""
    cut = a.find("=")
    return 0 < cut < len(a) - 1 and b.startswith(a[: cut + 1]) and len(b) > cut + 1


def _merge_token(a: str, b: str) -> str:
    """`key=<*>` from `key=1` and `key=x`: keep a common prefix/suffix that ends/starts at a delimiter."""
    limit = min(len(a), len(b))
    p = 0
    while p < limit and a[p] == b[p]:
        p += 1
    while p > 0 and a[p - 1] not in _OPENERS:
        p -= 1
    s = 0
    while s < limit - p and a[len(a) - 1 - s] == b[len(b) - 1 - s]:
        s += 1
    while s > 0 and a[len(a) - s] not in _CLOSERS:
        s -= 1
    if p == 0 and s == 0:
        return WILDCARD
    return a[:p] + WILDCARD + (a[len(a) - s :] if s else "")


def _generalise(cluster: _Cluster, tokens: list[str]) -> None:
    changed = False
    current = cluster.tokens
    for i, (a, b) in enumerate(zip(current, tokens, strict=True)):
        if a != b and a != WILDCARD:
            current[i] = _merge_token(a, b)
            cluster.plain[i] = bool(_PLAIN.match(current[i]))
            changed = True
    if changed:
        cluster.text = canonical(current)
