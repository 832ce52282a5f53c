"""YAML from untrusted files, bounded: nesting depth, alias expansion and odd scalars cannot crash or stall.

PyYAML composes nesting recursively (a deep file overflows the stack), scans open brackets with quadratic
bookkeeping, expands aliases exponentially once built (nine aliases of nine aliases...) and raises ValueError
for a timestamp-shaped scalar that is no date. `load_yaml` refuses the first three with a FormatError naming the
line, and keeps the last as text.
"""

from __future__ import annotations

from typing import Any

import yaml

from incidentlens.errors import FormatError

__all__ = ["MAX_YAML_DEPTH", "MAX_YAML_VALUES", "load_yaml", "load_yaml_all"]

MAX_YAML_DEPTH = 64  # a change file is three levels deep; PyYAML composes nesting recursively
MAX_YAML_VALUES = 1_000_000  # values after alias expansion: nine aliases of nine aliases... is exponential


def _expands_beyond(root: yaml.Node, limit: int) -> bool:
    """Whether the document, with every alias expanded, holds more than `limit` nodes (counted, not built)."""
    seen = 0
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return False


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting deeper than MAX_YAML_DEPTH before its recursion (and time) runs away."""

    _depth = 0

    def fetch_flow_collection_start(self, token_class: type) -> None:
        # The scanner reads ahead over open brackets with quadratic bookkeeping: stop it at the same depth.
        if self.flow_level >= MAX_YAML_DEPTH:
            raise yaml.scanner.ScannerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """An unquoted timestamp that is no date (2026-02-30) stays text: its record is then reported and skipped
        like any unreadable time, instead of failing the whole file."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return str(node.value)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", self.get_mark()
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_timestamp)


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        return f"character #x{exc.character:04x} is not allowed in YAML" if isinstance(exc.character, int) else str(exc)
    return str(getattr(exc, "problem", None) or exc)


def _yaml_line(exc: yaml.YAMLError, text: str) -> int | None:
    """The 1-based line of a YAML error: from its mark, or from the reader's character position."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
        return text.count("\n", 0, exc.position) + 1
    return None


def load_yaml(text: str, path: str) -> tuple[yaml.Node | None, Any]:
    """The single document's node tree (for line numbers) and its value; errors name the line."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = _BoundedLoader(text)  # its reader already refuses control characters
        node = loader.get_single_node()
        if node is not None and _expands_beyond(node, MAX_YAML_VALUES):
            raise FormatError(path, f"invalid YAML: its aliases expand to more than {MAX_YAML_VALUES} values")
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise FormatError(path, f"invalid YAML: {_yaml_reason(exc)}", line=_yaml_line(exc, text)) from None
    except (ValueError, OverflowError) as exc:  # a value PyYAML's constructors cannot build, e.g. an odd number
        raise FormatError(path, f"invalid YAML value: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def load_yaml_all(text: str, path: str) -> list[Any]:
    """Every document of a multi-document stream (Kubernetes manifests), with the same bounds."""
    loader: yaml.SafeLoader | None = None
    documents: list[Any] = []
    try:
        loader = _BoundedLoader(text)
        while loader.check_node():
            node = loader.get_node()
            if node is not None and _expands_beyond(node, MAX_YAML_VALUES):
                raise FormatError(path, f"invalid YAML: its aliases expand to more than {MAX_YAML_VALUES} values")
            documents.append(loader.construct_document(node))
    except yaml.YAMLError as exc:
        raise FormatError(path, f"invalid YAML: {_yaml_reason(exc)}", line=_yaml_line(exc, text)) from None
    except (ValueError, OverflowError) as exc:
        raise FormatError(path, f"invalid YAML value: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return documents
