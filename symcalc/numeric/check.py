"""Numeric checks of derivatives: symcalc's symbolic result against central finite differences.

``check(expr, wrt)`` picks concrete sizes (distinct, so that a transposition bug cannot hide in a
square matrix), draws values that respect the expression's domain, evaluates ``symcalc.diff`` with
the generated NumPy code and compares it with ``numeric_derivative`` laid out as docs/layouts.md says.
The finite differences evaluate the *input* with the reference evaluator (``reference.py``), which
shares no rewrite with the engine or the code generator: a wrong rule cannot check itself.

The reusable pieces: ``size_symbols``, ``draw_sizes``, ``draw_values`` and ``numeric_derivative``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .. import dag, limits
from ..assumptions import Assumptions, draw, given as assuming
from ..errors import LayoutError, SymcalcError, UnsupportedError
from ..functions import ELEMENT, OneHot, Softmax, SymmetricMatrix, as_expression, is_matrix
from ..hints import Expr, Layout, Sizes, Variable
from ..shapes import positive_sizes
from .codegen import describe
from .lambdify import lambdify
from .reference import function as reference_function

__all__ = ["CheckReport", "check", "numeric_derivative", "size_symbols", "draw_sizes",
           "draw_values", "compare"]

EAF = ElementwiseApplyFunction
LAYOUTS = ("numerator", "denominator")


# --------------------------------------------------------------------------- finite differences

def numeric_derivative(f, x, layout="denominator", vec=False, eps=1e-6):
    """Central differences of ``f`` at ``x``, laid out as docs/layouts.md (``vec``: Magnus–Neudecker).

    ``x`` is a float (a scalar variable) or a 2-D array; ``f(x)`` returns a float or a 2-D array
    (a (1, 1) array counts as a scalar). Returns a float or an array:

    =====================  ======================  =====================
    f by x                 numerator               denominator
    =====================  ======================  =====================
    scalar by scalar       float                   float
    scalar by p x q        q x p                   p x q (vec: pq x 1)
    m x n by scalar        m x n                   n x m
    m x 1 by p x 1         m x p                   p x m
    m x n by p x q         (m, n, p, q)            (p, q, m, n)
    ... with vec=True      mn x pq                 pq x mn
    =====================  ======================  =====================
    """
    if layout not in LAYOUTS:
        raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")
    x_scalar = np.ndim(x) == 0
    X = np.array(x, dtype=float).reshape(1, 1) if x_scalar else np.array(x, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"x is a float or a 2-D array, got shape {X.shape}")

    def value(A):
        out = f(float(A[0, 0]) if x_scalar else A)
        return np.asarray(out, dtype=float).reshape(1, 1) if np.ndim(out) == 0 else \
            np.asarray(out, dtype=float)

    Y0 = value(X)
    if Y0.ndim != 2:
        raise ValueError(f"f returns a float or a 2-D array, got shape {Y0.shape}")
    m, n = Y0.shape
    p, q = X.shape
    T = np.empty((m, n, p, q))
    for k in range(p):
        for l in range(q):
            up, down = X.copy(), X.copy()
            up[k, l] += eps
            down[k, l] -= eps
            T[:, :, k, l] = (value(up) - value(down)) / (2 * eps)
    return arrange(T, y_scalar=(m, n) == (1, 1), x_scalar=x_scalar, layout=layout, vec=vec)


def arrange(T, y_scalar, x_scalar, layout, vec=False):
    """Lay out T[i, j, k, l] = ∂Y_ij/∂X_kl per docs/layouts.md (the same cases as ``symcalc.diff``)."""
    m, n, p, q = T.shape
    num = layout == "numerator"
    if x_scalar:
        if y_scalar:
            return float(T[0, 0, 0, 0])
        D = T[:, :, 0, 0]
        return D if num else D.T
    if y_scalar:
        G = T[0, 0]
        if vec and q != 1:
            v = G.reshape(-1, 1, order="F")
            return v.T if num else v
        return G.T if num else G
    if (n == 1 or m == 1) and q == 1:  # a column or a row by a column: vector by vector
        J = T[:, :, :, 0].reshape(m * n, p)
        return J if num else J.T
    if vec:
        J = T.transpose(1, 0, 3, 2).reshape(n * m, q * p)
        return J if num else J.T
    return T if num else T.transpose(2, 3, 0, 1)


def compare(actual, expected, tol=1e-5):
    """(ok, max_abs_error, max_rel_error, message). Errors are relative to the largest entry of
    the expected derivative, or absolute when that is below 1."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    if a.size == 1 and e.size == 1:
        a, e = a.reshape(()), e.reshape(())
    if a.shape != e.shape:
        return False, np.inf, np.inf, f"shape {a.shape} but finite differences give {e.shape}"
    if not np.all(np.isfinite(a)):
        return False, np.inf, np.inf, "the derivative evaluates to non-finite numbers"
    abs_err = float(np.max(np.abs(a - e))) if a.size else 0.0
    scale = max(1.0, float(np.max(np.abs(e))) if e.size else 0.0)
    rel = abs_err / scale
    return rel <= tol, abs_err, rel, ""


# --------------------------------------------------------------------------- sizes and values

def size_symbols(*exprs):
    """The symbols that are sizes of matrices in ``exprs``, sorted by name."""
    found = set()
    for e in exprs:
        e = sp.sympify(e)
        if is_matrix(e):
            for s in e.shape:
                found |= sp.sympify(s).free_symbols
        for node in _nodes(e):
            if isinstance(node, sp.MatrixExpr):
                for s in node.shape:
                    found |= sp.sympify(s).free_symbols
    return sorted(found, key=lambda s: s.name)


def draw_sizes(symbols, rng, low=2, high=5):
    """Distinct random sizes in [low, high] (widened when there are more symbols than values)."""
    symbols = list(symbols)
    pool = list(range(low, max(high, low + len(symbols) - 1) + 1))
    picks = rng.choice(pool, size=len(symbols), replace=False)
    return {s: int(v) for s, v in zip(symbols, picks)}


def _inverted_args(expr):
    """Arguments that get inverted or whose determinant is taken."""
    out = []
    for node in _nodes(expr):
        if isinstance(node, (sp.Inverse, sp.Determinant)):
            out.append(node.args[0])
        elif isinstance(node, sp.MatPow) and node.args[1].is_negative:
            out.append(node.args[0])
    return out


def _positive_by_probe(body) -> bool:
    """Is the scalar ``body`` (in ELEMENT) positive on a wide grid? (1 − σ(z) is; z is not.)"""
    Z = sp.MatrixSymbol("Z", 401, 1)
    try:
        g = lambdify([Z], EAF(sp.Lambda(ELEMENT, body), Z))
        with np.errstate(all="ignore"):
            v = np.asarray(g(np.linspace(-30, 30, 401).reshape(-1, 1)), dtype=float)
    except (SymcalcError, TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(v)) and np.all(v > 0))


def _nodes(expr):
    """Each distinct sub-expression once (shared sub-trees are not walked again)."""
    return {e for e in dag.postorder(sp.sympify(expr)) if isinstance(e, sp.Basic)}


def _needs_positive(expr):
    """Symbols that must be drawn positive because a log, sqrt or fractional power takes them."""
    out = set()
    for node in _nodes(expr):
        if isinstance(node, EAF):
            for inner in _nodes(node.function.expr):
                a = _domain_arg(inner)
                if a is not None and ELEMENT in a.free_symbols and \
                        not (a.is_positive or _positive_by_probe(a)) and \
                        not (a == ELEMENT and _positive_matrix(node.expr)):
                    out |= node.expr.free_symbols
        elif isinstance(node, sp.HadamardPower) and not node.exp.is_integer:
            out |= node.base.free_symbols
        else:
            a = _domain_arg(node)
            if a is None or ELEMENT in a.free_symbols or isinstance(a, sp.Determinant) \
                    or a.is_positive:
                continue
            out |= a.free_symbols
    return {s for s in out if isinstance(s, (sp.Symbol, sp.MatrixSymbol)) and s != ELEMENT}


def _positive_matrix(Z) -> bool:
    """Entries positive whatever the values: softmax, σ(·), exp(·), ..."""
    if isinstance(Z, Softmax):
        return type(Z).__name__ != "CausalSoftmax"  # a masked entry is 0
    if isinstance(Z, EAF):
        body = Z.function.expr
        return bool(body.is_positive) or _positive_by_probe(body)
    return False


def _domain_arg(node):
    """The argument of a scalar log or fractional power (they need it positive), else None."""
    if isinstance(node, sp.log):
        return node.args[0]
    if isinstance(node, sp.Pow) and not node.exp.is_integer:
        return node.base
    return None


def one_hot(rows, cols, axis, rng):
    """A random one-hot matrix: one 1 in each column (axis 0) or in each row (axis 1)."""
    v = np.zeros((rows, cols))
    if axis == 0:
        v[rng.integers(0, rows, size=cols), np.arange(cols)] = 1.0
    else:
        v[np.arange(rows), rng.integers(0, cols, size=rows)] = 1.0
    return v


def draw_values(symbols, sizes, rng, expr=None, facts=()):
    """Random values for ``symbols`` at ``sizes`` that respect the domain of ``expr`` and the
    assumptions ``facts`` (``symcalc.assumptions``: symmetric, positive definite, positive, ...).

    Inverted matrices and determinants: well conditioned with a positive determinant (symmetric
    positive definite when declared symmetric, otherwise deliberately not symmetric); arguments of
    log, sqrt and fractional powers: entries in (0.1, 0.9); ``OneHot``: one-hot columns;
    ``SymmetricMatrix``: symmetric; anything else: standard normal.
    """
    inverted = set()
    positive = set()
    if expr is not None:
        for a in _inverted_args(expr):
            inverted |= {a.arg if isinstance(a, sp.Transpose) else a}
        positive = _needs_positive(expr)
    values = {}
    for s in symbols:
        if not isinstance(s, sp.MatrixSymbol):
            values[s] = float(rng.uniform(0.1, 0.9)) if (s in positive or s.is_positive) \
                else float(rng.normal())
            continue
        r, c = (int(sp.sympify(d).subs(sizes)) for d in s.shape)
        limits.check_numeric(r, c, f"the value of {s.name}", "MAX_CHECK_VALUES")
        if isinstance(s, OneHot):
            v = one_hot(r, c, s.axis, rng)
        elif s in inverted and r == c:
            B = rng.normal(size=(r, r))
            v = B @ B.T / r + np.eye(r)
            if not isinstance(s, SymmetricMatrix):
                C = rng.normal(size=(r, r))
                v = v + 0.5 * (C - C.T)
        elif s in positive:
            v = rng.uniform(0.1, 0.9, size=(r, c))
        else:
            v = rng.normal(size=(r, c))
        if isinstance(s, SymmetricMatrix) and s not in inverted:
            v = (v + v.T) / 2
        values[s] = v
    return draw(symbols, values, rng, facts)


# --------------------------------------------------------------------------- the check

@dataclass
class CheckReport:
    """The outcome of a numeric check; ``bool(report)`` is ``report.ok``."""

    ok: bool
    max_rel_error: float
    max_abs_error: float
    sizes: dict
    seed: int
    layout: str
    vec: bool = False
    expected: object = field(default=None, repr=False)   # finite differences
    actual: object = field(default=None, repr=False)     # the symbolic derivative, evaluated
    expr: str = ""
    wrt: str = ""
    derivative: str = ""
    message: str = ""
    tolerance: float = 1e-5

    def __bool__(self):
        return self.ok

    def _repr_html_(self):
        """An HTML table for Jupyter (the printing side, loaded on first use)."""
        from ..printing.html import check_report_html
        return check_report_html(self)

    def __str__(self):
        verdict = "OK" if self.ok else "MISMATCH"
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items()) or "none"
        lines = [
            f"{verdict}: d({self.expr})/d({self.wrt}) in {self.layout} layout"
            + (" (vec form)" if self.vec else ""),
            f"  derivative: {self.derivative}",
            f"  sizes: {sizes}; seed {self.seed}",
            f"  max relative error {self.max_rel_error:.3g} (tolerance {self.tolerance:g}), "
            f"max absolute error {self.max_abs_error:.3g}",
        ]
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)


def _free(*exprs):
    """Matrix and scalar symbols that are values (not sizes), sorted by name."""
    sizes = set(size_symbols(*exprs))
    found = set()
    for e in exprs:
        e = sp.sympify(e)
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            found.add(e)
        for node in _nodes(e):
            if isinstance(node, sp.MatrixSymbol) or (isinstance(node, sp.Symbol) and node != ELEMENT
                                                     and not isinstance(node, sp.Dummy)):
                found.add(node)
    return sorted((s for s in found if s not in sizes), key=lambda s: s.name)


def _concrete(e, sizes):
    """``e`` at concrete sizes (xreplace: SymPy 1.14's subs misses sizes inside index sums)."""
    if not sizes:
        return e
    e = sp.sympify(e)
    return e.xreplace({m: type(m)(m.name, *[sp.sympify(s).xreplace(sizes) for s in m.shape],
                                  *([m.axis] if isinstance(m, OneHot) else []))
                       for m in e.atoms(sp.MatrixSymbol)}).xreplace(sizes)


def _needs_concrete(expr, wrt, vec):
    """Matrix-by-matrix without vec: an array, which exists only for concrete sizes."""
    if not is_matrix(expr) or not is_matrix(wrt) or vec:
        return False
    if tuple(expr.shape) == (1, 1):
        return False
    return not (1 in tuple(expr.shape) and wrt.shape[1] == 1)


@limits.deep
def check(expr: Expr, wrt: Variable, layout: Layout = "denominator", sizes: Sizes | None = None,
          seed: int = 0, vec: bool = False, *, derivative: Expr | None = None, eps: float = 1e-6,
          tol: float = 1e-5, attempts: int = 20, assumptions: Assumptions = None) -> CheckReport:
    """Compare ``symcalc.diff(expr, wrt, layout, vec)`` with central finite differences.

    ``sizes`` maps size symbols (or their names) to integers (default: distinct random sizes 2..5);
    ``seed`` makes sizes and values reproducible. ``derivative`` checks a given expression instead
    of symcalc's result (a claim). Draws whose values leave the domain (a singular inverse, a
    non-finite value) are redrawn, up to ``attempts`` times. Returns a ``CheckReport``; it is ok
    when the largest difference, relative to the largest entry of the finite-difference
    derivative (or absolute below 1), is at most ``tol``. ``assumptions`` (SymPy ``Q`` predicates,
    as for ``diff``; those of ``sp.assuming`` hold too) are used by the derivative and satisfied by
    the values drawn.
    """
    with assuming(assumptions) as fs:
        return _check(expr, wrt, layout, sizes, seed, vec, derivative, eps, tol, attempts, fs)


def _check(expr, wrt, layout, sizes, seed, vec, derivative, eps, tol, attempts, fs):
    if layout not in LAYOUTS:
        raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")
    expr, wrt = as_expression(expr), as_expression(wrt, "the variable")
    positive_sizes(sizes)
    if derivative is not None and isinstance(derivative, sp.MatrixBase):
        derivative = sp.ImmutableMatrix(derivative)
    rng = np.random.default_rng(seed)
    syms = size_symbols(expr, wrt, *([derivative] if derivative is not None else []))
    by_name = {s.name: s for s in syms}
    given = {by_name.get(s, s) if isinstance(s, str) else s: int(v) for s, v in (sizes or {}).items()}
    missing = [s for s in syms if s not in given]
    if sizes is not None and missing:
        raise SymcalcError(f"sizes has no value for {missing}")

    symbolic = None
    if derivative is None and not _needs_concrete(expr, wrt, vec):
        from ..diff import diff  # the engine; numeric is imported by it only lazily
        try:
            symbolic = diff(expr, wrt, layout=layout, vec=vec)
        except UnsupportedError:
            symbolic = None  # retried at concrete sizes below
    elif derivative is not None:
        symbolic = derivative

    last = "no draw succeeded"
    for _ in range(attempts):
        S = dict(given) if sizes is not None else draw_sizes(syms, rng)
        report = _attempt(expr, wrt, layout, vec, symbolic, S, rng, seed, eps, tol, fs)
        if isinstance(report, CheckReport):
            return report
        last = report
    raise SymcalcError(f"could not draw values in the domain of {describe(expr)} after {attempts} "
                       f"attempts: {last}")


def _attempt(expr, wrt, layout, vec, symbolic, S, rng, seed, eps, tol, fs=()):
    """One draw: a CheckReport, or a string saying why the draw is outside the domain."""
    if symbolic is None:
        from ..diff import diff
        e, w = _concrete(expr, S), _concrete(wrt, S)
        D = diff(e, w, layout=layout, vec=vec)
    else:
        e, w, D = expr, wrt, symbolic
    args = _free(e, w, D)
    if is_matrix(w):
        limits.check_numeric(*(sp.sympify(k).xreplace(S) for k in w.shape), f"the variable {w}",
                             "MAX_CHECK_ENTRIES")
    values = draw_values(args, S, rng, e, fs)
    for a in _inverted_args(e):
        try:
            A = reference_function(a, args)(*[values[s] for s in args])
        except SymcalcError:
            continue
        if not np.all(np.isfinite(A)) or np.linalg.cond(A) > 1e6:
            return f"the inverted matrix {describe(a)} is ill-conditioned at sizes {S}"
    F = reference_function(e, args)  # the input by its definition, not by the engine's rewrites

    def f(x):
        return F(*[x if s == w else values[s] for s in args])

    with np.errstate(all="ignore"):
        y0 = f(values[w])
        if not np.all(np.isfinite(y0)):
            return f"{describe(e)} is not finite at the drawn values"
        expected = numeric_derivative(f, values[w], layout=layout, vec=vec, eps=eps)
        actual = lambdify(args, D, structure=False)(*[values[s] for s in args])
    if not np.all(np.isfinite(expected)):
        return "finite differences are not finite at the drawn values"
    ok, abs_err, rel, msg = compare(actual, expected, tol)
    return CheckReport(ok=ok, max_rel_error=rel, max_abs_error=abs_err,
                       sizes={str(k): v for k, v in S.items()}, seed=seed, layout=layout,
                       vec=vec, expected=expected, actual=actual, expr=describe(expr, 200),
                       wrt=str(wrt), derivative=describe(D, 200), message=msg, tolerance=tol)
