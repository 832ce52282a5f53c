"""The similarity index over past incidents: TF-IDF weighted symptom terms, cosine similarity, numpy only.

A term is a service-qualified symptom (`template|payment|charge failed for card <*>`), weighted by its
family (`FAMILY_WEIGHT`) and by how rare it is among indexed incidents (smoothed IDF), so a template
every incident shows (routine noise) counts for little and a rare exception signature for much. Query
terms no past incident has keep the highest IDF: symptoms never seen before pull the similarity down,
which is what keeps a novel incident from looking "seen before".

Extension point: an embedding model (see docs/memory.md) would add a second score per candidate; the
lexical score stays the default because it is exact, explainable (which terms matched) and offline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from incidentlens.memory.fingerprint import Feature, Fingerprint, Symptoms, terms

DEFAULT_LIMIT = 5


@dataclass(frozen=True, slots=True)
class Match:
    """A past incident similar to the query, with the query's features it shares."""

    fingerprint: Fingerprint
    similarity: float
    matched: tuple[Feature, ...]


class MemoryIndex:
    """Built once from fingerprints; `search` costs one pass over the postings of the query's terms."""

    def __init__(self, fingerprints: Sequence[Fingerprint]) -> None:
        self._docs = list(fingerprints)
        n = len(self._docs)
        doc_terms = [terms(fp.symptoms.features) for fp in self._docs]
        df: dict[str, int] = {}
        for t in doc_terms:
            for key in t:
                df[key] = df.get(key, 0) + 1
        self._n = n
        self._idf = {key: self._idf_of(count) for key, count in df.items()}
        vocabulary = {key: i for i, key in enumerate(sorted(df))}
        rows: list[tuple[int, int, float]] = []
        norms = np.zeros(n, dtype=np.float64)
        for doc, t in enumerate(doc_terms):
            total = 0.0
            for key, weight in t.items():
                w = weight * self._idf[key]
                rows.append((vocabulary[key], doc, w))
                total += w * w
            norms[doc] = math.sqrt(total)
        rows.sort()
        term_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self._docs_of = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        self._weights = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
        starts = np.searchsorted(term_ids, np.arange(len(vocabulary) + 1))
        self._span = {key: (int(starts[i]), int(starts[i + 1])) for key, i in vocabulary.items()}
        self._norms = np.where(norms > 0, norms, 1.0)

    def __len__(self) -> int:
        return self._n

    def _idf_of(self, df: int) -> float:
        return math.log((self._n + 1) / (df + 1)) + 1.0

    def search(self, symptoms: Symptoms, *, limit: int = DEFAULT_LIMIT, exclude: str = "") -> list[Match]:
        """The `limit` most similar past incidents (cosine > 0), most similar first; `exclude` skips one id."""
        query = terms(symptoms.features)
        if not query or not self._n:
            return []
        scores = np.zeros(self._n, dtype=np.float64)
        qnorm = 0.0
        for key, weight in query.items():
            w = weight * self._idf.get(key, self._idf_of(0))
            qnorm += w * w
            span = self._span.get(key)
            if span is not None:
                a, b = span
                scores[self._docs_of[a:b]] += w * self._weights[a:b]
        scores /= self._norms * math.sqrt(qnorm)
        return self._top(scores, symptoms, limit=limit, exclude=exclude)

    def _top(self, scores: npt.NDArray[np.float64], symptoms: Symptoms, *, limit: int, exclude: str) -> list[Match]:
        k = min(self._n, limit + 1)
        candidates = np.argpartition(-scores, k - 1)[:k] if k < self._n else np.arange(self._n)
        order = sorted(candidates.tolist(), key=lambda d: (-scores[d], self._docs[d].incident_id))
        out: list[Match] = []
        for d in order:
            fp = self._docs[d]
            if scores[d] <= 0 or fp.incident_id == exclude:
                continue
            shared = {f.term for f in fp.symptoms.features}
            matched = tuple(f for f in symptoms.features if f.term in shared)
            out.append(Match(fp, round(min(float(scores[d]), 1.0), 4), matched))
            if len(out) == limit:
                break
        return out
