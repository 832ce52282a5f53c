"""Optional tree-sitter backend for Java, Go, JavaScript, TypeScript and C# (`pip install 'incidentlens[code]'`).

The only module importing `tree_sitter` and the grammar wheels, lazily. The grammars give exact function
ranges and call arguments where the regex fallback (`clike.py`) guesses from braces; the calls and names
it reports follow the same rules as the fallback, so results differ only where the regexes would err.
"""

from __future__ import annotations

import importlib
from typing import Any

from incidentlens.errors import ConfigError
from incidentlens.locate.clike import EXCEPTION_NAME, FORMAT_CALLS, LOG_METHODS, RAISE_CALLS, decode_literal
from incidentlens.locate.codemodel import CallKind, FunctionSpan, LogCall, SourceFile, SourceLanguage, split_format

INSTALL_HINT = (
    "tree-sitter grammars are not installed; run `pip install 'incidentlens[code]'` (tree-sitter, "
    "tree-sitter-java, tree-sitter-go, tree-sitter-javascript) or leave them out to use the regex fallback"
)
_GRAMMARS: dict[SourceLanguage, tuple[str, str]] = {
    SourceLanguage.JAVA: ("tree_sitter_java", "language"),
    SourceLanguage.GO: ("tree_sitter_go", "language"),
    SourceLanguage.JAVASCRIPT: ("tree_sitter_javascript", "language"),
    SourceLanguage.TYPESCRIPT: ("tree_sitter_typescript", "language_typescript"),
    SourceLanguage.CSHARP: ("tree_sitter_c_sharp", "language"),
}
_FUNCTIONS = frozenset(
    {
        "method_declaration",
        "constructor_declaration",
        "function_declaration",
        "method_definition",
        "local_function_statement",
        "arrow_function",
        "function_expression",
        "function",
    }
)
_CLASSES = frozenset(
    {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration", "struct_declaration"}
)
_STRINGS = frozenset(
    {
        "string_literal",
        "text_block",
        "interpreted_string_literal",
        "raw_string_literal",
        "string",
        "template_string",
        "verbatim_string_literal",
        "interpolated_string_expression",
    }
)
_CALLS = frozenset({"method_invocation", "call_expression", "invocation_expression"})
_NEWS = frozenset({"object_creation_expression", "new_expression"})
_HOLE = "\x00"
_parsers: dict[SourceLanguage, Any] = {}
_missing: set[SourceLanguage] = set()


def available(language: SourceLanguage) -> bool:
    """True when tree-sitter and this language's grammar wheel import (checked once per process)."""
    if language in _parsers:
        return True
    if language in _missing or language not in _GRAMMARS:
        return False
    try:
        core = importlib.import_module("tree_sitter")
        module_name, attr = _GRAMMARS[language]
        grammar = getattr(importlib.import_module(module_name), attr)()
        _parsers[language] = core.Parser(core.Language(grammar))
    except (ImportError, AttributeError, TypeError, ValueError):
        _missing.add(language)
        return False
    return True


def parse(path: str, text: str, language: SourceLanguage) -> SourceFile:
    """Functions and calls of one file through its grammar; ConfigError with the install hint if missing."""
    if not available(language):
        raise ConfigError(f"{path}: {INSTALL_HINT}")
    data = text.encode("utf-8", "surrogatepass")
    tree = _parsers[language].parse(data)
    walker = _Walker(data)
    walker.walk(tree.root_node)
    functions = tuple(sorted(walker.functions, key=lambda f: (f.start, -f.end)))
    calls = tuple(sorted(walker.calls, key=lambda c: (c.line, c.kind)))
    return SourceFile(path, language, functions=functions, calls=calls, parser="tree-sitter")


class _Walker:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.functions: list[FunctionSpan] = []
        self.calls: list[LogCall] = []

    def text(self, node: Any) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def walk(self, root: Any) -> None:
        stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
        while stack:
            node, scope = stack.pop()
            kind = node.type
            if kind in _CLASSES or kind in _FUNCTIONS:
                name = self._name(node)
                if name:
                    scope = (*scope, name)
                    if kind in _FUNCTIONS:
                        start, end = node.start_point[0] + 1, node.end_point[0] + 1
                        self.functions.append(FunctionSpan(".".join(scope), start, end))
            elif kind in _CALLS or kind in _NEWS:
                self._call(node)
            stack.extend((child, scope) for child in reversed(node.children))

    def _name(self, node: Any) -> str:
        name = node.child_by_field_name("name")
        if name is not None:
            label = self.text(name)
            receiver = node.child_by_field_name("receiver")  # Go: func (s *Server) Name(...)
            if receiver is not None:
                types = [c for c in _descendants(receiver) if c.type == "type_identifier"]
                if types:
                    return f"{self.text(types[0])}.{label}"
            return label
        parent = node.parent  # const handler = (req) => {...}; {key: function () {...}}
        if parent is not None and parent.type in ("variable_declarator", "pair", "assignment_expression"):
            target = (
                parent.child_by_field_name("name")
                or parent.child_by_field_name("key")
                or parent.child_by_field_name("left")
            )
            if target is not None:
                return self.text(target).rsplit(".", 1)[-1]
        return ""

    def _call(self, node: Any) -> None:
        args = node.child_by_field_name("arguments")
        if args is None:
            return
        if node.type in _NEWS:
            ctor = node.child_by_field_name("type") or node.child_by_field_name("constructor")
            method = self.text(ctor).rsplit(".", 1)[-1] if ctor is not None else ""
            kind: CallKind | None = CallKind.RAISE if EXCEPTION_NAME.search(method) else None
        else:
            receiver, method = self._callee(node)
            kind = _classify(receiver, method)
        if kind is None:
            return
        literal = self._first_literal(args)
        if literal is None:
            return
        parts = tuple(p for piece in literal.split(_HOLE) for p in split_format(piece))
        if any(p.strip() for p in parts):
            shown = literal.replace(_HOLE, "{}")
            self.calls.append(LogCall(node.start_point[0] + 1, node.end_point[0] + 1, kind, method, parts, shown))

    def _callee(self, node: Any) -> tuple[str, str]:
        if node.type == "method_invocation":  # Java
            obj = node.child_by_field_name("object")
            name = node.child_by_field_name("name")
            return (self.text(obj).rsplit(".", 1)[-1] if obj is not None else ""), (
                self.text(name) if name is not None else ""
            )
        func = node.child_by_field_name("function")
        if func is None:
            return "", ""
        text = self.text(func)
        receiver, _, method = text.rpartition(".")
        return receiver.rsplit(".", 1)[-1].rstrip("()").strip(), method.strip()

    def _first_literal(self, args: Any) -> str | None:
        for arg in args.named_children:
            strings = [self._decode(s) for s in _strings(arg)]
            if strings:
                return _HOLE.join(strings)
        return None

    def _decode(self, node: Any) -> str:
        raw = self.text(node).lstrip("$@")
        width = 3 if raw.startswith('"""') else 1
        body = raw[width:-width] if len(raw) >= 2 * width else ""
        return decode_literal(body, raw=node.type in ("raw_string_literal", "verbatim_string_literal"))


def _classify(receiver: str, method: str) -> CallKind | None:
    if (receiver, method) in RAISE_CALLS or (not receiver and method == "panic"):
        return CallKind.RAISE
    if (receiver, method) in FORMAT_CALLS:
        return CallKind.FORMAT
    if receiver and method in LOG_METHODS:
        return CallKind.LOG
    return None


def _descendants(node: Any) -> list[Any]:
    out: list[Any] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(current.children))
    return out


def _strings(node: Any) -> list[Any]:
    """String literal nodes under `node`, in source order, not descending into strings themselves."""
    found: list[Any] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in _STRINGS:
            found.append(current)
            continue
        stack.extend(reversed(current.children))
    return found
