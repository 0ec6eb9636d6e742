r"""An author's chain of equalities, each line checked against the one before.

A lecturer writes a derivation of their own (CMU lecture 13's nine lines for σ′, say) and wants
to know that every "=" holds before it goes into the notes::

    b = sp.Symbol("b", real=True)
    s = sp.Symbol("s", real=True)
    chain = sc.equalities([
        sp.Derivative(1 / (1 + sp.exp(-b)), b),
        (sp.exp(-b) / (sp.exp(-b) + 1) ** 2, "quotient rule"),
        ...
        (s * (1 - s), "s = 1/(1 + e^{-b})"),
    ], definitions={s: 1 / (1 + sp.exp(-b))})
    report = chain.check()       # falsy when a line is false; report.first_false, .counterexample
    chain.latex()                # an align* block, each line with its justification

Each line is compared with the line before it: symbolically where SymPy shows the difference is
zero (derivatives taken, definitions substituted), numerically otherwise, at random values of
random sizes (matrix lines too; a derivative by central differences). A line that differs is
false, with a counterexample: the values at which its two sides differ. The typeset chain marks
the first false line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import sympy as sp

from ..functions import is_matrix
from .check import Evaluator, _compare
from .core import DEFINITION, Derivation, Step
from .nodes import SPECIAL, OrdinaryDerivative, partial

if TYPE_CHECKING:
    from ..hints import Expr
    from ..printing.notation import Notation

TRIALS = 3


@dataclass
class LineCheck:
    """Line ``index`` (0 is the first line) against the line before it."""

    index: int
    status: str          # "symbolic", "numeric", "false" or "unverified"
    message: str = ""
    counterexample: dict = field(default_factory=dict)   # {name: value} where the sides differ
    sides: tuple = ()                                     # (previous line, this line) there

    @property
    def ok(self):
        return self.status in ("symbolic", "numeric")


@dataclass
class EqualitiesReport:
    """The verdict on each "=" of a chain; falsy when one is false or could not be checked."""

    results: list
    lines: list

    @property
    def ok(self):
        return all(r.ok for r in self.results)

    def __bool__(self):
        return self.ok

    @property
    def first_false(self):
        """The number of the first false line (the first line is line 1), or None."""
        return next((r.index + 1 for r in self.results if r.status == "false"), None)

    @property
    def counterexample(self):
        bad = next((r for r in self.results if r.status == "false"), None)
        return bad.counterexample if bad else {}

    def __str__(self):
        from ..printing import text
        out = []
        for r in self.results:
            line = text(self.lines[r.index])
            if r.status == "false":
                values = ", ".join("%s = %s" % (k, _show(v)) for k, v in r.counterexample.items())
                out.append(f"line {r.index + 1} is FALSE: {line}\n  {r.message}; at {values}: the "
                           f"line before is {_show(r.sides[0])}, this line {_show(r.sides[1])}")
            elif r.status == "unverified":
                out.append(f"line {r.index + 1} could not be checked: {line} ({r.message})")
            else:
                how = "symbolically" if r.status == "symbolic" else "numerically, at random values"
                out.append(f"line {r.index + 1} holds {how}: {line}")
        verdict = ("every line holds" if self.ok else
                   f"line {self.first_false} is the first false line" if self.first_false is not None
                   else "some lines could not be checked")
        return "\n".join(out + [verdict])


def _where(r):
    """Where a false line's sides differ, short enough for a note: the values when they are
    numbers, the sizes when they are random matrices."""
    scalars = {k: v for k, v in r.counterexample.items() if not isinstance(v, np.ndarray)}
    at = ", ".join("%s = %s" % (k, _show(v)) for k, v in scalars.items())
    if all(not isinstance(v, np.ndarray) for v in r.sides):
        return "at %s the line before is %s, this line %s" % (at, _show(r.sides[0]), _show(r.sides[1]))
    return "at random matrices (%s) %s" % (at, r.message.replace("the sides", "the lines"))


def _show(v):
    if isinstance(v, np.ndarray):
        return np.array2string(v, precision=4, suppress_small=True).replace("\n", "")
    return "%.6g" % v


class Equalities:
    """A chain of equalities line₀ = line₁ = … with a justification for each "="."""

    def __init__(self, lines: Sequence[Expr | tuple[Expr, str]], reasons: Sequence[str] | None = None,
                 definitions: Mapping[sp.Basic, Expr] | None = None, title: str = "",
                 notation: Notation | None = None) -> None:
        items = []
        for k, line in enumerate(lines):
            reason = ""
            if isinstance(line, tuple):
                line, reason = line
            items.append((_as_node(sp.sympify(line, strict=True)), reason))
        if reasons is not None:
            reasons = list(reasons)
            offset = len(items) - len(reasons)
            for k, r in enumerate(reasons):
                expr, _ = items[k + offset]
                items[k + offset] = (expr, r)
        if len(items) < 2:
            raise ValueError("a chain of equalities needs at least two lines")
        self.lines = [e for e, _ in items]
        self.reasons = [r for _, r in items]
        self.definitions = {sp.sympify(k): _as_node(sp.sympify(v)) for k, v in (definitions or {}).items()}
        self.title = title or "A chain of equalities"
        self.notation = notation
        self._report: EqualitiesReport | None = None

    # ------------------------------------------------------------------ checking

    def check(self, seed: int = 0, trials: int = TRIALS, tol: float = 1e-6) -> EqualitiesReport:
        """Every line against the one before it (see the module docstring)."""
        results = []
        for k in range(1, len(self.lines)):
            results.append(self._check_pair(k, seed, trials, tol))
        self._report = EqualitiesReport(results, self.lines)
        return self._report

    def _check_pair(self, k, seed, trials, tol):
        a, b = self.lines[k - 1], self.lines[k]
        if _symbolic_equal(a, b, self.definitions):
            return LineCheck(k, "symbolic")
        defs = [Step(DEFINITION, s, v) for s, v in self.definitions.items()]
        claim = Step("", a, b)
        for t in range(trials):
            try:
                ev = Evaluator(defs + [claim], seed=seed + t)
                left = ev.value(ev.sized(a))
                right = ev.value(ev.sized(b))
            except Exception as exc:  # noqa: BLE001 - a line that cannot be evaluated is not verified
                return LineCheck(k, "unverified", f"{type(exc).__name__}: {exc}")
            good, err, msg = _compare(left, right, tol)
            if not good:
                values = {str(s): ev.values[s] for s in ev.base}
                values.update({str(s): v for s, v in ev.sizes.items()})
                return LineCheck(k, "false", msg, values, (left, right))
        return LineCheck(k, "numeric")

    # ------------------------------------------------------------------ printing

    def derivation(self) -> Derivation:
        """The chain as a ``Derivation`` (for its LaTeX, Markdown and documents); a false line's
        justification says so, with the counterexample."""
        report = self._report
        steps = [Step(DEFINITION, s, v, section="Definitions") for s, v in self.definitions.items()]
        for k in range(1, len(self.lines)):
            note = ""
            if report is not None:
                r = report.results[k - 1]
                if r.status == "false":
                    note = "FALSE: " + _where(r)
                elif r.status == "unverified":
                    note = "not checked: " + r.message
            steps.append(Step(self.reasons[k] or "", self.lines[0], self.lines[k], note=note,
                              section="Chain"))
        return Derivation.from_steps(self.title, steps, layout=_layout(self.lines),
                                     result=self.lines[-1], notation=self.notation, style="equalities")

    @property
    def report(self):
        """The last ``check()``'s report (None before the first)."""
        return self._report

    def latex(self, notation=None, width=None):
        return self.derivation().latex(notation, width)

    def markdown(self, notation=None):
        return self.derivation().markdown(notation)

    def write_tex(self, path, standalone=True, notation=None, compile=False):
        return self.derivation().write_tex(path, standalone, notation, compile)

    def __str__(self):
        return str(self.derivation())


def _layout(lines):
    """The layout the chain's matrix derivatives are in; None (not stated) when it has none."""
    for e in lines:
        for a in sp.preorder_traversal(e):
            if isinstance(a, SPECIAL) and is_matrix(a) and hasattr(a, "layout"):
                return a.layout
    return None


def _as_node(e):
    """SymPy's Derivative(f, b) as symcalc's d f/d b (evaluated by central differences)."""
    if isinstance(e, sp.Derivative):
        (b, count), = e.variable_count
        if count != 1:
            raise ValueError(f"{e}: write higher derivatives as a derivative of a derivative")
        f = e.expr
        return OrdinaryDerivative(f, b) if not (is_matrix(f) or is_matrix(b)) else partial(f, b)
    if e.args and any(isinstance(a, sp.Derivative) for a in sp.preorder_traversal(e)):
        return e.replace(lambda a: isinstance(a, sp.Derivative), _as_node)
    return e


def _symbolic_equal(a, b, definitions):
    """Whether SymPy shows a − b = 0 (scalars only; derivatives taken, definitions substituted)."""
    if is_matrix(a) or is_matrix(b):
        return False

    def plain(e):
        e = e.xreplace(definitions) if definitions else e
        e = e.replace(lambda x: isinstance(x, OrdinaryDerivative), lambda x: sp.diff(x.num, x.den))
        return e.rewrite(sp.exp) if e.has(sp.Function) else e
    try:
        return sp.simplify(plain(a) - plain(b)) == 0
    except Exception:  # noqa: BLE001 - SymPy could not decide: the numbers will
        return False


def equalities(lines: Sequence[Expr | tuple[Expr, str]], reasons: Sequence[str] | None = None,
               definitions: Mapping[sp.Basic, Expr] | None = None, title: str = "",
               notation: Notation | None = None) -> Equalities:
    """A chain of equalities to check and typeset (see ``Equalities``)."""
    return Equalities(lines, reasons, definitions, title, notation)


__all__ = ["Equalities", "EqualitiesReport", "LineCheck", "equalities"]
