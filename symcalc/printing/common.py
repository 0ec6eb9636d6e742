"""What the LaTeX and the text printer share: a precedence ladder and elementwise bodies.

Both printers parenthesize a sub-expression when it binds less tightly than its context needs
(``_level`` < the context's level), print sums with their positive terms first, and print an
``ElementwiseApplyFunction`` as its Lambda body with the variable standing for the argument.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import sympy as sp
from sympy.matrices.expressions import (
    DiagMatrix, Determinant, HadamardPower, HadamardProduct, Inverse, KroneckerProduct, MatAdd,
    MatMul, MatPow, Trace, Transpose,
)
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import functions as F
from ..convolution import Shift

# How tightly a printed form binds.
ADD, HADAMARD, MUL, POW, ATOM = 10, 20, 30, 40, 50

#: symcalc's matrix nodes that print as an operator applied to their argument
REDUCTIONS = (F.EntrySum, F.EntryMean, F.LogSumExp, F.Softmax, F.LayerNorm, F.Std)

#: nodes with options beyond the axis: layer_norm and std (eps), the causal softmax
KEYWORDED = (F.LayerNorm, F.Std, F.CausalSoftmax)


def node_keywords(expr) -> list:
    """[(keyword, value)] that a KEYWORDED node prints besides its argument, as the command line reads
    them: the axis unless it is a column vector's own (0), eps unless 0, causal."""
    out = []
    if expr.axis == 1 or expr.arg.cols != 1:
        out.append(("axis", expr.axis))
    if isinstance(expr, F._Normalising) and expr.eps != 0:
        out.append(("eps", expr.eps))
    if isinstance(expr, F.CausalSoftmax):
        out.append(("causal", True))
    return out


_KEYWORDED_LATEX = {F.LayerNorm: r"\operatorname{LN}", F.Std: r"\operatorname{std}",
                    F.CausalSoftmax: r"\operatorname{softmax}"}


def keyworded_latex(expr, arg: str, eps: str, paren=lambda s: r"\left(%s\right)" % s) -> str:
    r"""LN_row(X; ε), std_col(X), softmax_{row, causal}(S): the axis and the mask as a subscript (none
    for a column vector's own axis), a non-zero ε after a semicolon."""
    keys = dict(node_keywords(expr))
    marks = [] if "axis" not in keys else ["row" if keys["axis"] == 1 else "col"]
    marks += ["causal"] if keys.get("causal") else []
    sub = r"_{\text{%s}}" % ", ".join(marks) if marks else ""
    inside = arg + (r";\, %s" % eps if "eps" in keys else "")
    return _KEYWORDED_LATEX[type(expr)] + sub + paren(inside)


def prime(expr):
    """(f, k, u) when ``expr`` is f⁽ᵏ⁾(u) of an undefined one-argument function f (σ′(z)), else None:
    ``Derivative(f(u), (u, k))`` or ``Subs(Derivative(f(ξ), (ξ, k)), ξ, u)``."""
    point = None
    if isinstance(expr, sp.Subs) and len(expr.variables) == 1:
        point, expr = expr.point[0], expr.expr
    if not isinstance(expr, sp.Derivative) or len(expr.variable_count) != 1:
        return None
    f, (var, k) = expr.expr, expr.variable_count[0]
    if not isinstance(f, AppliedUndef) or f.args != (var,):
        return None
    if point is not None and var != expr.variables[0]:
        return None
    return f.func, k, (var if point is None else point)


def bare_11(a):
    """The 1 x 1 matrix a scalar Trace stands for, where the context supplies parentheses (σ(wᵀx))."""
    return a.arg if isinstance(a, Trace) and is_11(a.arg) else a


def is_negative(term) -> bool:
    if isinstance(term, MatMul):  # its scalar factor may be a product such as -alpha
        return term.as_coeff_matrices()[0].could_extract_minus_sign()
    if isinstance(term, sp.Mul):  # the leading number decides (SymPy's negates the whole product)
        return term.as_coeff_Mul()[0].is_negative
    extract = getattr(term, "could_extract_minus_sign", None)
    return bool(extract and extract())


def negated(term):
    """−term for a term ``is_negative`` says is negative, without SymPy's deep ``doit`` of a
    negated matrix product."""
    if isinstance(term, MatMul):
        c, mats = term.as_coeff_matrices()
        if c == -1:
            return mats[0] if len(mats) == 1 else MatMul(*mats)
        return MatMul(-c, *mats)
    return -term


def positive_first(terms):
    """Terms of a sum with leading negatives moved behind the positive ones (stable):
    SymPy's ``-X*theta + y`` becomes ``y - X*theta``."""
    terms = list(terms)
    if terms and is_negative(terms[0]) and not all(is_negative(t) for t in terms):
        return [t for t in terms if not is_negative(t)] + [t for t in terms if is_negative(t)]
    return terms


def hadamard_order(args):
    """Factors of a Hadamard product as notes write them (it commutes): a matrix product first
    (the upstream gradient, ``(W^T δ) ⊙ σ'(z)``), then plain symbols (``y ⊙ log p``), then the
    rest in SymPy's order."""
    from sympy.matrices.expressions import MatrixSymbol

    def rank(a):
        if isinstance(a, MatMul):
            return 0
        return 1 if isinstance(a, (MatrixSymbol, Transpose)) else 2

    return sorted(args, key=rank)


def shifts_read_back(matrices):
    """The factors of a product with Aᵀ Sⱼᵀ written (Sⱼ A)ᵀ, Sⱼ a convolution's shift matrix: the
    gradient of a tap as the notes write it, (Sⱼ X)ᵀ G, the correlation of the input with G."""
    out = []
    for m in matrices:
        if (isinstance(m, Transpose) and isinstance(m.arg, Shift) and out
                and isinstance(out[-1], Transpose) and not is_11(out[-1])):
            out[-1] = Transpose(MatMul(m.arg, out[-1].arg))
        else:
            out.append(m)
    return out


def lambda_parts(function):
    """(variable, body) of an ElementwiseApplyFunction's function (a Lambda or a SymPy function)."""
    if isinstance(function, sp.Lambda):
        (var,) = function.variables
        return var, function.expr
    var = sp.Dummy("z")
    return var, function(var)


#: operations that are the identity on a 1 x 1 matrix: diag(a) = sum(a) = mean(a) = aᵀ = a
_UNARY_11 = (DiagMatrix, F.EntrySum, F.EntryMean, Transpose)


def is_11(e) -> bool:
    """A 1 x 1 matrix expression: printed as the number it is (``a (1 - a)``, not ``a ⊙ (1 - a)``)."""
    return getattr(e, "is_Matrix", False) and e.shape == (1, 1)


def entry_of_11(expr):
    """A whole expression that is tr(M), M 1 x 1, printed as M: the parentheses that ``tr`` of a
    1 x 1 needs inside a product (``2 (a + b)``) are noise on their own."""
    if isinstance(expr, Trace) and is_11(expr.arg):
        return expr.arg
    return expr


def scalar_parts(expr):
    """(numerator factors, denominator factors) of a 1 x 1 Hadamard product or power, read as a
    product of numbers: ``(a - y) ⊙ (a ⊙ (1 - a))^{∘-1}`` is (a - y) / (a (1 - a))."""
    numer, denom = [], []
    factors = expr.args if isinstance(expr, HadamardProduct) else [expr]
    for f in factors:
        if isinstance(f, HadamardPower) and f.exp.is_negative:
            base = f.base
            parts = list(base.args) if isinstance(base, HadamardProduct) else [base]
            if f.exp == -1:
                denom += parts
            else:
                denom.append(HadamardPower(base, -f.exp))
        else:
            numer.append(f)

    def order(fs):  # a (1 - a), (1 - y) log(1 - a): sums after symbols, before functions
        def rank(f):
            if isinstance(f, (MatAdd, sp.Add)):
                return 1
            return 0 if isinstance(f, (MatMul, sp.MatrixSymbol, Transpose)) else 2
        return sorted(hadamard_order(fs), key=rank)
    return order(numer), order(denom)


class MatrixPrinting:
    """Mixin for a SymPy printer; the printer supplies ``_paren(s)``."""

    if TYPE_CHECKING:  # supplied by the SymPy printer it is mixed into
        def _print(self, expr: object, **kwargs: object) -> str: ...
        def emptyPrinter(self, expr: object) -> str: ...

    def _init_binding(self):
        self._bound = {}  # Lambda variable -> the matrix it stands for

    def _print_by_class(self, expr, **kwargs):
        """The first ``_print_<Class>`` of ``expr``'s classes: what ``Printer._print`` does after
        the printing protocol, for symcalc's classes, whose protocol methods (``protocol.py``)
        serve SymPy's own printers and hand symcalc's printers back here."""
        for cls in type(expr).__mro__:
            method = getattr(self, "_print_" + cls.__name__, None)
            if method is not None:
                return method(expr, **kwargs)
        return self.emptyPrinter(expr)

    def _paren(self, s: str) -> str:
        return "(%s)" % s

    def _level(self, e) -> int:
        if e in self._bound:
            return self._level(self._bound[e])
        declared = getattr(e, "print_level", None)  # ∂L/∂z binds like a product: (∂L/∂z)ᵀ
        if isinstance(declared, int):
            return declared
        if isinstance(e, _UNARY_11) and is_11(e.args[0]):
            return self._level(e.args[0])
        if is_11(e):  # a 1 x 1 quantity reads as a number (see ``scalar_parts``)
            if isinstance(e, HadamardProduct):
                return MUL
            if isinstance(e, HadamardPower):
                return MUL if e.exp.is_negative else POW
        if isinstance(e, (MatAdd, sp.Add)):
            return ADD
        if isinstance(e, (HadamardProduct, KroneckerProduct)):
            return HADAMARD
        if isinstance(e, (MatMul, sp.Mul)):
            if is_negative(e):
                return ADD
            if isinstance(e, sp.Mul) and self._depends(e):
                return HADAMARD if sum(map(self._depends, e.args)) > 1 else MUL
            return MUL
        if isinstance(e, sp.Pow):
            if e.exp.is_negative:
                return MUL  # a fraction
            if e.exp == sp.S.Half:
                return ATOM  # a square root
            return POW
        if isinstance(e, (Transpose, Inverse, MatPow, HadamardPower)):
            return POW
        if isinstance(e, ElementwiseApplyFunction):
            var, body = lambda_parts(e.function)
            with self._binding(var, e.expr):
                return self._level(body)
        if isinstance(e, MatrixElement) and e.parent.shape == (1, 1):
            return self._level(e.parent)
        if isinstance(e, sp.Rational) and not e.is_Integer:
            return MUL
        if isinstance(e, sp.Number) and e.is_negative:
            return ADD
        return ATOM

    def _print_11_unary(self, expr):
        return self._print(expr.args[0])

    def _product_11(self, factors, times: str) -> str:
        return times.join(self._wrap(f, MUL) for f in factors) if factors else "1"

    def _hadamard_quotient(self, args, had: str, div: str):
        """y ⊙ a^{∘−1} as y ⊘ a: the factors with exponent −1 go after one ⊘; None if there are none
        (or nothing is left above the line)."""
        over = [a for a in args if isinstance(a, HadamardPower) and a.exp == -1]
        above = [a for a in args if a not in over]
        if not over or not above:
            return None
        top = had.join(self._hadamard_factor(a) for a in hadamard_order(above))
        bases = [a.base for a in over]
        if len(bases) == 1:
            bottom = self._hadamard_factor(bases[0])
            if isinstance(bases[0], HadamardProduct):
                bottom = self._paren(bottom)
        else:
            bottom = self._paren(had.join(self._hadamard_factor(b) for b in hadamard_order(bases)))
        return top + div + bottom

    def _hadamard_factor(self, e) -> str:
        """A factor of ⊙: products and sums in parentheses, a nested ⊙ not (it associates)."""
        level = self._level(e)
        s = self._print(e)
        if level < HADAMARD or level == MUL or isinstance(e, KroneckerProduct):
            return self._paren(s)
        return s

    def _factor(self, e, count: int) -> str:
        """A factor of an elementwise body's product: ⊙ between two or more matrix factors."""
        return self._hadamard_factor(e) if count > 1 else self._wrap(e, MUL)

    def _wrap(self, e, level: int) -> str:
        s = self._print(e)
        return self._paren(s) if self._level(e) < level else s

    def _depends(self, e) -> bool:
        """Whether a scalar expression mentions a bound Lambda variable (so it is a matrix)."""
        return bool(self._bound) and any(v in e.free_symbols for v in self._bound)

    @contextlib.contextmanager
    def _binding(self, var, value):
        had, old = var in self._bound, self._bound.get(var)
        if value is None:
            self._bound.pop(var, None)
        else:
            self._bound[var] = value
        try:
            yield
        finally:
            if had:
                self._bound[var] = old
            else:
                self._bound.pop(var, None)

    def _print_bound(self, var) -> str:
        value = self._bound[var]
        with self._binding(var, None):  # the argument lies outside the Lambda's scope
            return self._print(value)

    def _is_application(self, e) -> bool:
        """Prints as name(...): ``log`` of it can drop its own parentheses (``\\log \\sigma(z)``)."""
        if e in self._bound:
            return self._is_application(self._bound[e])
        if isinstance(e, ElementwiseApplyFunction):
            var, body = lambda_parts(e.function)
            with self._binding(var, e.expr):
                return self._is_application(body)
        if isinstance(e, (F.Step, F.Threshold)):
            return False
        if isinstance(e, sp.exp):
            return self._depends(e)
        if isinstance(e, sp.Function) and len(e.args) == 1:
            return True
        return isinstance(e, (Determinant, Trace, DiagMatrix, *REDUCTIONS))

    def _join_terms(self, terms, minus=" - ", plus=" + ") -> str:
        out = ""
        for k, term in enumerate(positive_first(terms)):
            negative = is_negative(term)
            if negative:
                term = negated(term)
            if isinstance(term, Trace) and is_11(term.arg) and self._level(term.arg) > ADD:
                term = term.arg  # a 1 x 1 term of a sum needs no parentheses: b + wᵀx
            text = self._wrap(term, HADAMARD) if negative else self._print(term)
            if k == 0:
                out = ("-" if negative else "") + text
            else:
                out += (minus if negative else plus) + text
        return out

    def _print_ElementwiseApplyFunction(self, expr):
        var, body = lambda_parts(expr.function)
        with self._binding(var, expr.expr):
            return self._print(body)
