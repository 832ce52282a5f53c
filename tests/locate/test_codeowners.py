"""CODEOWNERS matching against the hmarr corpus (checked against GitHub) and GitHub's documented example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentlens.locate.codeowners import compile_pattern, parse_codeowners, split_rule


def test_every_hmarr_pattern_case_agrees(formats_dir: Path) -> None:
    cases = json.loads((formats_dir / "codeowners-patterns.hmarr.json").read_text())
    assert len(cases) >= 30
    checked = 0
    mismatches = []
    for case in cases:
        regex = compile_pattern(case["pattern"])
        for path, expected in case["paths"].items():
            checked += 1
            if (regex.match(path) is not None) != expected:
                mismatches.append((case["name"], case["pattern"], path, expected))
    assert mismatches == []
    assert checked > 150


@pytest.fixture(scope="module")
def github_example(formats_dir: Path):  # type: ignore[no-untyped-def]
    path = formats_dir / "CODEOWNERS.github-docs-example"
    return parse_codeowners(path.read_text(), source=path.name)


@pytest.mark.parametrize(
    ("path", "owners", "pattern"),
    [
        ("README.md", ("@global-owner1", "@global-owner2"), "*"),
        ("web/app.js", ("@js-owner",), "*.js"),  # the inline comment is not an owner
        ("cmd/main.go", ("docs@example.com",), "*.go"),
        ("notes/todo.txt", ("@octo-org/octocats",), "*.txt"),
        ("build/logs/today.log", ("@octocat",), "**/logs"),  # later rule beats /build/logs/
        ("deep/nested/logs/x", ("@octocat",), "**/logs"),
        ("docs/getting-started.md", ("@doctocat",), "/docs/"),  # later than docs/*
        ("scripts/deploy.sh", ("@doctocat", "@octocat"), "/scripts/"),
        ("apps/web/index.ts", ("@octocat",), "/apps/"),
        ("apps/github/main.ts", (), "/apps/github"),  # explicitly unowned
    ],
)
def test_github_docs_example(github_example, path: str, owners: tuple[str, ...], pattern: str) -> None:  # type: ignore[no-untyped-def]
    rule = github_example.match(path)
    assert rule is not None
    assert rule.pattern == pattern
    assert rule.owners == owners


def test_github_docs_example_parses_cleanly(github_example) -> None:  # type: ignore[no-untyped-def]
    assert github_example.problems == ()
    assert len(github_example.rules) == 12
    assert github_example.rules[1].line == 3  # line numbers count the leading comment


def test_comments_escapes_and_bad_lines() -> None:
    text = "\n".join(
        [
            "# a comment",
            "   ",
            "\\#notes/ @docs-team   # trailing comment",
            "*.py @py @org/py-team",
            "bad[ @ok not-an-owner",
            "/vendor/",
            "my\\ file.txt @spaces",
            "!negated @x",
            "[Section]",
        ]
    )
    parsed = parse_codeowners(text, source="CODEOWNERS")
    assert [r.line for r in parsed.rules] == [3, 4, 6, 7]
    assert parsed.match("#notes/a.md").owners == ("@docs-team",)  # type: ignore[union-attr]
    assert parsed.match("notes/a.md") is None
    assert parsed.match("src/x.py").owners == ("@py", "@org/py-team")  # type: ignore[union-attr]
    assert parsed.match("vendor/lib.py").owners == ()  # type: ignore[union-attr]
    assert parsed.match("my file.txt").owners == ("@spaces",)  # type: ignore[union-attr]
    assert len(parsed.problems) == 3
    assert parsed.problems[0].startswith("CODEOWNERS:5: invalid owner 'not-an-owner'")
    assert parsed.problems[1].startswith("CODEOWNERS:8: negated pattern")
    assert parsed.problems[2].startswith("CODEOWNERS:9: GitLab section")


def test_last_match_wins() -> None:
    parsed = parse_codeowners("* @all\n/src/ @src\n*.md @docs\n", source="CODEOWNERS")
    assert parsed.match("src/readme.md").owners == ("@docs",)  # type: ignore[union-attr]
    assert parsed.match("src/a.py").owners == ("@src",)  # type: ignore[union-attr]
    assert parsed.match("other").owners == ("@all",)  # type: ignore[union-attr]


def test_invalid_patterns_raise_value_error() -> None:
    with pytest.raises(ValueError, match="asterisks"):
        compile_pattern("a/***/b")
    assert compile_pattern("/").match("anything") is None


_SEGMENT = st.from_regex(re.compile(r"[a-z0-9_][a-z0-9_.-]{0,7}"), fullmatch=True)
_PATH = st.lists(_SEGMENT, min_size=1, max_size=5).map("/".join)


@given(_PATH, _SEGMENT)
def test_anchored_literal_pattern_matches_itself_and_below(path: str, child: str) -> None:
    regex = compile_pattern("/" + path)
    assert regex.match(path)
    assert regex.match(f"{path}/{child}")
    assert not regex.match(f"{path}x")
    assert not regex.match(f"Z{child}/{path}")  # anchored: never below another folder


@given(_PATH, _SEGMENT)
def test_unanchored_single_segment_matches_at_any_depth(path: str, name: str) -> None:
    regex = compile_pattern(name)
    assert regex.match(f"{path}/{name}")
    assert regex.match(f"{path}/{name}/inner")


@given(st.text(max_size=200))
def test_parser_never_raises_on_arbitrary_text(text: str) -> None:
    parsed = parse_codeowners(text, source="CODEOWNERS")
    for rule in parsed.rules:
        assert rule.pattern
        rule.matches("some/path.py")
    pattern, owners = split_rule(text.splitlines()[0] if text.splitlines() else "")
    assert "#" not in "".join(owners)
    assert not re.search(r"(?<!\\)[ \t]", pattern)  # the pattern ends at the first unescaped blank
