"""A small evaluator of GitHub Actions expressions, enough for this project's workflows.

Supported: literals ('text', numbers, true, false, null), context paths (`vars.NAME`,
`github.event.workflow_run.head_repository.full_name`), `==`, `!=`, `!`, `&&`, `||`,
parentheses and the status functions success(), always(), failure(), cancelled(). The
operators follow GitHub's rules (docs.github.com, "Evaluate expressions in workflows and
actions"): `&&` and `||` return an operand, not a boolean (so `a || 'default'` and
`cond && '1' || ''` work), string equality ignores case, mixed types compare as numbers.
Anything else (other functions, `<`, indexing, unknown contexts) raises UnsupportedExpression,
so a workflow that starts using it makes the tests fail loudly instead of passing by accident.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

STATUS_FUNCTIONS = frozenset({"success", "always", "failure", "cancelled"})

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|&&|\|\||!|\(|\))
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)
    )""",
    re.VERBOSE,
)
_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


class UnsupportedExpression(ValueError):
    """The expression uses syntax, a function or a context this evaluator does not model."""


def tokenize(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = expression.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise UnsupportedExpression(f"cannot read {text[pos:]!r} in {expression!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match[kind]))
        pos = match.end()
    return tokens


def truthy(value: Any) -> bool:
    """GitHub's truthiness: false, 0, -0, '', null and NaN are falsy; objects and arrays are truthy."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _number(value: Any) -> float:
    # GitHub's coercion for comparing values of different types.
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            return math.nan
    return math.nan


def equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if isinstance(left, Mapping | list) or isinstance(right, Mapping | list):
        return left is right
    if type(left) is type(right):
        return bool(left == right)
    return _number(left) == _number(right)


class _Parser:
    """Recursive descent: or := and ('||' and)*; and := cmp ('&&' cmp)*; cmp := unary (('=='|'!=') unary)?"""

    def __init__(self, expression: str, contexts: Mapping[str, Any], status: Mapping[str, bool] | None) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.pos = 0
        self.contexts = contexts
        self.status = status

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise UnsupportedExpression(f"unexpected end of {self.expression!r}")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise UnsupportedExpression(f"expected {expected!r}, found {token[1]!r} in {self.expression!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise UnsupportedExpression(f"unexpected {self.peek()!r} in {self.expression!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()  # evaluated eagerly: no side effects here
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self) -> Any:
        left = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            return equal(left, right) == (op == "==")
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(" and kind == "op":
            value = self.or_()
            self.take(")")
            return value
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind != "name":
            raise UnsupportedExpression(f"unexpected {text!r} in {self.expression!r}")
        if self.peek() == "(":
            return self.call(text)
        literals: dict[str, Any] = {"true": True, "false": False, "null": None}
        if text in literals:
            return literals[text]
        return self.lookup(text)

    def call(self, name: str) -> bool:
        self.take("(")
        self.take(")")
        if name not in STATUS_FUNCTIONS or self.status is None:
            raise UnsupportedExpression(f"function {name}() is not supported here ({self.expression!r})")
        return self.status[name]

    def lookup(self, path: str) -> Any:
        head, *rest = path.split(".")
        if head not in self.contexts:
            raise UnsupportedExpression(f"context {head!r} is not available ({self.expression!r})")
        value: Any = self.contexts[head]
        for key in rest:
            # GitHub yields null for a missing property, and for any property of null.
            value = value.get(key) if isinstance(value, Mapping) else None
        return value


def evaluate(expression: str, contexts: Mapping[str, Any], status: Mapping[str, bool] | None = None) -> Any:
    """The value of one expression (without `${{ }}`); status maps success/always/... to booleans."""
    return _Parser(expression, contexts, status).parse()


def calls_status_function(expression: str) -> bool:
    """GitHub adds an implicit `success() &&` to an `if:` that calls no status function."""
    tokens = tokenize(expression)
    return any(
        kind == "name" and text in STATUS_FUNCTIONS and i + 1 < len(tokens) and tokens[i + 1][1] == "("
        for i, (kind, text) in enumerate(tokens)
    )


def strip_template(condition: str) -> str:
    """`if:` may be written with or without `${{ }}` around the whole expression."""
    text = condition.strip()
    match = _TEMPLATE.fullmatch(text)
    return match[1] if match else text


def to_text(value: Any) -> str:
    """How GitHub writes a value into a string: null -> '', booleans lowercase, 1.0 -> '1'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping | list):
        raise UnsupportedExpression(f"an object or array in a string: {value!r}")
    return str(value)


def substitute(text: str, contexts: Mapping[str, Any]) -> str:
    """Replace every `${{ expression }}` in a string (env values, with:, run: scripts)."""
    return _TEMPLATE.sub(lambda m: to_text(evaluate(m[1], contexts)), text)
