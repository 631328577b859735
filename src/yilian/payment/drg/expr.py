"""The rule language of a DRG rule pack: tokenizer, parser, analysis and compiler.

Grammar (the pack README is the specification)::

    expr   := term ( "|" term )*
    term   := factor ( "&" factor )*       # "&" binds tighter than "|"
    factor := predicate | "(" expr ")"

A predicate is one token without inner spaces (``pdx``, ``proc:2``, ``weight>=1500``).
Parsing happens once, when a pack is loaded; :func:`compile_rule` turns the tree into
a closure over frozensets, so grouping a case never looks at rule text again.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from yilian.core.errors import ValidationFailed
from yilian.payment.drg.case import DrgCase

Check = Callable[[DrgCase], bool]


class RuleSyntaxError(ValidationFailed):
    """A rule expression that cannot be parsed; ``column`` is 1-based."""

    default_code = "drg_rule_invalid"

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message, column=column)
        self.column = column


# --- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pred:
    """A predicate. ``name`` is the keyword (``proc``, ``weight<`` …); ``arg`` its number."""

    name: str
    arg: int | None = None

    def __str__(self) -> str:
        if self.name == "proc":
            return f"proc:{self.arg}"
        if self.arg is None:
            return self.name
        return f"{self.name}{self.arg}"


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " & ".join(f"({i})" if isinstance(i, Or) else str(i) for i in self.items)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " | ".join(str(i) for i in self.items)


Node = Pred | And | Or
TRUE = Pred("true")

# Keyword predicates and the numeric ones (name, pattern of the number).
_KEYWORDS = frozenset({"pdx", "anydx", "pproc", "pproc_or", "no_or_proc", "newborn", "male", "female", "true"})
_NUMERIC = re.compile(r"(proc:|age_years=|weight<|weight>=|parts>=)([0-9]+)")
_TOKEN = re.compile(r"\s*(?:([()|&])|([^\s()|&]+))")


def _predicate(token: str, column: int) -> Pred:
    if token in _KEYWORDS:
        return Pred(token)
    m = _NUMERIC.fullmatch(token)
    if m is None:
        raise RuleSyntaxError(f"第 {column} 个字符处：未知的谓词「{token}」", column)
    head, number = m.group(1), int(m.group(2))
    if head == "proc:":
        if number < 1:
            raise RuleSyntaxError(f"第 {column} 个字符处：手术表编号须从 1 开始（{token}）", column)
        return Pred("proc", number)
    if head == "parts>=" and number < 1:
        raise RuleSyntaxError(f"第 {column} 个字符处：部位数须至少为 1（{token}）", column)
    return Pred(head, number)


def _tokens(text: str) -> Iterator[tuple[str, int]]:
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        column = m.start(m.lastindex or 1) + 1
        yield m.group(m.lastindex or 1), column
        pos = m.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.pos = 0
        self.end_column = len(text.rstrip()) + 1

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def column(self) -> int:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else self.end_column

    def parse(self) -> Node:
        if not self.tokens:
            raise RuleSyntaxError("规则表达式为空", 1)
        node = self.expr()
        if self.pos < len(self.tokens):
            raise RuleSyntaxError(f"第 {self.column()} 个字符处：多余的「{self.peek()}」", self.column())
        return node

    def expr(self) -> Node:
        items = [self.term()]
        while self.peek() == "|":
            self.pos += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def term(self) -> Node:
        items = [self.factor()]
        while self.peek() == "&":
            self.pos += 1
            items.append(self.factor())
        return items[0] if len(items) == 1 else And(tuple(items))

    def factor(self) -> Node:
        token, column = self.peek(), self.column()
        if token is None:
            raise RuleSyntaxError(f"第 {column} 个字符处：表达式不完整，缺少谓词", column)
        self.pos += 1
        if token == "(":
            node = self.expr()
            if self.peek() != ")":
                raise RuleSyntaxError(
                    f"第 {self.column()} 个字符处：缺少与第 {column} 个字符匹配的「)」", self.column()
                )
            self.pos += 1
            return node
        if token in ("|", "&", ")"):
            raise RuleSyntaxError(f"第 {column} 个字符处：此处应为谓词或「(」，却是「{token}」", column)
        return _predicate(token, column)


def parse_rule(text: str) -> Node:
    """Parse one rule expression; raises :class:`RuleSyntaxError` with the column."""
    return _Parser(text).parse()


# --- analysis ----------------------------------------------------------------------------------


def predicates(node: Node) -> Iterator[Pred]:
    if isinstance(node, Pred):
        yield node
    else:
        for item in node.items:
            yield from predicates(item)


def implies(node: Node, pred: Pred) -> bool:
    """True when ``node`` can only hold if ``pred`` holds (used to index rules by principal)."""
    if isinstance(node, Pred):
        return node == pred
    if isinstance(node, And):
        return any(implies(i, pred) for i in node.items)
    return all(implies(i, pred) for i in node.items)


def assume(node: Node, pred: Pred) -> Node:
    """``node`` simplified under the knowledge that ``pred`` holds.

    The grouper's index already guarantees ``pdx`` for the candidates it yields, so
    the residual rule of a plain ``pdx`` ADRG is ``true`` and costs no call at all.
    """
    if isinstance(node, Pred):
        return TRUE if node == pred else node
    items = [assume(i, pred) for i in node.items]
    if isinstance(node, And):
        kept = tuple(i for i in items if i != TRUE)
        return TRUE if not kept else kept[0] if len(kept) == 1 else And(kept)
    return TRUE if TRUE in items else Or(tuple(items))


# --- compiler ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleEnv:
    """What a rule's predicates read: the list of its MDC or ADRG, tables, OR set, parts."""

    dx_list: frozenset[str]
    proc_tables: Mapping[int, frozenset[str]]
    or_procedures: frozenset[str]
    parts: Mapping[str, str]


def compile_rule(node: Node, env: RuleEnv) -> Check:
    """A closure ``case -> bool`` for ``node``. Diagnoses are assumed non-empty (validated)."""
    if isinstance(node, Pred):
        return _compile_pred(node, env)
    checks = tuple(compile_rule(i, env) for i in node.items)
    # Two-item forms are by far the most common; unrolled they skip a generator per call.
    if isinstance(node, And):
        if len(checks) == 2:
            a, b = checks
            return lambda c: a(c) and b(c)
        return lambda c: all(f(c) for f in checks)
    if len(checks) == 2:
        a, b = checks
        return lambda c: a(c) or b(c)
    return lambda c: any(f(c) for f in checks)


def _compile_pred(p: Pred, env: RuleEnv) -> Check:
    name, n = p.name, p.arg if p.arg is not None else 0
    lst, orp = env.dx_list, env.or_procedures
    if name == "pdx":
        return lambda c: c.diagnoses[0] in lst
    if name == "anydx":
        return lambda c: not lst.isdisjoint(c.diagnoses)
    if name == "pproc":
        t1 = env.proc_tables.get(1, frozenset())
        return lambda c: bool(c.procedures) and c.procedures[0] in t1
    if name == "proc":
        tn = env.proc_tables.get(n, frozenset())
        return lambda c: not tn.isdisjoint(c.procedures)
    if name == "pproc_or":
        return lambda c: bool(c.procedures) and c.procedures[0] in orp
    if name == "no_or_proc":
        return lambda c: orp.isdisjoint(c.procedures)
    if name == "newborn":
        return is_newborn
    if name == "age_years=":
        return lambda c: c.age_years == n
    if name == "male":
        return lambda c: c.sex == 1
    if name == "female":
        return lambda c: c.sex == 2
    if name == "weight<":
        return lambda c: c.birth_weight_g is not None and 0 < c.birth_weight_g < n
    if name == "weight>=":
        return lambda c: c.birth_weight_g is not None and c.birth_weight_g != 0 and c.birth_weight_g >= n
    if name == "parts>=":
        parts = env.parts
        return lambda c: len({parts[d] for d in c.diagnoses if d in parts}) >= n
    if name == "true":
        return lambda c: True
    raise AssertionError(f"unknown predicate {p}")  # the parser admits no other name


def is_newborn(c: DrgCase) -> bool:
    """Age in days present and ≤ 28; age in days is only read when age in years is 0."""
    return c.age_years == 0 and c.age_days is not None and c.age_days <= 28
