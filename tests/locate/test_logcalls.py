"""Log templates and log lines -> the logging call that prints them (Python via ast, Java via regex or tree-sitter)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentlens.errors import ConfigError
from incidentlens.locate import treesitter
from incidentlens.locate.clike import parse_clike
from incidentlens.locate.codemodel import CallKind, LogCall, SourceLanguage, split_format
from incidentlens.locate.locatecode import QueryKind, locate_code
from incidentlens.locate.logcalls import needles_for, query_pieces, score_call
from incidentlens.locate.pysource import parse_python

from .conftest import MakeRepo

PAYMENT_PY = """\
import logging

logger = logging.getLogger(__name__)


class Charger:
    def charge(self, card, amount):
        logger.info("Charging card: amount=%s currency=%s", amount.units, amount.currency)
        if card.expired:
            raise InvalidCard(f"The credit card (ending {card.last4}) expired.")
        logger.warning(
            "retrying charge for order {} after {} ms".format(card.order, 30)
        )
        return True


def refund(order_id):
    logger.error("refund failed for order " + order_id + " with status 500")
"""

CART_PY = """\
import logging

log = logging.getLogger("cart")


def add(item):
    log.info("Charging card: amount=%s", item)
"""

AD_JAVA = """\
package oteldemo;

import org.slf4j.Logger;

/** Serves ads. */
public final class AdService {
  private static final Logger logger = LoggerFactory.getLogger(AdService.class);

  @Override
  public void getAds(AdRequest req, StreamObserver<AdResponse> obs) {
    try {
      logger.info("received ad request (context_words={})", req.getContextKeysList());
      String s = "}{ not code // not a comment";
    } catch (RuntimeException e) {
      logger.error(
          "GetAds failed for " + req.getId() + " after {} retries", 3, e);
      throw new IllegalStateException(String.format("ad store %s unavailable", "redis"));
    }
  }

  private static int score(String word) {
    return word.length();
  }
}
"""

FILES = {
    "services/payment/payment/charge.py": PAYMENT_PY,
    "services/cart/cart/add.py": CART_PY,
    "services/ad/src/main/java/oteldemo/AdService.java": AD_JAVA,
}
TREE_SITTER = pytest.param(
    True,
    marks=pytest.mark.skipif(not treesitter.available(SourceLanguage.JAVA), reason="tree-sitter extra not installed"),
    id="tree-sitter",
)


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    return make_repo(FILES)


def _best(repo: Path, kind: QueryKind, text: str, **kwargs: object) -> tuple[str, int, str, float]:
    args: dict[str, object] = {"templates": [text]} if kind is QueryKind.TEMPLATE else {"log_lines": [text]}
    result = locate_code(repo, **args, **kwargs)  # type: ignore[arg-type]
    (query,) = result.of_kind(kind)
    assert query.locations, result.notes
    loc = query.locations[0]
    return loc.path, loc.line, loc.function, loc.confidence


def test_python_templates_reach_their_calls(repo: Path) -> None:
    path = "services/payment/payment/charge.py"
    assert _best(repo, QueryKind.TEMPLATE, "Charging card: amount=<*> currency=<*>")[:3] == (path, 8, "Charger.charge")
    assert _best(repo, QueryKind.TEMPLATE, "The credit card (ending <*>) expired.")[:2] == (path, 10)
    assert _best(repo, QueryKind.TEMPLATE, "retrying charge for order <*> after <*> ms")[:2] == (path, 11)
    assert _best(repo, QueryKind.TEMPLATE, "refund failed for order <*> with status <*>")[:3] == (path, 18, "refund")


def test_service_folder_ranks_ambiguous_matches(repo: Path) -> None:
    # "Charging card: amount=<*>" is printed by both services; the full template fits payment better ...
    assert _best(repo, QueryKind.TEMPLATE, "Charging card: amount=<*>")[0].startswith("services/cart/")
    # ... and the service's own folder wins a tie-break it would otherwise lose.
    assert _best(repo, QueryKind.TEMPLATE, "Charging card: amount=<*>", service="payment")[0].startswith(
        "services/payment/"
    )


@pytest.mark.parametrize("use_tree_sitter", [False, TREE_SITTER])
def test_java_templates_and_lines(repo: Path, use_tree_sitter: bool) -> None:
    path = "services/ad/src/main/java/oteldemo/AdService.java"
    kw = {"use_tree_sitter": use_tree_sitter}
    assert _best(repo, QueryKind.TEMPLATE, "received ad request (context_words=<*>)", **kw)[:3] == (
        path,
        12,
        "AdService.getAds",
    )
    assert _best(repo, QueryKind.TEMPLATE, "GetAds failed for <*> after <*> retries", **kw)[:2] == (path, 15)
    line = "2026-11-08 09:31:02.114 ERROR 1 --- [grpc-3] AdService : GetAds failed for 42 after 3 retries"
    assert _best(repo, QueryKind.LOG_LINE, line, **kw)[:2] == (path, 15)
    raised = _best(repo, QueryKind.LOG_LINE, "java.lang.IllegalStateException: ad store redis unavailable", **kw)
    assert raised[:2] == (path, 17)


def test_regex_fallback_reads_java_structure() -> None:
    source = parse_clike("AdService.java", AD_JAVA, SourceLanguage.JAVA)
    assert [(f.name, f.start, f.end) for f in source.functions] == [
        ("AdService.getAds", 9, 19),
        ("AdService.score", 21, 23),
    ]
    kinds = [(c.line, c.kind, c.method) for c in source.calls]
    assert kinds == [
        (12, CallKind.LOG, "info"),
        (15, CallKind.LOG, "error"),
        (17, CallKind.FORMAT, "format"),
        (17, CallKind.RAISE, "IllegalStateException"),
    ]
    assert source.calls[1].parts == ("GetAds failed for ", " after ", " retries")


@pytest.mark.skipif(not treesitter.available(SourceLanguage.JAVA), reason="tree-sitter extra not installed")
def test_tree_sitter_agrees_with_the_fallback_on_java() -> None:
    regex = parse_clike("AdService.java", AD_JAVA, SourceLanguage.JAVA)
    grammar = treesitter.parse("AdService.java", AD_JAVA, SourceLanguage.JAVA)
    assert grammar.parser == "tree-sitter" and regex.parser == "regex"
    assert grammar.functions == regex.functions
    assert {c.line for c in grammar.calls} == {c.line for c in regex.calls}


def test_missing_grammar_fails_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(treesitter, "_parsers", {})
    monkeypatch.setattr(treesitter, "_missing", set(SourceLanguage))
    assert treesitter.available(SourceLanguage.JAVA) is False
    with pytest.raises(ConfigError, match=r"pip install 'incidentlens\[code\]'"):
        treesitter.parse("A.java", "class A {}", SourceLanguage.JAVA)


def test_python_extraction_details() -> None:
    source = parse_python("charge.py", PAYMENT_PY)
    assert [(f.name, f.start, f.end) for f in source.functions] == [("Charger.charge", 7, 14), ("refund", 17, 18)]
    texts = [c.text for c in source.calls]
    assert texts == [
        "Charging card: amount=%s currency=%s",
        "The credit card (ending {}) expired.",
        "retrying charge for order {} after {} ms",
        "refund failed for order {} with status 500",
    ]
    assert source.calls[2].line == 11 and source.calls[2].end_line == 13
    broken = parse_python("bad.py", "def f(:\n")
    assert broken.calls == () and "bad.py:1" in broken.problems[0]


def test_unmatched_template_is_reported_not_invented(repo: Path) -> None:
    result = locate_code(repo, templates=["completely unrelated words <*> here"])
    assert result.of_kind(QueryKind.TEMPLATE)[0].locations == ()
    assert any("no code found for template" in n for n in result.notes)


_LITERAL = st.text(alphabet=st.characters(codec="ascii", exclude_characters="%{}$<>\\\"'`\n\r"), min_size=4)


@given(st.lists(_LITERAL, min_size=1, max_size=4), st.lists(st.sampled_from(["%s", "{}", "%d", "{name}"]), max_size=4))
def test_a_call_matches_the_template_of_its_own_output(parts: list[str], holes: list[str]) -> None:
    fmt = "".join(p + (holes[i] if i < len(holes) else " ") for i, p in enumerate(parts))
    call = LogCall(1, 1, CallKind.LOG, "info", split_format(fmt), fmt)
    template = "".join(p + ("<*>" if i < len(holes) else " ") for i, p in enumerate(parts))
    if call.literal_chars < 4 or not query_pieces(template):
        return  # too little literal text to be evidence of anything
    scored = score_call(call, query_pieces(template))
    assert scored is not None and scored[0] > 0.8


@settings(max_examples=60)
@given(st.text(max_size=400))
def test_parsers_never_raise_on_any_text(text: str) -> None:
    for language in (SourceLanguage.JAVA, SourceLanguage.GO, SourceLanguage.JAVASCRIPT, SourceLanguage.CSHARP):
        source = parse_clike("x", text, language)
        assert all(f.start <= f.end for f in source.functions)
    parse_python("x.py", text)
    needles_for(text)
