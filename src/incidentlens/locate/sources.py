"""Parsed source files at one revision, read in batches through `git` and parsed once each.

Python goes through `ast`; Java, Kotlin, Go, JavaScript/TypeScript and C# through tree-sitter when the
`code` extra is installed, else through the regex fallback in `clike.py`. Minified and generated files
(`vendored.py`) are not parsed: they hold no hand-written log calls, and parsing them is most of the cost.
"""

from __future__ import annotations

from collections.abc import Iterable

from incidentlens.locate import treesitter
from incidentlens.locate.clike import parse_clike
from incidentlens.locate.codemodel import SourceFile, SourceLanguage, language_for
from incidentlens.locate.git import Git
from incidentlens.locate.pysource import parse_python
from incidentlens.locate.vendored import generated_reason

MAX_FILE_CHARS = 2_000_000  # generated or minified files this large hold no hand-written log calls


def parse_source(path: str, text: str, *, use_tree_sitter: bool | None = None) -> SourceFile | None:
    """One file's functions and calls; None for files in no language we read.

    `use_tree_sitter=None` uses the grammars when installed; True insists (ConfigError with the install
    hint when they are missing); False always uses the regex fallback.
    """
    language = language_for(path)
    if language is None:
        return None
    if len(text) > MAX_FILE_CHARS:
        return SourceFile(path, language, problems=(f"{path}: {len(text)} characters, too large to parse",))
    reason = generated_reason(path, text)
    if reason is not None:
        return SourceFile(path, language, problems=(f"{path}: not parsed, {reason}",))
    if language is SourceLanguage.PYTHON:
        return parse_python(path, text)
    if use_tree_sitter or (use_tree_sitter is None and treesitter.available(language)):
        return treesitter.parse(path, text, language)
    return parse_clike(path, text, language)


class SourceCache:
    """Source files of one repository at one revision, parsed on first use."""

    def __init__(self, git: Git, rev: str, *, use_tree_sitter: bool | None = None) -> None:
        self.git = git
        self.rev = rev
        self.use_tree_sitter = use_tree_sitter
        self._parsed: dict[str, SourceFile | None] = {}
        self._texts: dict[str, str] = {}
        self._missing: set[str] = set()

    def load(self, paths: Iterable[str]) -> None:
        """Read every not-yet-read path in one `git cat-file --batch` call (parsing waits for `get`)."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self._texts and p not in self._missing]
        if not wanted:
            return
        texts = self.git.read_many(self.rev, wanted)
        self._texts.update(texts)
        self._missing.update(p for p in wanted if p not in texts)

    def get(self, path: str) -> SourceFile | None:
        """The parsed file; None when it does not exist at this revision or is in no language we read."""
        if path not in self._parsed:
            text = self.text(path)
            self._parsed[path] = (
                None if text is None else parse_source(path, text, use_tree_sitter=self.use_tree_sitter)
            )
        return self._parsed[path]

    def text(self, path: str) -> str | None:
        if path not in self._texts and path not in self._missing:
            self.load([path])
        return self._texts.get(path)

    def lines(self, path: str) -> list[str] | None:
        text = self.text(path)
        return None if text is None else text.splitlines()
