r"""LaTeX in the notation of lecture notes (docs/latex-and-jupyter.md), as a SymPy ``LatexPrinter`` subclass.

One ``_print_<Class>`` method per node; sub-parts are always printed with ``self._print`` and
parenthesized by a small precedence ladder (``_level``), never by editing strings afterwards.

Choices a reader sees:

* vectors and matrices bold (``\mathbf{x}``, ``\boldsymbol{\theta}`` for Greek), scalars and
  1 x 1 symbols italic, entries italic (``A_{ij}``, ``x_{k}``);
* sums print positive terms first, so SymPy's ``-X*theta + y`` reads ``y - X theta``;
* an elementwise function prints as the function applied to the matrix: the Lambda's body with
  its variable standing for the argument (``\sigma(\mathbf{W} \mathbf{x} + \mathbf{b})``,
  ``\log \sigma(\mathbf{z})``); a product of two such factors is ``\odot``, a power ``^{\circ 2}``;
* ``\operatorname{sum}(\mathbf{Z})`` for the sum of all entries (it reads the same for vectors and
  matrices, where ``\mathbf{1}^{\top} \mathbf{Z} \mathbf{1}`` needs two different ones);
* parentheses are plain ``( )`` unless the inside is tall (a fraction, a sum, a matrix), then
  ``{\left( \right)}`` (the braces keep TeX from adding a space after function names).
"""
from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions import (
    Determinant, HadamardPower, HadamardProduct, Inverse, MatrixSymbol, Transpose,
)
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter, modifier_dict, translate

from .. import limits
from .. import functions as F
from ..convolution import Shift
from .common import (
    ATOM, MUL, POW, MatrixPrinting, bare_11, entry_of_11, hadamard_order, is_11, prime, scalar_parts,
)
from .common import keyworded_latex
from .common import shifts_read_back
from .document import escape_name, tex_problem
from ..hints import Expr
from .notation import DEFAULT, Notation

_ELEMENTARY = {  # SymPy functions printed as \name(arg) (SymPy prints exp as e^{x})
    "exp": r"\exp", "log": r"\log", "tanh": r"\tanh", "sinh": r"\sinh", "cosh": r"\cosh",
    "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
}
_TALL = (r"\frac", r"\dfrac", r"\sum", r"\prod", r"\int", r"\begin", r"\left", r"\sqrt")
_ONES = sp.Dummy("ones")  # stands for the ones matrix inside elementwise bodies


def _ends_with_superscript(s: str) -> bool:
    r"""Whether ``s`` ends in ``^{..}`` (maybe followed by ``_{..}``): another ``^`` would be a
    double superscript, so the base needs braces (``{\mathbf{W}^{[1]}}^{\top}``)."""
    end = len(s)
    while end > 0 and s[end - 1] == "}":
        depth, j = 0, end - 1
        while j >= 0:
            depth += {"}": 1, "{": -1}.get(s[j], 0)
            if depth == 0:
                break
            j -= 1
        if j > 0 and s[j - 1] == "^":
            return True
        if j > 0 and s[j - 1] == "_":
            end = j - 1
            continue
        return False
    return False


def _last_group(s: str) -> int:
    """Where the brace group that ends ``s`` opens (-1 when ``s`` does not end in one)."""
    if not s.endswith("}"):
        return -1
    depth = 0
    for j in range(len(s) - 1, -1, -1):
        depth += {"}": 1, "{": -1}.get(s[j], 0)
        if depth == 0:
            return j
    return -1


def _subscripted(base: str, index: str) -> str:
    r"""``base`` with the entry index ``index``: ``W_{1}`` and ``jk`` give ``W_{1,jk}``, as
    textbooks write an entry of a numbered matrix. (``{W_{1}}_{jk}`` is a double subscript to TeX
    when the base carries an accent, as ``\tilde{a}_{1}`` does.)"""
    j = _last_group(base)
    if j > 0 and base[j - 1] == "_":
        return "%s,%s}" % (base[:-1], index)
    if "_" in base or "^" in base:
        return "{%s}{}_{%s}" % (base, index)
    return "%s_{%s}" % (base, index)


class SymcalcLatexPrinter(MatrixPrinting, LatexPrinter):
    """SymPy's LaTeX printer with symcalc's notation; settings: ``notation`` (a Notation)."""

    _default_settings = {**LatexPrinter._default_settings, "notation": None}

    def __init__(self, settings=None):
        super().__init__(settings)
        self.notation: Notation = self._settings["notation"] or DEFAULT
        self._init_binding()

    def _paren(self, s: str) -> str:
        if any(t in s for t in _TALL):
            return r"{\left(%s\right)}" % s
        return "(%s)" % s

    def _arg(self, a) -> str:
        """A function's argument: no parentheses of its own (the call supplies them)."""
        return self._print(bare_11(a))

    def _call(self, name: str, *args) -> str:
        return name + self._paren(", ".join(self._arg(a) for a in args))

    def _symbol(self, name: str, bold: bool) -> str:
        """``W1`` -> ``\\mathbf{W}_{1}``, ``theta`` -> ``\\boldsymbol{\\theta}``, ``yhat`` -> ``\\hat{\\mathbf{y}}``."""
        mapped = self.notation.names.get(name)
        if mapped is not None:
            return mapped
        if tex_problem(name) is not None:  # a name is user text: set literally, never run
            return escape_name(name)
        base, supers, subs = split_super_sub(name)
        tex = _styled(base, bold)
        if supers:
            tex += "^{%s}" % " ".join(translate(s) for s in supers)
        if subs:
            tex += "_{%s}" % ",".join(translate(s) for s in subs)  # C1_2: C_{1,2}, not C_{12}
        return tex

    def _superscript(self, base, sup: str) -> str:
        s = self._print(base)
        if self._level(base) < ATOM:
            s = self._paren(s)
        elif _ends_with_superscript(s):
            s = "{%s}" % s
        return "%s^{%s}" % (s, sup)

    # ------------------------------------------------------------------ symbols

    def _print_Symbol(self, expr, style="plain"):
        if expr == _ONES:  # oriented like the matrix the elementwise body is applied to
            rows = {v.shape[0] == 1 and v.shape[1] != 1 for v in self._bound.values()}
            return r"\mathbf{1}^{%s}" % self.notation.transpose if rows == {True} else r"\mathbf{1}"
        if expr in self._bound:
            return self._print_bound(expr)
        mapped = self.notation.names.get(expr.name)
        if mapped is not None:
            return mapped
        if tex_problem(expr.name) is not None:
            return escape_name(expr.name)
        return super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr):
        scalar = expr.shape == (1, 1)
        return self._symbol(expr.name, bold=self.notation.bold and not scalar)

    def _print_MatrixSlice(self, expr):
        """A slice the notation names (W1[:, 1:] of an intercept layer: W_1), else NumPy's slicing."""
        mapped = self.notation.names.get(str(expr))
        if mapped is not None:
            return mapped
        return super()._print_MatrixSlice(expr)

    def _print_Identity(self, expr):
        if expr.shape == (1, 1):
            return "1"
        return r"\mathbf{I}" if self.notation.bold else "I"

    def _print_OneMatrix(self, expr):
        if expr.shape == (1, 1):
            return "1"
        one = r"\mathbf{1}" if self.notation.bold else "1"
        if expr.shape[0] == 1:  # a row of ones is the transpose of the ones vector
            return "%s^{%s}" % (one, self.notation.transpose)
        if expr.shape[1] == 1:
            return one
        return "%s %s^{%s}" % (one, one, self.notation.transpose)  # a matrix of ones: 11ᵀ, its shape visible

    def _print_ZeroMatrix(self, expr):
        return r"\mathbf{0}" if self.notation.bold else "0"

    def _print_MatrixElement(self, expr):
        parent = expr.parent
        if parent.shape == (1, 1):
            return self._print(parent)  # a 1 x 1 matrix used as a scalar
        named = isinstance(parent, MatrixSymbol)
        base = self._symbol(parent.name, bold=False) if named else self._paren(self._print(parent))
        if parent.shape[1] == 1:
            indices = [expr.i]
        elif parent.shape[0] == 1:
            indices = [expr.j]
        else:
            indices = [expr.i, expr.j]
        printed = [self._print(i) for i in indices]
        sep = "" if all(len(p) == 1 for p in printed) else ", "
        index = sep.join(printed)
        return _subscripted(base, index) if named else "%s_{%s}" % (base, index)

    def _print_Sum(self, expr):
        """``\\sum_{k} A_{ik} x_{k}`` when every index runs over a whole (symbolic) dimension,
        as the single-element method writes it; SymPy's 0-based limits otherwise."""
        if not all(low == 0 and high.free_symbols for _, low, high in expr.limits):
            return super()._print_Sum(expr)
        indices = ", ".join(self._print(i) for i, _, _ in expr.limits)
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = self._paren(body)
        return r"\sum_{%s} %s" % (indices, body)

    def _print_NDimArray(self, expr):
        """A 4-D derivative as a block matrix: block (i, j) holds the entries [i, j, k, l].
        Block rows are parted by a short empty row (SymPy stacks the blocks' brackets edge to
        edge; ``\\\\[6pt]`` cannot part rows taller than a strut, ``\\noalign`` is not in KaTeX)."""
        if expr.rank() != 4:
            return super()._print_NDimArray(expr)
        m, n, p, q = expr.shape

        def block(i, j):
            rows = (" & ".join(self._print(expr[i, j, k, l]) for l in range(q)) for k in range(p))
            return r"\begin{bmatrix}%s\end{bmatrix}" % r" \\ ".join(rows)

        outer = (" & ".join(block(i, j) for j in range(n)) for i in range(m))
        return r"\left[\begin{matrix}%s\end{matrix}\right]" % r" \\ \\[-8pt] ".join(outer)

    # ------------------------------------------------------------------ sums and products

    def _print_MatAdd(self, expr):
        return self._join_terms(expr.args)

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if self._depends(expr) and self.notation.bold:
            # a constant added to a matrix is a multiple of the ones matrix: 1 - σ(z) is 𝟏 - σ(z)
            terms = [t * _ONES if t.is_Number else t for t in terms]
        return self._join_terms(terms)

    def _print_MatMul(self, expr):
        coeff, matrices = expr.as_coeff_matrices()
        sign = ""
        if coeff.could_extract_minus_sign():
            sign, coeff = "-", -coeff
        parts = [] if coeff == 1 else [self._wrap(coeff, MUL)]
        matrices = shifts_read_back(matrices)
        # a 1 x 1 product or quotient among matrices is one factor: W^T (a (1 - a)) δ
        parts += [self._wrap(m, MUL + 1 if is_11(m) and isinstance(m, (HadamardProduct, HadamardPower))
                             else MUL) for m in matrices]
        return sign + " ".join(parts)

    def _print_Mul(self, expr):
        if not self._depends(expr):
            return super()._print_Mul(expr)
        # elementwise body: a product of matrix-valued factors is a Hadamard product
        numer, denom = sp.fraction(expr, exact=True)
        if denom != 1:
            return r"\frac{%s}{%s}" % (self._print(numer), self._print(denom))
        coeff, rest = expr.as_coeff_Mul()
        sign = ""
        if coeff.is_negative:
            sign, coeff = "-", -coeff
        factors = sp.Mul.make_args(rest)
        const = sp.Mul(coeff, *[f for f in factors if not self._depends(f)])
        # σ(z) ⊙ (1 - σ(z)): sums last, as σ' is written
        varying = sorted((f for f in factors if self._depends(f)), key=lambda f: f.is_Add)
        parts = [] if const == 1 else [self._wrap(const, MUL)]
        had = " %s " % self.notation.hadamard
        parts.append(had.join(self._factor(f, len(varying)) for f in varying))
        return sign + " ".join(parts)

    def _print_HadamardProduct(self, expr):
        if is_11(expr):
            return self._fraction_11(expr)
        had = " %s " % self.notation.hadamard
        quotient = self._hadamard_quotient(expr.args, had, " %s " % self.notation.division)
        if quotient is not None:
            return quotient
        return had.join(self._hadamard_factor(a) for a in hadamard_order(expr.args))

    def _print_KroneckerProduct(self, expr):
        return r" \otimes ".join(self._wrap(a, MUL + 1) for a in expr.args)

    # ------------------------------------------------------------------ powers

    def _print_Transpose(self, expr):
        if is_11(expr.arg):  # a number is its own transpose
            return self._print(expr.arg)
        if isinstance(expr.arg, Shift) and expr.arg.name:  # S_j^{(2)\top}, one superscript
            return self._print(expr.arg)[:-1] + r"\,%s}" % self.notation.transpose
        if isinstance(expr.arg, Inverse):
            return self._superscript(expr.arg.arg, "-" + self.notation.transpose)
        return self._superscript(expr.arg, self.notation.transpose)

    def _print_Inverse(self, expr):
        if isinstance(expr.arg, Transpose):
            return self._superscript(expr.arg.arg, "-" + self.notation.transpose)
        return self._superscript(expr.arg, "-1")

    def _print_MatPow(self, expr):
        return self._superscript(expr.base, self._print(expr.exp))

    def _exponent(self, e) -> str:
        """A number written inline (``1/2``, ``0.01``) for superscripts and subscripts."""
        if isinstance(e, sp.Rational) and not e.is_Integer:
            q = e.q
            while q % 10 == 0:
                q //= 10
            if q == 1:  # a decimal fraction reads better as a decimal
                return str(sp.Float(e, 15)).rstrip("0")
            return "%d/%d" % (e.p, e.q)
        return self._print(e)

    def _fraction_11(self, expr) -> str:
        numer, denom = scalar_parts(expr)
        top = self._product_11(numer, " ")
        if not denom:
            return top
        bottom = " ".join(self._wrap(f, MUL) if len(denom) > 1 else self._print(f) for f in denom)
        return r"\frac{%s}{%s}" % (top if len(numer) != 1 else self._print(numer[0]), bottom)

    def _print_HadamardPower(self, expr):
        if is_11(expr):
            if expr.exp.is_negative:
                return self._fraction_11(expr)
            return self._superscript(expr.base, self._exponent(expr.exp))
        return self._superscript(expr.base, r"\circ %s" % self._exponent(expr.exp))

    def _print_Pow(self, expr, exp=None):
        if not self._depends(expr):
            return super()._print_Pow(expr)
        base, e = expr.as_base_exp()
        if e == sp.S.Half:
            return r"\sqrt{%s}" % self._print(base)
        if e.is_negative:
            return r"\frac{1}{%s}" % self._print(base ** -e)
        return self._superscript(base, r"\circ %s" % self._exponent(e))

    # ------------------------------------------------------------------ functions

    def _print_Function(self, expr, exp=None):
        cls = type(expr)
        power = "" if exp is None else "^{%s}" % exp
        if isinstance(expr, (F.Step, F.Threshold)):
            relation = ">" if isinstance(expr, F.Step) else r"\geq"
            return r"%s[%s %s 0]%s" % (self.notation.indicator, self._arg(expr.args[0]), relation, power)
        latex_name = getattr(cls, "latex_name", None)
        if isinstance(latex_name, str) and latex_name:
            name = latex_name
            for k, a in enumerate(expr.args[1:], start=1):
                name = name.replace("{%d}" % k, self._exponent(a))
            return self._call(name, expr.args[0]) + power
        if isinstance(expr, AppliedUndef):  # sp.Function("sigma"): \sigma(z), as SymPy names it
            return self._call(self._hprint_Function(cls.__name__) + power, *expr.args)
        if cls.__name__ in _ELEMENTARY and len(expr.args) == 1:
            if cls is sp.exp and not self._depends(expr):
                return LatexPrinter._print_ExpBase(self, expr, exp)  # e^{x} for scalars
            name = _ELEMENTARY[cls.__name__] + power
            return self._call(name, expr.args[0])
        return super()._print_Function(expr, exp)

    def _print_Derivative(self, expr):
        found = prime(expr)
        if found is None:
            return super()._print_Derivative(expr)
        f, k, u = found
        marks = "'" * k if k <= 3 else "^{(%d)}" % k
        return self._call(self._hprint_Function(f.__name__) + marks, u)

    def _print_Subs(self, expr):
        return self._print_Derivative(expr) if prime(expr) else super()._print_Subs(expr)

    def _print_ExpBase(self, expr, exp=None):
        return self._print_Function(expr, exp)

    def _print_log(self, expr, exp=None):
        (arg,) = expr.args
        name = r"\log" + ("" if exp is None else "^{%s}" % exp)
        if isinstance(arg, Determinant) and self._level(arg.arg) == ATOM:
            return r"%s \det %s" % (name, self._print(arg.arg))
        if self._is_application(arg):
            return "%s %s" % (name, self._print(arg))
        return self._call(name, arg)

    def _print_tanh(self, expr, exp=None):
        return self._print_Function(expr, exp)

    _print_sin = _print_cos = _print_tan = _print_sinh = _print_cosh = _print_tanh

    def _print_Heaviside(self, expr, exp=None):
        x = self._arg(expr.args[0])
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        power = "" if exp is None else "^{%s}" % exp
        if h0 == 0:
            return r"%s[%s > 0]%s" % (self.notation.indicator, x, power)
        if h0 == 1:
            return r"%s[%s \geq 0]%s" % (self.notation.indicator, x, power)
        return self._call(r"\operatorname{H}", expr.args[0]) + power

    def _print_KroneckerDelta(self, expr, exp=None):
        """𝟙[i = j]: δ_ij would read as an error signal δ beside δ₁, Δ₂ in a derivation."""
        i, j = expr.args[:2]
        return r"%s[%s = %s]" % (self.notation.indicator, self._print(i), self._print(j))

    def _print_Max(self, expr, exp=None):
        name = r"\max" + ("" if exp is None else "^{%s}" % exp)
        return self._call(name, *expr.args)

    def _print_Min(self, expr, exp=None):
        name = r"\min" + ("" if exp is None else "^{%s}" % exp)
        return self._call(name, *expr.args)

    # ------------------------------------------------------------------ matrix functions

    def _print_Trace(self, expr):
        if expr.arg.shape == (1, 1):  # a 1 x 1 matrix used as a scalar: its entry, no "tr"
            bare = expr.arg.is_symbol or isinstance(expr.arg, (F.EntrySum, F.EntryMean, F.LogSumExp, F.Std))
            return self._print(expr.arg) if bare else r"\left(%s\right)" % self._print(expr.arg)
        return self._call(r"\operatorname{tr}", expr.arg)

    def _print_Determinant(self, expr):
        return self._call(r"\det", expr.arg)

    def _print_DiagMatrix(self, expr):
        if is_11(expr.args[0]):
            return self._print_11_unary(expr)
        return self._call(r"\operatorname{diag}", expr.args[0])

    def _print_EntrySum(self, expr):
        if is_11(expr.args[0]):
            return self._print_11_unary(expr)
        return self._call(r"\operatorname{sum}", expr.arg)

    def _print_EntryMean(self, expr):
        if is_11(expr.args[0]):
            return self._print_11_unary(expr)
        return self._call(r"\operatorname{mean}", expr.arg)

    def _print_LogSumExp(self, expr):
        columns = expr.axis == 0 and expr.arg.cols != 1  # one value per column of a matrix
        return self._call(r"\operatorname{logsumexp}" + _along(expr.axis, columns), expr.arg)

    def _print_Softmax(self, expr):
        return self._call(r"\operatorname{softmax}" + _along(expr.axis, False), expr.arg)

    def _print_LayerNorm(self, expr):
        """LN_row(X; ε): layer normalisation along each row (a sample), ε when it is not 0."""
        eps = self._print(expr.eps) if isinstance(expr, F._Normalising) else ""
        return keyworded_latex(expr, self._arg(expr.arg), eps, self._paren)

    _print_Std = _print_CausalSoftmax = _print_LayerNorm

    def _norm(self, arg, sub: str) -> str:
        inner = self._print(arg)
        if any(t in inner for t in _TALL):
            return r"\left\lVert %s \right\rVert_{%s}^{2}" % (inner, sub)
        return r"\lVert %s \rVert_{%s}^{2}" % (inner, sub)

    def _print_SquaredNorm(self, expr):
        return self._norm(expr.arg, "2")

    def _print_FrobeniusSquared(self, expr):
        return self._norm(expr.arg, "F")

    def _print_Shift(self, expr):
        """S_j, the shift matrix of tap j of a convolution (``symcalc.convolution``)."""
        named = "^{(%s)}" % self._print(sp.Symbol(expr.name)) if expr.name else ""
        return r"%s_{%d}%s" % (r"\mathbf{S}" if self.notation.bold else "S", expr.tap, named)


def _along(axis, columns) -> str:
    """The subscript of a node along the rows (axis 1), or along the columns where that is not the
    column vector's plain reading: softmax_row(Z), logsumexp_col(Z)."""
    if axis == 1:
        return r"_{\text{row}}"
    return r"_{\text{col}}" if columns else ""


def _styled(base: str, bold: bool) -> str:
    """The base of a name in bold (modifiers such as ``hat`` stay outside) or italic."""
    if not bold:
        return translate(base)
    for key in sorted(modifier_dict, key=len, reverse=True):
        if base.lower().endswith(key) and len(base) > len(key):
            return modifier_dict[key](_styled(base[: -len(key)], bold))
    tex = translate(base)
    if tex.startswith("\\"):
        return r"\boldsymbol{%s}" % tex
    return r"\mathbf{%s}" % tex


# ---------------------------------------------------------------------- public functions

@limits.deep
def latex(expr: Expr, notation: Notation | None = None) -> str:
    """LaTeX of a SymPy expression (matrix, scalar, or array) in symcalc's notation."""
    return SymcalcLatexPrinter({"notation": notation}).doprint(entry_of_11(expr))


def shape_latex(shape, notation: Notation | None = None) -> str:
    r"""``(d, 1)`` -> ``\in \mathbb{R}^{d \times 1}``; a 1 x 1 shape or ``()`` is ``\in \mathbb{R}``."""
    shape = tuple(sp.sympify(s, strict=True) for s in shape)
    if all(s == 1 for s in shape):
        return r"\in \mathbb{R}"
    printer = SymcalcLatexPrinter({"notation": notation})
    dims = [printer._wrap(s, MUL) for s in shape]
    return r"\in \mathbb{R}^{%s}" % r" \times ".join(dims)


def partial(numerator, denominator, notation: Notation | None = None) -> str:
    r"""``\frac{\partial L}{\partial \mathbf{W}}``; a string is taken as LaTeX already written."""
    printer = SymcalcLatexPrinter({"notation": notation})

    def side(e):
        return e if isinstance(e, str) else printer._wrap(e, POW)

    return r"\frac{\partial %s}{\partial %s}" % (side(numerator), side(denominator))
