"""Readable plain text: ``-2*X.T*(y - X*theta)``, ``sigmoid(W*x + b)``, ``X^-1``.

A SymPy ``StrPrinter`` subclass sharing the LaTeX printer's precedence ladder, so the two agree
on parentheses. Written for people, not for ``eval``: products are ``*``, transposes ``.T``
(as in NumPy), inverses ``^-1`` and ``^-T``, the Hadamard product ``⊙`` and the elementwise power
``^∘2`` (the symbols of the LaTeX output). ``ascii=True`` writes ``.*`` and ``.^`` instead
(MATLAB's elementwise operators) for terminals and logs without Unicode. Elementwise functions
print as the function of the matrix, without SymPy's ``Lambda(_z, ...)`` wrapper.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import HadamardPower, HadamardProduct, Inverse, Transpose
from sympy.printing.str import StrPrinter

from .. import limits
from .. import functions as F
from ..hints import Expr
from .common import (
    ATOM, MUL, MatrixPrinting, bare_11, entry_of_11, hadamard_order, is_11, prime, scalar_parts,
)
from .common import KEYWORDED, node_keywords
from .common import shifts_read_back


class SymcalcStrPrinter(MatrixPrinting, StrPrinter):
    """Plain text; settings: ``ascii`` (``.*`` and ``.^`` instead of ``⊙`` and ``^∘``)."""

    _default_settings = {**StrPrinter._default_settings, "ascii": False}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._init_binding()
        ascii_only = self._settings["ascii"]
        self._had = " .* " if ascii_only else " ⊙ "
        self._div = " ./ " if ascii_only else " ⊘ "
        self._hpow = ".^" if ascii_only else "^∘"
        self._kron = " kron " if ascii_only else " ⊗ "

    def _print(self, expr, **kwargs):
        # sum(a) and mean(a) of a 1 x 1 a are a (their own _sympystr would win over a _print_ method)
        if isinstance(expr, (F.EntrySum, F.EntryMean)) and is_11(expr.arg):
            return self._print_11_unary(expr)
        if isinstance(expr, F.SCALAR_FUNCTIONS):  # its own _sympystr would win over _print_Function
            return self._print_Function(expr)
        return super()._print(expr, **kwargs)

    def _call(self, name, *args):
        return "%s(%s)" % (name, ", ".join(self._print(bare_11(a)) for a in args))

    def _superscript(self, base, mark: str) -> str:
        return self._wrap(base, ATOM) + mark

    def _number(self, e) -> str:
        return self._print(e)

    # ------------------------------------------------------------------ symbols and entries

    def _print_Symbol(self, expr):
        if expr in self._bound:
            return self._print_bound(expr)
        return super()._print_Symbol(expr)

    _print_Dummy = _print_Symbol

    def _print_MatrixElement(self, expr):
        parent = expr.parent
        if parent.shape == (1, 1):
            return self._print(parent)
        if parent.shape[1] == 1 or parent.shape[0] == 1:  # an entry of a vector has one index
            return "%s[%s]" % (self._wrap(parent, ATOM), self._print(expr.i if parent.shape[1] == 1 else expr.j))
        return "%s[%s, %s]" % (self._wrap(parent, ATOM), self._print(expr.i), self._print(expr.j))

    def _print_Identity(self, expr):
        return "1" if expr.shape == (1, 1) else "I"

    def _print_OneMatrix(self, expr):
        return "1.T" if expr.shape[0] == 1 and expr.shape[1] != 1 else "1"

    def _print_ZeroMatrix(self, expr):
        return "0"

    # ------------------------------------------------------------------ sums and products

    def _print_MatAdd(self, expr):
        return self._join_terms(expr.args)

    def _print_Add(self, expr, order=None):
        return self._join_terms(self._as_ordered_terms(expr, order=order))

    def _print_MatMul(self, expr):
        coeff, matrices = expr.as_coeff_matrices()
        sign = ""
        if coeff.could_extract_minus_sign():
            sign, coeff = "-", -coeff
        # a fraction in parentheses, (1/2)*x; a product not, 2*lam*x
        divides = any(f.is_Rational and not f.is_Integer or f.is_Pow and f.exp.is_negative
                      for f in sp.Mul.make_args(coeff))
        parts = [] if coeff == 1 else [self._wrap(coeff, MUL + 1 if divides else MUL)]
        matrices = shifts_read_back(matrices)
        # a 1 x 1 product or quotient among matrices is one factor: W^T (a (1 - a)) δ
        parts += [self._wrap(m, MUL + 1 if is_11(m) and isinstance(m, (HadamardProduct, HadamardPower))
                             else MUL) for m in matrices]
        return sign + "*".join(parts)

    def _print_Mul(self, expr):
        if not self._depends(expr):
            return super()._print_Mul(expr)
        numer, denom = sp.fraction(expr, exact=True)
        if denom != 1:
            return "%s/%s" % (self._wrap(numer, MUL), self._wrap(denom, ATOM))
        coeff, rest = expr.as_coeff_Mul()
        sign = ""
        if coeff.is_negative:
            sign, coeff = "-", -coeff
        factors = sp.Mul.make_args(rest)
        const = sp.Mul(coeff, *[f for f in factors if not self._depends(f)])
        # σ(z) ⊙ (1 - σ(z)): sums last, as σ' is written
        varying = sorted((f for f in factors if self._depends(f)), key=lambda f: f.is_Add)
        body = self._had.join(self._factor(f, len(varying)) for f in varying)
        return sign + (body if const == 1 else "%s*%s" % (self._wrap(const, MUL), body))

    def _print_HadamardProduct(self, expr):
        if is_11(expr):
            return self._fraction_11(expr)
        quotient = self._hadamard_quotient(expr.args, self._had, self._div)
        if quotient is not None:
            return quotient
        return self._had.join(self._hadamard_factor(a) for a in hadamard_order(expr.args))

    def _print_KroneckerProduct(self, expr):
        return self._kron.join(self._wrap(a, MUL + 1) for a in expr.args)

    # ------------------------------------------------------------------ powers

    def _print_Transpose(self, expr):
        if is_11(expr.arg):  # a number is its own transpose
            return self._print(expr.arg)
        if isinstance(expr.arg, Inverse):
            return self._superscript(expr.arg.arg, "^-T")
        return self._superscript(expr.arg, ".T")

    def _print_Inverse(self, expr):
        if isinstance(expr.arg, Transpose):
            return self._superscript(expr.arg.arg, "^-T")
        return self._superscript(expr.arg, "^-1")

    def _exponent(self, e) -> str:
        return self._print(e) if e.is_Integer else self._wrap(e, ATOM)  # A^-2, A^(1/2)

    def _print_MatPow(self, expr):
        return self._superscript(expr.base, "^" + self._exponent(expr.exp))

    def _fraction_11(self, expr) -> str:
        numer, denom = scalar_parts(expr)
        top = self._product_11(numer, "*")
        if not denom:
            return top
        bottom = self._product_11(denom, "*")
        return "%s/%s" % (self._wrap(numer[0], MUL) if len(numer) == 1 else
                          (top if not numer else "(%s)" % top),
                          bottom if len(denom) == 1 and self._level(denom[0]) >= ATOM else "(%s)" % bottom)

    def _print_HadamardPower(self, expr):
        if is_11(expr):
            if expr.exp.is_negative:
                return self._fraction_11(expr)
            return self._superscript(expr.base, "^" + self._exponent(expr.exp))
        return self._superscript(expr.base, self._hpow + self._exponent(expr.exp))

    def _print_Pow(self, expr, rational=False):
        if not self._depends(expr):
            if expr.exp.is_Integer and expr.exp > 0 or expr.exp.is_Symbol:
                return self._superscript(expr.base, "^" + self._print(expr.exp))  # x^2, as A^2
            return super()._print_Pow(expr, rational)
        base, e = expr.as_base_exp()
        if e == sp.S.Half:
            return self._call("sqrt", base)
        if e.is_negative:
            return "1/%s" % self._wrap(base ** -e, ATOM)
        return self._superscript(base, self._hpow + self._exponent(e))

    # ------------------------------------------------------------------ functions

    def _print_Function(self, expr):
        display = getattr(expr, "display_name", None)
        if isinstance(display, str) and display:
            return self._call(display, *expr.args)
        if len(expr.args) == 1 and type(expr).__name__ in (
                "exp", "log", "tanh", "sinh", "cosh", "sin", "cos", "tan"):
            return self._call(type(expr).__name__, expr.args[0])
        return super()._print_Function(expr)

    _print_ExpBase = _print_log = _print_Function

    def _print_Max(self, expr):
        return self._call("max", *expr.args)

    def _print_Min(self, expr):
        return self._call("min", *expr.args)

    def _print_Derivative(self, expr):
        found = prime(expr)
        if found is None:
            return super()._print_Derivative(expr)
        f, k, u = found
        return self._call(f.__name__ + ("'" * k if k <= 3 else f"^({k})"), u)

    def _print_Subs(self, expr):
        return self._print_Derivative(expr) if prime(expr) else super()._print_Subs(expr)

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else None
        if h0 == 0:
            return self._call("step", expr.args[0])
        return super()._print_Function(expr)

    def _print_KroneckerDelta(self, expr):
        """1[i = j], as the LaTeX writes 𝟙[i = j] (δ_ij would read as an error signal)."""
        i, j = expr.args[:2]
        return "1[%s = %s]" % (self._print(i), self._print(j))

    def _print_Trace(self, expr):
        if expr.arg.shape == (1, 1):  # a 1 x 1 matrix used as a scalar: its entry, no "tr"
            bare = expr.arg.is_symbol or isinstance(expr.arg, (F._Reduction, F.Std))  # sum(X), norm2(x): calls
            return self._print(expr.arg) if bare else f"({self._print(expr.arg)})"
        return self._call("tr", expr.arg)

    def _print_Determinant(self, expr):
        return self._call("det", expr.arg)

    def _print_DiagMatrix(self, expr):
        if is_11(expr.args[0]):
            return self._print_11_unary(expr)
        return self._call("diag", expr.args[0])

    def _print__MatrixNode(self, expr):
        """sum(Z), norm2(x), softmax(z): the command line's words; sum and mean of a 1 x 1 a are a."""
        if isinstance(expr, (F.EntrySum, F.EntryMean)) and is_11(expr.arg):
            return self._print_11_unary(expr)
        if isinstance(expr, KEYWORDED):  # layer_norm(X, axis=1, eps=epsilon), softmax(S, axis=1, causal=True)
            return "%s(%s)" % (expr.display_name, ", ".join(
                [self._print(expr.arg)] + ["%s=%s" % (k, self._print(v) if k == "eps" else v)
                                           for k, v in node_keywords(expr)]))
        if getattr(expr, "axis", 0) == 1:  # softmax(Z, axis=1), logsumexp(Z, axis=1): along rows
            return "%s(%s, axis=1)" % (expr.display_name, self._print(expr.arg))
        return self._call(expr.display_name, expr.arg)

    def _print_BlockMatrix(self, expr):
        """[1; x] and [1, X]: blocks on one line, MATLAB-style (rows by ";")."""
        blocks = expr.blocks
        return "[%s]" % "; ".join(", ".join(self._print(blocks[i, j]) for j in range(blocks.cols))
                                  for i in range(blocks.rows))

    def _print_MatrixBase(self, expr):
        """An explicit matrix on one line, as the command line reads it: [1, 2*x1; x3, 3]."""
        return "[%s]" % "; ".join(", ".join(self._print(expr[i, j]) for j in range(expr.cols))
                                  for i in range(expr.rows))

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase

    def _print_Shift(self, expr):
        """S_j, the shift matrix of tap j of a convolution."""
        return "S_%d" % expr.tap + ("^(%s)" % expr.name if expr.name else "")


@limits.deep
def text(expr: Expr, ascii: bool = False) -> str:
    """Readable plain text of a SymPy expression (see the module docstring for the notation)."""
    return SymcalcStrPrinter({"ascii": ascii}).doprint(entry_of_11(expr))

