"""An independent numeric oracle for matrix derivatives.

Nothing here imports symcalc's engine, lambdify or checks: an oracle that shares code with what it
checks cannot catch that code's bugs. Any expression (the input or a symcalc result) is made
explicit at concrete sizes -- every matrix becomes a grid of scalar SymPy expressions in one symbol
per input entry -- and compiled once with ``sympy.lambdify``. The input is differentiated by central
finite differences, and the Jacobian ``J[i, j, k, l] = dY_ij / dX_kl`` is laid out as DESIGN.md §2
says for the requested layout (or the Magnus–Neudecker ``vec`` form).

Values are drawn where the expression is defined: positive definite matrices under an inverse or a
determinant, positive entries under a log, square root or negative power, one-hot columns for
``OneHot`` symbols, symmetric matrices for ``SymmetricMatrix``.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalMatrix, DiagonalOf
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.matrices.expressions.kronecker import KroneckerProduct
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr
from sympy.printing.numpy import NumPyPrinter
from sympy.tensor.array import NDimArray

from symcalc import functions as F

# --------------------------------------------------------------------------- NumPy forms

#: NumPy implementations of symcalc's scalar function classes, written here (not read from the
#: classes' own ``numpy_template``) so that a wrong template cannot hide a wrong derivative.
NUMPY_FUNCTIONS = {
    "Sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),  # no overflow for large |x|
    "Step": lambda x: np.where(np.greater(x, 0), 1.0, 0.0),
    "Threshold": lambda x: np.where(np.greater_equal(x, 0), 1.0, 0.0),
    "ReLU": lambda x: np.maximum(x, 0.0),
    "LeakyReLU": lambda x, a: np.where(np.greater(x, 0), x, a * x),
    "Softplus": lambda x: np.logaddexp(0.0, x),
    # Derivatives are taken almost everywhere: a Dirac delta is zero wherever FD is defined.
    "DiracDelta": lambda x, *k: 0.0 * x,
}


# --------------------------------------------------------------------------- explicit form

def _as_scalar(v):
    """A 1 x 1 explicit matrix used where a scalar is expected (``exp(x.T*x)``)."""
    if isinstance(v, sp.MatrixBase):
        if v.shape != (1, 1):
            raise TypeError(f"a {v.shape} matrix used as a scalar")
        return v[0, 0]
    return v


def _matmul(a, b):
    """Explicit product, built unevaluated: SymPy's canonical ordering is slow and not needed."""
    if a.cols != b.rows:
        raise TypeError(f"oracle: cannot multiply {a.shape} by {b.shape}")
    return sp.ImmutableMatrix(a.rows, b.cols, lambda i, j: sp.Add(
        *[sp.Mul(a[i, k], b[k, j], evaluate=False) for k in range(a.cols)], evaluate=False))


def _kron(a, b):
    return sp.ImmutableMatrix(a.rows * b.rows, a.cols * b.cols,
                              lambda r, c: a[r // b.rows, c // b.cols] * b[r % b.rows, c % b.cols])


class InvEntry(sp.Function):
    """Entry (i, j) of the inverse of the k x k matrix whose row-major entries follow."""


class DetOf(sp.Function):
    """Determinant of the k x k matrix whose row-major entries follow."""


def _square(k, flat):
    return np.reshape(np.array([float(t) for t in flat]), (int(k), int(k)))


# Inverses and determinants stay opaque until NumPy evaluates them: symbolic adjugates of
# compound matrices (X^T A X) grow past what lambdify can print.
NUMPY_FUNCTIONS["InvEntry"] = lambda i, j, k, *flat: np.linalg.inv(_square(k, flat))[int(i), int(j)]
NUMPY_FUNCTIONS["DetOf"] = lambda k, *flat: np.linalg.det(_square(k, flat))


def _inverse(m):
    if m.rows != m.cols:
        raise TypeError(f"inverse of a non-square {m.shape} matrix")
    flat = list(m)
    return sp.ImmutableMatrix(m.rows, m.rows, lambda i, j: InvEntry(i, j, m.rows, *flat))


def _det(m):
    if m.rows != m.cols:
        raise TypeError(f"determinant of a non-square {m.shape} matrix")
    if m.rows == 1:
        return m[0, 0]
    return DetOf(m.rows, *list(m))


class Explicit:
    """Turn matrix and scalar expressions into explicit SymPy entries over entry symbols."""

    def __init__(self, table):
        self.table = table  # MatrixSymbol or Symbol -> explicit matrix or entry symbol
        self.memo = {}
        #: (symbol, scalar expression) in evaluation order: every converted node's entries are
        #: named once, so shared sub-expressions are computed once and nothing grows exponentially.
        self.bindings = []

    def __call__(self, e):
        try:
            return self.memo[e]
        except (KeyError, TypeError):
            pass
        out = self._bind(self._convert(e))
        try:
            self.memo[e] = out
        except TypeError:
            pass
        return out

    def _name(self, t):
        if not isinstance(t, sp.Basic) or t.is_Atom or isinstance(t, (sp.MatrixBase, sp.Lambda)):
            return t
        d = _entry_symbol("_oracle_t")
        self.bindings.append((d, t))
        return d

    def _bind(self, out):
        if isinstance(out, sp.MatrixBase):
            return sp.ImmutableMatrix(out.rows, out.cols, lambda i, j: self._name(out[i, j]))
        if isinstance(out, NDimArray):
            return out
        return self._name(out)

    def _matrix(self, e):
        v = self(e)
        if not isinstance(v, sp.MatrixBase):
            return sp.ImmutableMatrix([[v]])
        return v

    def _convert(self, e):  # noqa: C901 - one branch per node type, read top to bottom
        X = self._matrix
        if isinstance(e, sp.MatrixSymbol):
            if e not in self.table:
                raise KeyError(f"no value for the matrix symbol {e} (shape {e.shape})")
            return self.table[e]
        if isinstance(e, sp.Symbol):
            return self.table.get(e, e)
        if isinstance(e, (sp.MatrixBase,)):
            return sp.ImmutableMatrix(e.rows, e.cols, lambda i, j: _as_scalar(self(e[i, j])))
        if isinstance(e, NDimArray):
            return sp.ImmutableDenseNDimArray([_as_scalar(self(a)) for a in sp.flatten(e)], e.shape)
        if isinstance(e, (sp.Identity, sp.ZeroMatrix, sp.OneMatrix)):
            return sp.ImmutableMatrix(e.as_explicit())
        if isinstance(e, sp.MatMul):
            scalars = [_as_scalar(self(a)) for a in e.args if not a.is_Matrix]
            mats = [X(a) for a in e.args if a.is_Matrix]
            product = functools.reduce(lambda a, b: self._bind(_matmul(a, b)), mats)
            if not scalars:
                return product
            k = sp.Mul(*scalars)
            return product.applyfunc(lambda t: sp.Mul(k, t, evaluate=False))
        if isinstance(e, sp.MatAdd):
            terms = [X(a) for a in e.args]
            return sp.ImmutableMatrix(terms[0].rows, terms[0].cols, lambda i, j: sp.Add(
                *[t[i, j] for t in terms], evaluate=False))
        if isinstance(e, sp.Transpose):
            return X(e.arg).T
        if isinstance(e, sp.Adjoint):
            return X(e.arg).adjoint()
        if isinstance(e, sp.Inverse):
            return _inverse(X(e.arg))
        if isinstance(e, sp.MatPow):
            base, k = X(e.base), _as_scalar(self(e.exp))
            if base.shape == (1, 1):
                return sp.ImmutableMatrix([[base[0, 0] ** k]])
            if not k.is_Integer:
                raise TypeError(f"non-integer matrix power {e}")
            if k < 0:
                base, k = _inverse(base), -k
            return sp.ImmutableMatrix(base ** int(k)) if k else sp.ImmutableMatrix(sp.eye(base.rows))
        if isinstance(e, sp.Trace):
            return X(e.arg).trace()
        if isinstance(e, sp.Determinant):
            return _det(X(e.arg))
        if isinstance(e, HadamardProduct):
            return functools.reduce(lambda a, b: a.multiply_elementwise(b), [X(a) for a in e.args])
        if isinstance(e, HadamardPower):
            k = _as_scalar(self(e.exp))
            return X(e.base).applyfunc(lambda t: t ** k)
        if isinstance(e, KroneckerProduct):
            return functools.reduce(_kron, [X(a) for a in e.args])
        if isinstance(e, ElementwiseApplyFunction):
            f = e.function
            if isinstance(f, sp.Lambda):  # scalar symbols inside the body (an alpha) get values
                (var,) = f.variables
                body = f.expr.xreplace({s: self.table[s] for s in f.expr.free_symbols
                                        if s != var and s in self.table})
                f = sp.Lambda(var, body)
            return X(e.expr).applyfunc(lambda t: f(t))
        if isinstance(e, DiagMatrix):
            v = X(e.args[0])
            return sp.ImmutableMatrix(sp.diag(*list(v)))
        if isinstance(e, DiagonalMatrix):
            m = X(e.arg)
            return sp.ImmutableMatrix(m.rows, m.cols, lambda i, j: m[i, j] if i == j else 0)
        if isinstance(e, DiagonalOf):
            m = X(e.arg)
            return sp.ImmutableMatrix([m[i, i] for i in range(min(m.shape))])
        if isinstance(e, MatrixElement):
            i, j = int(e.i), int(e.j)
            return _as_scalar(X(e.parent)[i, j])
        if isinstance(e, sp.BlockMatrix):  # the blocks, explicit, laid edge to edge
            grid = e.blocks
            rows = [sp.Matrix.hstack(*[X(grid[i, j]) for j in range(grid.cols)]) for i in range(grid.rows)]
            return sp.ImmutableMatrix(sp.Matrix.vstack(*rows))
        if isinstance(e, sp.MatrixSlice):
            (r0, r1, rs), (c0, c1, cs) = e.rowslice, e.colslice
            return sp.ImmutableMatrix(X(e.parent)[int(r0):int(r1):int(rs), int(c0):int(c1):int(cs)])
        # symcalc's own matrix nodes, from their mathematical definitions
        if isinstance(e, (F.EntrySum, F.EntryMean, F.LogSumExp, F.SquaredNorm,
                          F.FrobeniusSquared, F.Softmax)) and not isinstance(e, F.CausalSoftmax):
            return self._symcalc_node(e, X(e.args[0]))
        if isinstance(e, sp.Sum):
            done = e.doit()
            if isinstance(done, sp.Sum):
                raise TypeError(f"cannot make {e} explicit (symbolic limits?)")
            return self(done)
        if isinstance(e, MatrixExpr):
            # Unknown matrix node (e.g. one the engine defines): trust its own ``_entry``.
            rebuilt = e.func(*[self(a) if a.is_Matrix else a for a in e.args])
            m = rebuilt.as_explicit()
            return sp.ImmutableMatrix(m.rows, m.cols, lambda i, j: _as_scalar(self(m[i, j])))
        if isinstance(e, sp.Lambda) or not e.args:
            return e
        if isinstance(e, sp.Piecewise):  # its (expression, condition) pairs are not expressions
            return sp.Piecewise(*[(_as_scalar(self(v)), c.func(*[_as_scalar(self(a)) for a in c.args])
                                   if c.args else c) for v, c in e.args])
        if isinstance(e, sp.Basic) and e.is_Matrix is not True:
            return e.func(*[_as_scalar(self(a)) for a in e.args])
        raise TypeError(f"the oracle cannot make {type(e).__name__} explicit: {e}")

    @staticmethod
    def _symcalc_node(e, z):
        entries = list(z)
        if isinstance(e, F.EntrySum):
            return sp.ImmutableMatrix([[sp.Add(*entries)]])
        if isinstance(e, F.EntryMean):
            return sp.ImmutableMatrix([[sp.Add(*entries) / len(entries)]])
        if isinstance(e, F.LogSumExp):  # of each column (axis 0) or each row (axis 1)
            lines = [z[:, c] for c in range(z.cols)] if e.axis == 0 else [z[r, :] for r in range(z.rows)]
            values = [sp.log(sp.Add(*[sp.exp(t) for t in line])) for line in lines]
            return sp.ImmutableMatrix([values] if e.axis == 0 else [[v] for v in values])
        if isinstance(e, (F.SquaredNorm, F.FrobeniusSquared)):
            return sp.ImmutableMatrix([[sp.Add(*[t ** 2 for t in entries])]])
        if e.axis == 1:  # Softmax, row by row
            rows = [sp.Add(*[sp.exp(z[r, c]) for c in range(z.cols)]) for r in range(z.rows)]
            return sp.ImmutableMatrix(z.rows, z.cols, lambda i, j: sp.exp(z[i, j]) / rows[i])
        # Softmax, column by column
        cols = [sp.Add(*[sp.exp(z[r, c]) for r in range(z.rows)]) for c in range(z.cols)]
        return sp.ImmutableMatrix(z.rows, z.cols, lambda i, j: sp.exp(z[i, j]) / cols[j])


# --------------------------------------------------------------------------- domains

#: Nodes whose value is positive whatever their argument: no domain constraint passes through.
_POSITIVE_NODES = (sp.exp, F.Sigmoid, F.Softplus, F.Softmax, F.SquaredNorm, F.FrobeniusSquared,
                   sp.Abs, sp.cosh)


def _positive_valued(e):
    if isinstance(e, _POSITIVE_NODES):
        return True
    if isinstance(e, ElementwiseApplyFunction) and isinstance(e.function, sp.Lambda):
        return bool(e.function.expr.is_positive)
    if isinstance(e, (sp.Pow, HadamardPower)):
        k = e.exp
        return k.is_Integer and k.is_even
    return False


def _needs_positive_body(body):
    """Does a scalar body need its (real) variable positive? log, sqrt, negative powers."""
    for sub in sp.preorder_traversal(body):
        if isinstance(sub, sp.log) and not sub.args[0].is_positive:
            return True
        if isinstance(sub, sp.Pow) and not sub.base.is_positive and sub.base.free_symbols:
            if not sub.exp.is_Integer or sub.exp.is_negative:
                return True
    return False


def _symbols_below(e, skip_positive=True):
    """Matrix and scalar symbols under e, not looking inside positive-valued nodes."""
    if skip_positive and _positive_valued(e):
        return set()
    if isinstance(e, (sp.MatrixSymbol, sp.Symbol)):
        return {e}
    if isinstance(e, sp.Lambda) or not isinstance(e, sp.Basic):
        return set()
    out = set()
    for a in e.args:
        out |= _symbols_below(a, skip_positive)
    return out


def infer_domains(expr):
    """{symbol: 'pd' | 'positive'} where the expression needs it."""
    dom = {}

    def mark(syms, kind):
        for s in syms:
            if isinstance(s, sp.Dummy):
                continue
            if kind == "pd":
                if isinstance(s, sp.MatrixSymbol) and s.rows == s.cols:
                    dom[s] = "pd"
            elif dom.get(s) != "pd":
                dom[s] = "positive"

    for sub in sp.preorder_traversal(expr):
        if isinstance(sub, sp.MatrixSymbol):
            continue
        if isinstance(sub, (sp.Inverse, sp.Determinant)) or (
                isinstance(sub, sp.MatPow) and not (sub.exp.is_Integer and sub.exp >= 0)):
            mark(_symbols_below(sub.args[0], skip_positive=False), "pd")
        elif isinstance(sub, sp.log):
            mark(_symbols_below(sub.args[0]), "positive")
            mark(_symbols_below(sub.args[0], skip_positive=False) & _pd_candidates(sub.args[0]), "pd")
        elif isinstance(sub, sp.Pow) and not (sub.exp.is_Integer and sub.exp >= 0):
            mark(_symbols_below(sub.base), "positive")
        elif isinstance(sub, HadamardPower) and not (sub.exp.is_Integer and sub.exp >= 0):
            mark(_symbols_below(sub.base), "positive")
        elif isinstance(sub, ElementwiseApplyFunction) and isinstance(sub.function, sp.Lambda):
            if _needs_positive_body(sub.function.expr):
                mark(_symbols_below(sub.expr), "positive")
        elif isinstance(sub, ElementwiseApplyFunction) and sub.function in (sp.log, sp.sqrt):
            mark(_symbols_below(sub.expr), "positive")
    return dom


def _pd_candidates(e):
    """Square symbols directly under a determinant inside a log: log det needs det > 0."""
    out = set()
    for sub in sp.preorder_traversal(e):
        if isinstance(sub, sp.Determinant):
            out |= {s for s in _symbols_below(sub.arg, False) if isinstance(s, sp.MatrixSymbol)}
    return out


def draw(sym, kind, rng):
    """A random value for one symbol of the given domain kind."""
    if isinstance(sym, sp.Symbol):
        v = rng.uniform(0.5, 1.5)
        positive = kind in ("positive", "pd") or sym.is_nonnegative
        return v if positive else v * rng.choice([-1.0, 1.0])
    r, c = int(sym.rows), int(sym.cols)
    if isinstance(sym, F.OneHot) and sym.axis == 1:  # one-hot rows
        v = np.zeros((r, c))
        v[np.arange(r), rng.integers(0, c, size=r)] = 1.0
        return v
    if isinstance(sym, F.OneHot) or kind == "onehot":
        v = np.zeros((r, c))
        v[rng.integers(0, r, size=c), np.arange(c)] = 1.0
        return v
    symmetric = isinstance(sym, F.SymmetricMatrix) or kind == "symmetric"
    if kind == "pd":
        a = rng.uniform(0.1, 1.0, size=(r, r))
        if symmetric:
            return a @ a.T / r + np.eye(r)
        # Not symmetric (a symmetric draw would hide X^-1 vs X^-T), positive entries, and by
        # Gershgorin every eigenvalue has a positive real part: invertible, det > 0.
        return a + r * np.eye(r)
    if kind == "positive":
        v = rng.uniform(0.5, 1.5, size=(r, c))
    else:
        v = rng.normal(size=(r, c))
    if symmetric:
        v = (v + v.T) / 2
    return v


# --------------------------------------------------------------------------- compile and evaluate

def _symbols_of(*exprs):
    out = set()
    for e in exprs:
        for sub in sp.preorder_traversal(e):
            if isinstance(sub, sp.MatrixSymbol):
                out.add(sub)
            elif isinstance(sub, sp.Symbol) and not isinstance(sub, sp.Dummy):
                out.add(sub)
    return out


_counter = itertools.count()


def _entry_symbol(prefix="_oracle_v"):
    """A fresh plain symbol with a Python-identifier name (lambdify then needs no renaming)."""
    return sp.Symbol(f"{prefix}{next(_counter)}")


#: Print without sorting the terms of every sum: the order does not matter for evaluation.
_PRINTER_SETTINGS = {"fully_qualified_modules": False, "inline": True,
                     "allow_unknown_functions": True, "user_functions": {}, "order": "none"}


class _Printer(NumPyPrinter):
    """NumPy printing with every sum, product and power fully parenthesised.

    The stock printer spends most of its time on precedence and term order, which only matter
    for reading; the oracle prints thousands of small let-bindings per expression.
    """

    def _print_Add(self, e):
        return "(" + " + ".join(self._print(a) for a in e.args) + ")"

    def _print_Mul(self, e):
        return "(" + "*".join(self._print(a) for a in e.args) + ")"

    def _print_Pow(self, e):
        return f"(({self._print(e.base)})**({self._print(e.exp)}))"

    def _print_Rational(self, e):
        return f"({e.p}/{e.q})"


@dataclass
class Point:
    """Concrete values for every symbol and the entry symbols that stand for them."""

    values: dict                       # symbol -> float or ndarray
    entries: dict = field(default_factory=dict)  # symbol -> explicit matrix / entry symbol
    order: list = field(default_factory=list)     # flat entry symbols, in order
    flat: np.ndarray | None = None

    @classmethod
    def build(cls, values):
        p = cls(values)
        flat = []
        for s in sorted(values, key=lambda s: s.name):
            v = values[s]
            if isinstance(s, sp.MatrixSymbol):
                syms = [[_entry_symbol() for j in range(v.shape[1])] for i in range(v.shape[0])]
                p.entries[s] = sp.ImmutableMatrix(syms)
                p.order += [t for row in syms for t in row]
                flat += list(np.asarray(v, dtype=float).ravel())
            else:
                d = _entry_symbol()
                p.entries[s] = d
                p.order.append(d)
                flat.append(float(v))
        p.flat = np.array(flat, dtype=float)
        return p

    def offset(self, sym):
        """Slice of the flat vector holding sym's entries (row-major)."""
        i = 0
        for s in sorted(self.values, key=lambda s: s.name):
            size = int(np.size(self.values[s]))
            if s == sym:
                return slice(i, i + size)
            i += size
        raise KeyError(sym)


def compile_expr(e, point):
    """A NumPy function of the flat value vector returning e's value as an array."""
    explicit = Explicit(point.entries)
    ex = explicit(e)
    if isinstance(ex, sp.MatrixBase):
        shape, items = ex.shape, list(ex)
    elif isinstance(ex, NDimArray):
        shape, items = ex.shape, list(sp.flatten(ex))
    else:
        shape, items = (), [ex]
    items = [_as_scalar(t) for t in items]
    bindings = list(explicit.bindings)
    fn = sp.lambdify([point.order], items, modules=[NUMPY_FUNCTIONS, "numpy"],
                     cse=lambda exprs: (bindings, exprs),
                     printer=_Printer(_PRINTER_SETTINGS))

    def f(flat):
        with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
            return np.asarray(fn(flat), dtype=float).reshape(shape)

    return f


def evaluate(e, point):
    return compile_expr(e, point)(point.flat)


def jacobian_fd(expr, wrt, point, h=1e-6, wide=False):
    """J[i, j, k, l] = d expr_ij / d wrt_kl by central differences (scalars as 1 x 1).

    ``wide``: the five-point stencil (error O(h^4)) with h = 1e-3, for inputs whose values lose
    digits (ill-conditioned inverses) where the narrow step drowns in rounding error.
    """
    f = compile_expr(expr, point)
    sl = point.offset(wrt)
    y0 = np.atleast_2d(f(point.flat))
    wshape = np.shape(point.values[wrt]) or (1, 1)
    J = np.zeros(y0.shape + tuple(wshape))
    h = 1e-3 if wide else h

    def at(k, delta):
        shifted = point.flat.copy()
        shifted[k] += delta
        return np.atleast_2d(f(shifted))

    for idx, k in enumerate(range(sl.start, sl.stop)):
        step = h * max(1.0, abs(point.flat[k]))
        d = (at(k, step) - at(k, -step)) / (2 * step)
        if wide:
            d2 = (at(k, 2 * step) - at(k, -2 * step)) / (4 * step)
            d = (4 * d - d2) / 3
        J[(...,) + np.unravel_index(idx, wshape)] = d
    return J


def _is_scalar_shape(e):
    return not getattr(e, "is_Matrix", False) or tuple(e.shape) == (1, 1)


def arrange(J, expr, wrt, layout="denominator", vec=False):
    """Lay J[i, j, k, l] out as DESIGN.md §2 says for this kind of derivative."""
    m, n, p, q = J.shape
    if vec:
        # vec stacks columns: vec(Y)[i + j m], vec(X)[k + l p]
        N = J.transpose(1, 0, 3, 2).reshape(m * n, p * q)
        return N if layout == "numerator" else N.T
    y_scalar, x_scalar = _is_scalar_shape(expr), _is_scalar_shape(wrt)
    if y_scalar and x_scalar:
        return J[0, 0, 0, 0]
    if y_scalar:
        G = J[0, 0]
        return G.T if layout == "numerator" else G
    if x_scalar:
        D = J[:, :, 0, 0]
        return D if layout == "numerator" else D.T
    if (n == 1 or m == 1) and q == 1:  # a column or a row by a column: vector by vector
        D = J[:, :, :, 0].reshape(m * n, p)
        return D if layout == "numerator" else D.T
    return J if layout == "numerator" else J.transpose(2, 3, 0, 1)


# --------------------------------------------------------------------------- the check

def concrete(e, sizes):
    """e at integer sizes (xreplace: ``subs`` misses shapes inside index sums)."""
    if not sizes or not isinstance(e, sp.Basic):
        return e
    return e.xreplace({sp.sympify(k): sp.sympify(v) for k, v in sizes.items()})


def make_point(expr, sizes=None, seed=0, domains=None, extra=()):
    """Draw values for every symbol of expr (and of extra expressions) at concrete sizes."""
    rng = np.random.default_rng(seed)
    ex = concrete(expr, sizes)
    dom = infer_domains(ex)
    for s, kind in (domains or {}).items():
        dom[concrete(s, sizes)] = kind
    syms = _symbols_of(ex, *[concrete(e, sizes) for e in extra])
    values = {s: draw(s, dom.get(s), rng) for s in sorted(syms, key=lambda s: s.name)}
    return Point.build(values)


def expected_derivative(expr, wrt, *, layout="denominator", vec=False, sizes=None, seed=0,
                        domains=None):
    """The finite-difference derivative in ``layout`` and the point it was taken at."""
    ex, w = concrete(expr, sizes), concrete(wrt, sizes)
    point = make_point(expr, sizes, seed, domains)
    return arrange(jacobian_fd(ex, w, point), ex, w, layout, vec), point


class Undecided(AssertionError):
    """The point is too ill-conditioned for finite differences to confirm or refute anything."""


@functools.lru_cache(maxsize=256)
def _fd(ex, w, seed, domains):
    """Point and finite-difference Jacobian of a concrete input (shared by both layouts)."""
    point = make_point(ex, None, seed, dict(domains), extra=(w,))
    return point, jacobian_fd(ex, w, point)


@functools.lru_cache(maxsize=256)
def _value_scale(ex, w, seed, domains):
    """max(1, |f|) at the point: rounding in finite differences is relative to f, not to f'."""
    point, _ = _fd(ex, w, seed, domains)
    return max(1.0, float(np.max(np.abs(evaluate(ex, point)))))


@functools.lru_cache(maxsize=64)
def _fd_wide(ex, w, seed, domains):
    point, _ = _fd(ex, w, seed, domains)
    return jacobian_fd(ex, w, point, wide=True)


def check(result, expr, wrt, *, layout="denominator", vec=False, sizes=None, seed=0,
          domains=None, rtol=1e-5, atol=1e-6):
    """Assert that ``result`` is d expr / d wrt in ``layout`` at random values; return the arrays.

    ``sizes`` maps size symbols to integers. Fails (AssertionError) with both arrays shown when
    the shapes or any entry differ.
    """
    ex, w, res = concrete(expr, sizes), concrete(wrt, sizes), concrete(result, sizes)
    doms = tuple(sorted(((concrete(s, sizes), k) for s, k in (domains or {}).items()),
                        key=lambda sk: str(sk[0])))
    point, J = _fd(ex, w, seed, doms)
    want = arrange(J, ex, w, layout, vec)
    got = evaluate(res, point)
    if np.ndim(want) == 0 and np.shape(got) == (1, 1):
        got = got[0, 0]
    where = f"d/d{wrt} of {expr} [{layout}{', vec' if vec else ''}] at sizes {sizes}, seed {seed}"
    assert np.shape(got) == np.shape(want), (
        f"shape: expected {np.shape(want)}, got {np.shape(got)} for {where}; result {result}")
    assert np.all(np.isfinite(want)), f"oracle: input not finite at the drawn point for {where}"
    # entries are compared relative to the derivative's own size, plus what rounding in the
    # differences of f can explain (about 1e-10 |f| for the narrow step)
    scale = float(np.max(np.abs(want))) if np.size(want) else 0.0
    tol = atol * scale + 1e-9 * _value_scale(ex, w, seed, doms)
    ok = np.allclose(got, want, rtol=rtol, atol=tol)
    if not ok:
        # A second opinion from the wide stencil. Where the two estimates disagree, f loses
        # digits at this point (an ill-conditioned inverse) and finite differences cannot say
        # more than their disagreement: that is added to the tolerance, and reported.
        narrow = want
        want = arrange(_fd_wide(ex, w, seed, doms), ex, w, layout, vec)
        disagreement = float(np.max(np.abs(narrow - want)))
        if disagreement > 1e-2 * max(scale, float(np.max(np.abs(want)))):
            raise Undecided(f"finite differences disagree with each other by {disagreement:.1e} "
                            f"for {where}: f varies too fast at this point to check anything")
        tol += disagreement
        ok = np.allclose(got, want, rtol=rtol, atol=tol)
    assert ok, (f"value mismatch (tolerance {tol:.1e}) for {where}\nresult: {result}\n"
                f"expected (finite differences):\n"
                f"{np.round(want, 6)}\ngot:\n{np.round(got, 6)}")
    return got, want
