"""Python sources through `ast`: functions with line ranges, logging calls and raised messages.

Understands `logger.info("... %s", x)`, f-strings, `"...".format(...)`, `"..." % x`, implicit and `+`
concatenation, structlog-style `log.info("event", key=value)` and `raise X("...")`.
"""

from __future__ import annotations

import ast

from incidentlens.locate.codemodel import CallKind, FunctionSpan, LogCall, SourceFile, SourceLanguage, split_format

LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg", "trace"}
)
_F_HOLE = "\x00"  # stands for an f-string's {expr} until the literal is split


def parse_python(path: str, text: str) -> SourceFile:
    """Functions and calls of one Python file; a syntax error yields an empty file with a problem."""
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:
        where = f"{path}:{getattr(exc, 'lineno', None) or '?'}"
        return SourceFile(path, SourceLanguage.PYTHON, parser="ast", problems=(f"{where}: not parseable: {exc}",))
    visitor = _Visitor()
    visitor.visit(tree)
    functions = tuple(sorted(visitor.functions, key=lambda f: (f.start, -f.end)))
    calls = tuple(sorted(visitor.calls, key=lambda c: c.line))
    return SourceFile(path, SourceLanguage.PYTHON, functions=functions, calls=calls, parser="ast")


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.scope: list[str] = []
        self.functions: list[FunctionSpan] = []
        self.calls: list[LogCall] = []

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        if not isinstance(node, ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            self.functions.append(FunctionSpan(".".join(self.scope), start, node.end_lineno or node.lineno))
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped
    visit_ClassDef = _scoped

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc
        if isinstance(exc, ast.Call) and exc.args:
            literal = _literal(exc.args[0])
            if literal is not None:
                self._add(node, CallKind.RAISE, _callee(exc.func), literal)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in LOG_METHODS and node.args:
            # logger.log(level, "msg") carries the message second.
            arg = node.args[1] if func.attr == "log" and len(node.args) > 1 else node.args[0]
            literal = _literal(arg)
            if literal is not None:
                self._add(node, CallKind.LOG, func.attr, literal)
        elif isinstance(func, ast.Name) and func.id == "print" and node.args:
            literal = _literal(node.args[0])
            if literal is not None:
                self._add(node, CallKind.LOG, "print", literal)
        self.generic_visit(node)

    def _add(self, node: ast.stmt | ast.expr, kind: CallKind, method: str, literal: str) -> None:
        parts = tuple(p for piece in literal.split(_F_HOLE) for p in split_format(piece))
        if not any(p.strip() for p in parts):
            return
        shown = literal.replace(_F_HOLE, "{}")
        self.calls.append(LogCall(node.lineno, node.end_lineno or node.lineno, kind, method, parts, shown))


def _callee(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _literal(node: ast.expr) -> str | None:
    """The format string an argument spells, with f-string holes as `_F_HOLE`; None when it is not a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out.append(value.value)
            else:
                out.append(_F_HOLE)
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _literal(node.left)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else _F_HOLE) + (right if right is not None else _F_HOLE)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant | ast.JoinedStr)
    ):
        return _literal(node.func.value)
    return None
