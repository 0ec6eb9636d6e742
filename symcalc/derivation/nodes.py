r"""The symbols a derivation writes that plain SymPy has no node for: ∂f/∂x and dx.

They are SymPy objects, so a step's two sides stay SymPy expressions: they multiply, transpose and
substitute like any matrix, they print through any SymPy printer (``_latex`` / ``_sympystr``, with
sub-parts printed by the printer it is given, so a ``Notation`` reaches inside), and ``check`` can
evaluate them numerically (∂f/∂x by central differences, dx as a direction).

``partial(f, x, layout)`` has the shape the layout table (docs/layouts.md) gives ∂f/∂x; a derivative
with no 2-D form (matrix by matrix, matrix by vector) is refused with what would work instead.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

from ..errors import LayoutError, UnsupportedError
from ..functions import is_matrix

LAYOUTS = ("numerator", "denominator")


def _shape(e):
    return tuple(e.shape) if is_matrix(e) else (sp.S.One, sp.S.One)


def _kind(shape):
    rows, cols = shape
    if rows == 1 and cols == 1:
        return "scalar"
    return "column" if cols == 1 else ("row" if rows == 1 else "matrix")


def partial_shape(num, den, layout):
    """The shape of ∂num/∂den in ``layout`` (docs/layouts.md), or None when it is a scalar."""
    if layout not in LAYOUTS:
        raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")
    (m, n), (p, q) = _shape(num), _shape(den)
    ykind, xkind = _kind((m, n)), _kind((p, q))
    if ykind == "scalar":
        if xkind == "scalar":
            return None
        return (p, q) if layout == "denominator" else (q, p)
    if xkind == "scalar":
        return (m, n) if layout == "numerator" else (n, m)
    if ykind == "column" and xkind == "column":
        return (m, p) if layout == "numerator" else (p, m)
    raise UnsupportedError(
        f"∂({num})/∂({den}) of a {m} x {n} by a {p} x {q} has no matrix form; a derivation writes it "
        f"as a gradient map (∂L/∂X from ∂L/∂Y) or, with vec, as ∂vec(Y)/∂vec(X)ᵀ")


def _print_side(printer, e):
    """A numerator or denominator: a compound expression in parentheses, ∂(Ax)."""
    s = printer._print(e)
    simple = isinstance(e, (sp.Symbol, sp.MatrixSymbol, MatrixElement, sp.Transpose)) or (
        isinstance(e, sp.Function) and len(e.args) == 1)
    return s if simple else r"(%s)" % s


def _str(layout):
    return layout if isinstance(layout, Str) else Str(layout)


class _PartialBase:
    """Shared by the scalar and the matrix form of ∂num/∂den."""

    print_level = 30  # binds like a product (printing.common.MUL): (∂L/∂z)ᵀ, (∂L/∂x)_i

    def doit(self, **hints):  # a derivation's ∂ is a name for a value, not an instruction
        return self

    @property
    def num(self):
        return self.args[0]

    @property
    def den(self):
        return self.args[1]

    @property
    def layout(self):
        return self.args[2].name

    def _latex(self, printer):
        return r"\frac{\partial %s}{\partial %s}" % (_print_side(printer, self.num),
                                                      _print_side(printer, self.den))

    def _sympystr(self, printer):
        return "d%s/d%s" % (_text_side(printer, self.num), _text_side(printer, self.den))

    def _pretty(self, printer):  # plain text is good enough in a terminal
        from sympy.printing.pretty.stringpict import prettyForm
        return prettyForm(self._sympystr(printer))


def _text_side(printer, e):
    s = printer._print(e)
    return s if isinstance(e, (sp.Symbol, sp.MatrixSymbol, MatrixElement)) else "(%s)" % s


class Partial(_PartialBase, sp.Expr):
    """∂f/∂x for a scalar f and a scalar x (a scalar)."""

    is_commutative = True

    def __new__(cls, num, den, layout="denominator"):
        return sp.Expr.__new__(cls, num, den, _str(layout))


class OrdinaryDerivative(Partial):
    """d f/d b of a scalar by a scalar, as single-variable calculus writes it: ds/db for a name,
    the operator d/db (…) before an expression. Evaluated like ∂ (central differences)."""

    def _latex(self, printer):
        den = printer._print(self.den)
        if isinstance(self.num, (sp.Symbol, sp.MatrixSymbol)):
            return r"\frac{\mathrm{d} %s}{\mathrm{d} %s}" % (printer._print(self.num), den)
        body = printer._print(self.num)
        if isinstance(self.num, (sp.Add, sp.Mul)) or body.startswith("-"):
            body = printer._paren(body)
        return r"\frac{\mathrm{d}}{\mathrm{d} %s} %s" % (den, body)

    def _sympystr(self, printer):
        if isinstance(self.num, (sp.Symbol, sp.MatrixSymbol)):
            return "d%s/d%s" % (printer._print(self.num), printer._print(self.den))
        return "d/d%s(%s)" % (printer._print(self.den), printer._print(self.num))


def ordinary(num, den):
    """d num/d den for scalars: the derivative a chain of equalities or a scalar derivation starts with."""
    return OrdinaryDerivative(sp.sympify(num, strict=True), sp.sympify(den, strict=True))


class PartialMatrix(_PartialBase, MatrixExpr):
    """∂f/∂x laid out as a matrix, with the shape the layout gives it."""

    def __new__(cls, num, den, layout="denominator"):
        return MatrixExpr.__new__(cls, num, den, _str(layout))

    @property
    def shape(self):
        return partial_shape(self.num, self.den, self.layout)

    def _entry(self, i, j, **kwargs):
        return MatrixElement(self, i, j)


class PartialFactor(PartialMatrix):
    """∂f/∂x of a scalar by a scalar as a 1 x 1 matrix, for a product of Jacobians: SymPy moves
    scalar factors to the front, and the chain rule's order is the point of writing it."""

    @property
    def shape(self):
        return (sp.S.One, sp.S.One)


def as_factor(p):
    """p, ready to stand in a written product of local derivatives (see ``PartialFactor``)."""
    return PartialFactor(p.num, p.den, p.layout) if isinstance(p, Partial) else p


def partial(num, den, layout="denominator"):
    r"""∂num/∂den in ``layout``: a scalar ``Partial`` or a ``PartialMatrix`` of the layout's shape."""
    num, den = sp.sympify(num, strict=True), sp.sympify(den, strict=True)
    shape = partial_shape(num, den, layout)
    return Partial(num, den, layout) if shape is None else PartialMatrix(num, den, layout)


class _DifferentialBase:
    @property
    def arg(self):
        return self.args[0]

    def _latex(self, printer):
        return r"\mathrm{d}%s" % _print_side(printer, self.arg)

    def _sympystr(self, printer):
        return "d%s" % _text_side(printer, self.arg)


class Differential(_DifferentialBase, sp.Expr):
    """dx for a scalar x."""

    is_commutative = True

    def __new__(cls, x):
        return sp.Expr.__new__(cls, x)


class MatrixDifferential(_DifferentialBase, MatrixExpr):
    """dX for a matrix X: a matrix of X's shape. In a product it is parenthesized, (dW) x, as
    notes write it (d W x could be read as d(W x)); a vector's dx is not."""

    def __new__(cls, x):
        return MatrixExpr.__new__(cls, x)

    @property
    def print_level(self):
        return 29 if self.arg.cols != 1 else 50  # printing.common: below MUL, or ATOM

    @property
    def shape(self):
        return self.arg.shape


def differential(x):
    """dx, shaped like x."""
    x = sp.sympify(x, strict=True)
    return MatrixDifferential(x) if is_matrix(x) else Differential(x)


SPECIAL = (Partial, PartialMatrix, Differential, MatrixDifferential)  # OrdinaryDerivative is a Partial
