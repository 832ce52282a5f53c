"""Direction words in evidence text checked against the numbers beside them.

A reader trusts "up", "rose", "slowed" or "down" only if the numbers in the same sentence move that way, and a
"normal range" only if the value called unusual lies outside it. `contradictions` returns every sentence of a
rendered brief that breaks one of these rules, with the reason.
"""

from __future__ import annotations

import re

NUM = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_METRIC = re.compile(
    rf"(?P<dir>\bup|\bdown): (?P<which>highest|lowest) (?P<x>{NUM}) against a normal range of "
    rf"(?P<lo>{NUM})\.\.(?P<hi>{NUM}); "
    rf"median (?P<a>{NUM}) -> (?P<b>{NUM})(?P<note> \(most points did not follow\))? \(robust z (?P<z>{NUM})"
)
_ROSE = re.compile(
    rf"rose from a median of (?P<a>{NUM}) \(usual range (?P<lo>{NUM})\.\.(?P<hi>{NUM})\) to (?P<b>{NUM}) or more"
    rf" on (?P<k>\d+) of (?P<n>\d+) points \(robust z (?P<z>{NUM})"
)
_FROM_TO = re.compile(
    rf"\b(?P<word>slowed|rose|grew|increased|fell|dropped|decreased)\b[^;.]*?\bfrom (?:a median of )?(?P<a>{NUM})"
    rf"\s*(?:ms|s|%)?(?: \([^)]*\))? to (?P<b>{NUM})"
)
_GAP = re.compile(rf"slowed around the calls: .*? gap p50 (?P<a>{NUM}) -> (?P<b>{NUM}) ms")
_PEAK = re.compile(rf"\bpeak (?P<x>{NUM})[^;()]*\(normal range (?P<lo>{NUM})\.\.(?P<hi>{NUM})\)")
_UP_WORDS = {"slowed", "rose", "grew", "increased"}


def contradictions(text: str) -> list[str]:
    """Sentences whose direction word disagrees with their numbers (empty when the text is consistent)."""
    problems: list[str] = []
    flat = " ".join(text.split())
    for m in _METRIC.finditer(flat):
        x, a, b, z = (float(m[k]) for k in ("x", "a", "b", "z"))
        up = m["dir"].strip() == "up"
        if (m["which"] == "highest") != up:
            problems.append(f"{m[0]!r}: '{m['dir']}' quotes the {m['which']} value")
        if up and not (x > a and z > 0 and x >= b):
            problems.append(f"{m[0]!r}: 'up' but highest {x:g}, median {a:g} -> {b:g}, z {z:+g}")
        if not up and not (x < a and z < 0 and x <= b):
            problems.append(f"{m[0]!r}: 'down' but lowest {x:g}, median {a:g} -> {b:g}, z {z:+g}")
        against = b < a if up else b > a
        if against and not m["note"]:
            problems.append(f"{m[0]!r}: the median moved against '{m['dir']}' without saying so")
    for m in _ROSE.finditer(flat):
        a, lo, hi, b, z = (float(m[k]) for k in ("a", "lo", "hi", "b", "z"))
        if not (b > hi >= a >= lo and z > 0 and int(m["k"]) <= int(m["n"])):
            problems.append(f"{m[0]!r}: 'rose' to {b:g} is not above the usual range {lo:g}..{hi:g}")
    for m in _FROM_TO.finditer(flat):
        a, b = float(m["a"]), float(m["b"])
        if (m["word"] in _UP_WORDS) != (b > a):
            problems.append(f"{m[0]!r}: '{m['word']}' from {a:g} to {b:g}")
    for m in _GAP.finditer(flat):
        if float(m["b"]) <= float(m["a"]):
            problems.append(f"{m[0]!r}: 'slowed' but the gap went {m['a']} -> {m['b']}")
    for m in _PEAK.finditer(flat):
        x, lo, hi = float(m["x"]), float(m["lo"]), float(m["hi"])
        if lo <= x <= hi:
            problems.append(f"{m[0]!r}: a peak inside its own normal range")
    return problems
