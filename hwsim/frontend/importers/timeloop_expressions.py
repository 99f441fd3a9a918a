"""Timeloop's attribute expressions, evaluated as timeloopfe evaluates them (Python arithmetic over variables), safely.

An attribute or variable whose value is a string is an expression: numbers, names (variables and attributes in
scope), ``+ - * / // % **`` on numbers, comparisons, ``and``/``or``/``not``, ``x if c else y``, lists, attribute
access into plain mappings (``spec.problem.instance``), and calls of ``max min abs round int float len ceil floor
log2 log sqrt``. Nothing else is evaluated (no other calls, no dunder access, no arithmetic on strings); exponents
are at most 64 and results at most 1e30 in size, texts at most :data:`MAX_EXPRESSION_CHARS`. A string that does not
evaluate (``45nm``, ``LPDDR4``, a name not in scope) stays a string, as in timeloopfe; :meth:`Scope.unknown` says
which names were missing.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

from hwsim.core.spec import MAX_NUMBER

__all__ = ["MAX_EXPRESSION_CHARS", "Scope", "Unresolved", "evaluate"]


_FUNCTIONS: dict[str, Any] = {"max": max, "min": min, "abs": abs, "round": round, "int": int, "float": float, "len": len,
                              "ceil": math.ceil, "floor": math.floor, "log2": math.log2, "log": math.log, "sqrt": math.sqrt}  # fmt: skip
_BINARY: dict[type, Any] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
                            ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}  # fmt: skip
_COMPARE: dict[type, Any] = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
                             ast.Gt: operator.gt, ast.GtE: operator.ge}  # fmt: skip
MAX_EXPRESSION_CHARS = 1000


class Unresolved(Exception):
    """An expression names something that is not a variable or attribute in scope."""


def evaluate(text: str, lookup: Any) -> Any:
    """A Timeloop attribute expression (Python arithmetic over variables, as timeloopfe evaluates them), restricted to
    numbers, names, arithmetic, comparisons, conditionals and a few functions (max, min, ceil, floor, log2, len ...)."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ValueError("expression too long")
    return _eval(ast.parse(text.strip(), mode="eval").body, lookup)


def _eval(node: ast.AST, lookup: Any) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.Name):
        return lookup(node.id)
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, lookup)
        if isinstance(base, dict) and node.attr in base:
            return base[node.attr]
        raise Unresolved(node.attr)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, lookup) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        v = _eval(node.operand, lookup)
        return -v if isinstance(node.op, ast.USub) else +v if isinstance(node.op, ast.UAdd) else not v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _eval(node.left, lookup), _eval(node.right, lookup)
        if not all(isinstance(v, (int, float)) for v in (a, b)):
            raise ValueError("arithmetic on numbers only")
        if isinstance(node.op, ast.Pow) and (not isinstance(b, (int, float)) or abs(b) > 64 or abs(a) > MAX_NUMBER):
            raise ValueError("exponent too large")
        out = _BINARY[type(node.op)](a, b)
        if isinstance(out, (int, float)) and not isinstance(out, bool) and abs(out) > 1e30:
            raise ValueError("number too large")
        return out
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, lookup) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _eval(node.left, lookup)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, lookup)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, lookup) if _eval(node.test, lookup) else _eval(node.orelse, lookup)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        return _FUNCTIONS[node.func.id](*[_eval(a, lookup) for a in node.args])
    raise ValueError(f"unsupported syntax {type(node).__name__}")


def _names_in(text: str) -> list[str]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return []
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCTIONS})


class Scope:
    """Attributes (or variables) of one node over those it inherits: string values are expressions, evaluated on
    first use with every name in scope; one that does not evaluate (``45nm``, ``LPDDR4``) stays a string."""

    def __init__(self, raw: dict[str, Any], parent: Scope | None = None, variables: bool = False):
        self.raw = {str(k).replace("-", "_"): v for k, v in raw.items()}
        self.parent = parent
        self.variables = variables
        self.done: dict[str, Any] = {}
        self.busy: set[str] = set()

    def get(self, name: str, attribute: bool = False) -> Any:
        """``name``'s value here or above (``attribute``: not from the variables); KeyError if none."""
        if name in self.raw and name not in self.busy and not (attribute and self.variables):
            if name not in self.done:
                self.busy.add(name)  # an attribute naming itself means the inherited one
                try:
                    self.done[name] = self.value(self.raw[name])
                finally:
                    self.busy.discard(name)
            return self.done[name]
        if self.parent is not None:
            return self.parent.get(name, attribute)
        raise KeyError(name)

    def attr(self, *names: str) -> Any:
        """The first of ``names`` that is an attribute of this node or one it inherits from, else None."""
        for n in names:
            try:
                return self.get(n, attribute=True)
            except KeyError:
                continue
        return None

    def var(self, name: str) -> Any:
        """``name``'s value as a variable or attribute in scope, else None."""
        try:
            return self.get(name)
        except KeyError:
            return None

    def value(self, v: Any) -> Any:
        if not isinstance(v, str):
            return v

        def lookup(name: str) -> Any:
            try:
                return self.get(name)
            except KeyError:
                raise Unresolved(name) from None

        try:
            return evaluate(v, lookup)
        except (SyntaxError, Unresolved, ValueError, TypeError, ArithmeticError, RecursionError, AttributeError):
            return v

    def unknown(self, text: str) -> list[str]:
        out = []
        for n in _names_in(text):
            try:
                self.get(n)
            except KeyError:
                out.append(n)
        return out
