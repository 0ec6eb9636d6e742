"""The reference evaluator: a SymPy (matrix) expression at concrete values, by its definition.

The numeric checks (``sc.check``, ``sc.verify``, ``Derivation.check``) compare a derivative with
finite differences of the *input*. If the input were evaluated through the engine's rewrites (index
sums to matrix form, canonical elementwise functions, simplification) or through the generated
code that shares them, a wrong rewrite would agree with itself. So this module evaluates every
node by what it means, with NumPy, and imports nothing from the engine or the code generator:

* ``Sum`` loops over its index range (SymPy's convention for an empty or reversed range);
* ``M[i, j]`` indexes the evaluated M; ``A B`` is ``@``; ``A ⊙ B`` is ``*``; ``tr``, ``det``, inverses
  and powers are NumPy's;
* an entrywise function evaluates its scalar body with the variable bound to the whole array: every
  scalar operation (+, ×, powers, exp, max, a Piecewise) is entrywise on arrays;
* symcalc's reductions, softmax and scalar functions by their formulas, written here again (not
  read from the classes' NumPy templates).

Each distinct node is evaluated once per call (shared sub-expressions cost once), in one pass over
a children-first order computed when the function is built, so deep expressions need no recursion.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.functions.elementary.miscellaneous import MinMaxBase
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalMatrix, DiagonalOf
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.tensor.array import NDimArray

from .. import functions as F
from .. import limits
from ..convolution import Shift
from ..errors import ShapeError, SymcalcError, UnsupportedError
from ..functions import as_expression

__all__ = ["evaluate", "function"]


def _is_matrix(e) -> bool:
    return getattr(e, "is_Matrix", False)


# --------------------------------------------------------------------------- scalar functions

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


#: NumPy forms of scalar function classes, by class name.
FUNCTIONS = {
    "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "sinh": np.sinh, "cosh": np.cosh, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "Abs": np.abs, "sign": np.sign,
    "floor": np.floor, "ceiling": np.ceil,
    "re": lambda x: x, "im": lambda x: 0.0 * x,           # the values are real
    "DiracDelta": lambda x, *k: 0.0 * x,                  # derivatives a.e.: zero where FD is defined
    "Heaviside": lambda x, h0=0.5: np.where(x > 0, 1.0, np.where(x < 0, 0.0, h0)),
    "Max": lambda *a: _fold(np.maximum, a), "Min": lambda *a: _fold(np.minimum, a),
    "KroneckerDelta": lambda i, j, *r: np.where(np.equal(i, j), 1.0, 0.0),
    # symcalc's scalar functions, by their definitions
    "Sigmoid": _sigmoid,
    "Step": lambda x: np.where(x > 0, 1.0, 0.0),
    "Threshold": lambda x: np.where(x >= 0, 1.0, 0.0),
    "ReLU": lambda x: np.where(x > 0, x, 0.0 * x),
    "LeakyReLU": lambda x, a: np.where(x > 0, x, a * x),
    "Softplus": lambda x: np.logaddexp(0.0, x),
}

_RELATIONS = {"StrictLessThan": np.less, "LessThan": np.less_equal, "StrictGreaterThan": np.greater,
              "GreaterThan": np.greater_equal, "Equality": np.equal, "Unequality": np.not_equal}


def _fold(f, args):
    out = args[0]
    for a in args[1:]:
        out = f(out, a)
    return out


# --------------------------------------------------------------------------- the evaluator

class _Plan:
    """One expression, ready to be evaluated many times (finite differences call it often)."""

    def __init__(self, expr, sizes=None):
        self.expr = expr
        self.sizes = {sp.sympify(k) if not isinstance(k, str) else sp.Symbol(k): int(v)
                      for k, v in (sizes or {}).items()}
        self.sizes_by_name = {getattr(k, "name", str(k)): v for k, v in self.sizes.items()}
        self._symbols: dict = {}
        self.order = self.order_of(expr)

    def order_of(self, root, known=()):
        """Distinct nodes, children first; the insides of sums and entrywise bodies are evaluated
        with their bound variables, so they are not in the order (nor are ``known`` nodes)."""
        order, seen, stack = [], set(), [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen or node in known or not isinstance(node, sp.Basic):
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node))
        return order

    def symbols(self, node):
        """The Symbols in ``node`` (memoised per node: a DAG is walked once)."""
        if node in self._symbols:
            return self._symbols[node]
        stack, post = [node], []
        while stack:
            e = stack.pop()
            if e in self._symbols or not isinstance(e, sp.Basic):
                continue
            post.append(e)
            stack.extend(e.args)
        for e in reversed(post):
            if isinstance(e, sp.Symbol):
                out = frozenset((e,))
            else:
                out = frozenset().union(*(self._symbols.get(a, frozenset()) for a in e.args
                                          if isinstance(a, sp.Basic)))
            self._symbols[e] = out
        return self._symbols[node]

    # ---- running
    def run(self, values):
        memo = {}
        state = _State(self, values, memo)
        for node in self.order:
            memo[node] = state.node(node, {})
        return _result(memo[self.expr], self.expr)


def _children(node):
    """The sub-expressions evaluated before ``node`` without bound variables."""
    if isinstance(node, ElementwiseApplyFunction):
        return [node.expr]
    if isinstance(node, (sp.Sum, sp.Lambda, sp.Piecewise)) or not isinstance(node, sp.Basic):
        return []
    if isinstance(node, (sp.MatrixSymbol, sp.Symbol)) or node.is_Atom:
        return []
    if isinstance(node, MatrixElement):
        return [node.parent]
    if isinstance(node, sp.BlockMatrix):
        return list(node.blocks)
    if isinstance(node, sp.MatrixSlice):
        return [node.parent]
    if isinstance(node, sp.MatrixBase):
        return list(node)
    if isinstance(node, NDimArray):
        return list(sp.flatten(node.tolist())) if len(node) else []
    if isinstance(node, Shift):  # its sizes are read when it is built; its name has no value
        return []
    return [a for a in node.args if isinstance(a, sp.Basic)]


def _result(v, expr):
    if _is_matrix(expr) or isinstance(expr, NDimArray):
        return np.asarray(v, dtype=float)
    v = np.asarray(v, dtype=float)
    return float(v) if v.ndim == 0 else v


class _State:
    """One evaluation: the values of the inputs and the memo of evaluated nodes."""

    def __init__(self, plan, values, memo):
        self.plan = plan
        self.memo = memo
        self.values = dict(values)
        self.by_name = {k.name: v for k, v in values.items() if isinstance(k, sp.MatrixSymbol)}
        self.sizes = dict(plan.sizes)
        for k, v in values.items():  # sizes that the values' shapes fix: n from X (n x d)
            if isinstance(k, sp.MatrixSymbol):
                for s, size in zip(k.shape, np.shape(v)):
                    if isinstance(s, sp.Symbol) and s not in self.sizes:
                        self.sizes[s] = int(size)

    # ---- values of nodes
    def value(self, node, env):
        """``node`` evaluated with the bound variables ``env`` ({Symbol: int or array})."""
        if node in self.memo:
            return self.memo[node]
        if env and self.plan.symbols(node) & env.keys():
            return self.node(node, env)
        for sub in self.plan.order_of(node, self.memo):  # children first: no deep recursion
            self.memo[sub] = self.node(sub, {})
        return self.memo[node]

    def scalar(self, node, env):
        """A scalar operand: a 1 x 1 matrix used as a scalar is its entry."""
        v = self.value(node, env)
        if _is_matrix(node):
            v = np.asarray(v)
            if v.shape != (1, 1):
                raise ShapeError(f"the {v.shape[0]} x {v.shape[1]} matrix {node} is used as a scalar")
            return v[0, 0]
        return v

    def size(self, s):
        s = sp.sympify(s)
        if s.is_Integer:
            return int(s)
        v = self.scalar(s, {})
        if np.ndim(v) or float(v) != int(v):
            raise ShapeError(f"the size {s} is {v}, not an integer")
        return int(v)

    def node(self, e, env):
        method = _DISPATCH.get(type(e))
        if method is None:
            for cls in type(e).__mro__:
                if cls in _DISPATCH:
                    method = _DISPATCH[cls]
                    break
        if method is None:
            raise UnsupportedError(f"the reference evaluator has no meaning for {type(e).__name__} "
                                   f"(in {e})")
        return method(self, e, env)

    # ---- leaves
    def symbol(self, e, env):
        if e in env:
            return env[e]
        if e in self.values:
            return self.values[e]
        if e in self.sizes:
            return self.sizes[e]
        if e.name in self.plan.sizes_by_name and not isinstance(e, sp.Dummy):
            return self.plan.sizes_by_name[e.name]
        raise SymcalcError(f"no value for the symbol {e}")

    def matrix_symbol(self, e, env):
        if e in self.values:
            v = self.values[e]
        elif e.name in self.by_name:
            v = self.by_name[e.name]
        else:
            raise SymcalcError(f"no value for the matrix {e} ({e.rows} x {e.cols})")
        v = np.asarray(v, dtype=float)
        want = tuple(sp.sympify(s) for s in e.shape)
        if v.ndim != 2 or any(w.is_Integer and int(w) != k for w, k in zip(want, v.shape)):
            raise ShapeError(f"the value of {e} has shape {v.shape}, but {e} is "
                             f"{e.rows} x {e.cols}")
        return v

    def number(self, e, env):
        if e.is_real is False:
            raise UnsupportedError(f"the complex number {e} has no real value")
        return float(e)

    def identity(self, e, env):
        return np.eye(*self.shape(e))

    def zeros(self, e, env):
        return np.zeros(self.shape(e))

    def ones(self, e, env):
        return np.ones(self.shape(e))

    def shape(self, e, rows=None, cols=None):
        """The concrete shape of e (or rows x cols), within limits.MAX_CHECK_VALUES entries."""
        r = self.size(e.rows) if rows is None else rows
        c = self.size(e.cols) if cols is None else cols
        limits.check_numeric(r, c, lambda: f"the value of {e}", "MAX_CHECK_VALUES")
        return r, c

    # ---- matrix algebra
    def matadd(self, e, env):
        return _fold(np.add, [np.asarray(self.value(a, env)) for a in e.args])

    def matmul(self, e, env):
        c, out = 1.0, None
        for a in e.args:
            if _is_matrix(a):
                v = np.asarray(self.value(a, env), dtype=float)
                if out is None:
                    out = v
                elif out.shape == (1, 1) and v.shape[0] != 1:
                    out = out[0, 0] * v   # a 1 x 1 factor scaling a matrix
                elif v.shape == (1, 1) and out.shape[1] != 1:
                    out = out * v[0, 0]
                else:
                    self.shape(e, out.shape[0], v.shape[1])  # x xᵀ of a long x is n²
                    out = out @ v
            else:
                c = c * self.value(a, env)
        return c * out

    def hadamard(self, e, env):
        return _fold(np.multiply, [np.asarray(self.value(a, env), dtype=float) for a in e.args])

    def hadamard_power(self, e, env):
        base = np.asarray(self.value(e.base, env), dtype=float)
        return np.power(base, self.scalar(e.exp, env))

    def transpose(self, e, env):
        return np.asarray(self.value(e.arg, env)).T

    def inverse(self, e, env):
        return np.linalg.inv(self.value(e.arg, env))

    def matpow(self, e, env):
        base, k = self.value(e.base, env), self.scalar(e.exp, env)
        if np.shape(base) == (1, 1):
            return np.power(base, k)
        if float(k) != int(k):
            raise UnsupportedError(f"the matrix power {e} has the non-integer exponent {e.exp}")
        return np.linalg.matrix_power(base, int(k))

    def kronecker(self, e, env):
        values = [np.asarray(self.value(a, env)) for a in e.args]
        self.shape(e, int(np.prod([v.shape[0] for v in values])), int(np.prod([v.shape[1] for v in values])))
        return _fold(np.kron, values)

    def diag_matrix(self, e, env):
        v = np.asarray(self.value(e.args[0], env))
        self.shape(e, v.size, v.size)
        return np.diagflat(v)

    def diagonal_matrix(self, e, env):
        return np.diag(np.diagonal(self.value(e.args[0], env)))

    def diagonal_of(self, e, env):
        return np.diagonal(self.value(e.args[0], env)).reshape(-1, 1)

    def trace(self, e, env):
        return np.trace(self.value(e.arg, env))

    def determinant(self, e, env):
        return np.linalg.det(self.value(e.arg, env))

    def element(self, e, env):
        M = np.asarray(self.value(e.parent, env))
        i, j = (self.scalar(k, env) for k in (e.i, e.j))
        for k, size, what in ((i, M.shape[0], "row"), (j, M.shape[1], "column")):
            if np.ndim(k) or float(k) != int(k) or not 0 <= int(k) < size:
                raise ShapeError(f"the {what} index {k} of {e} is outside 0..{size - 1}")
        return M[int(i), int(j)]

    def explicit(self, e, env):
        return np.array([[self.scalar(e[i, j], env) for j in range(e.cols)] for i in range(e.rows)],
                        dtype=float)

    def array(self, e, env):
        flat = [self.scalar(x, env) for x in sp.flatten(e.tolist())] if len(e) else []
        return np.array(flat, dtype=float).reshape(tuple(int(k) for k in e.shape))

    def elementwise(self, e, env):
        Z = np.asarray(self.value(e.expr, env), dtype=float)
        lam = e.function
        if not isinstance(lam, sp.Lambda):  # Z.applyfunc(sp.exp) before canonicalisation
            return np.asarray(FUNCTIONS[_function_name(lam)](Z), dtype=float)
        (var,) = lam.variables
        out = self.value(lam.expr, {**env, var: Z})
        return np.broadcast_to(np.asarray(out, dtype=float), Z.shape).copy()

    # ---- symcalc's nodes
    def entry_sum(self, e, env):
        return np.array([[np.sum(self.value(e.arg, env))]])

    def entry_mean(self, e, env):
        return np.array([[np.mean(self.value(e.arg, env))]])

    def logsumexp(self, e, env):
        """log Σ exp down each column (axis 0: 1 x cols) or along each row (axis 1: rows x 1)."""
        z = np.asarray(self.value(e.arg, env), dtype=float)
        top = np.max(z, axis=e.axis, keepdims=True)
        return top + np.log(np.sum(np.exp(z - top), axis=e.axis, keepdims=True))

    def squared_norm(self, e, env):
        return np.array([[np.sum(np.square(self.value(e.arg, env)))]])

    def softmax(self, e, env):
        z = np.asarray(self.value(e.arg, env), dtype=float)
        ez = np.exp(z - np.max(z, axis=e.axis, keepdims=True))
        return ez / np.sum(ez, axis=e.axis, keepdims=True)

    def causal_softmax(self, e, env):
        """Softmax over the kept entries: j ≤ i along row i (axis 1), i ≤ j down column j (axis 0)."""
        z = np.asarray(self.value(e.arg, env), dtype=float)
        rows, cols = np.indices(z.shape)
        kept = cols <= rows if e.axis == 1 else rows <= cols
        out = np.zeros_like(z)
        for k in range(z.shape[0] if e.axis == 1 else z.shape[1]):
            line = (k, slice(None)) if e.axis == 1 else (slice(None), k)
            zk, keep = z[line], kept[line]
            ez = np.exp(zk[keep] - np.max(zk[keep]))
            out[line][keep] = ez / np.sum(ez)
        return out

    def _moments(self, e, env):
        """Each sample's features (a row for axis 1, a column for axis 0), their mean and √(σ² + ε)."""
        z = np.asarray(self.value(e.arg, env), dtype=float)
        mu = np.mean(z, axis=e.axis, keepdims=True)
        var = np.mean((z - mu) ** 2, axis=e.axis, keepdims=True)
        return z, mu, np.sqrt(var + self.scalar(e.eps, env))

    def std(self, e, env):
        return self._moments(e, env)[2]

    def layer_norm(self, e, env):
        z, mu, s = self._moments(e, env)
        return (z - mu) / s

    def block(self, e, env):
        return np.block([[np.asarray(self.value(b, env), dtype=float) for b in row]
                         for row in e.blocks.tolist()])

    def slice(self, e, env):
        M = np.asarray(self.value(e.parent, env), dtype=float)
        (r0, r1, rs), (c0, c1, cs) = ((int(self.scalar(k, env)) for k in t) for t in (e.rowslice, e.colslice))
        return M[r0:r1:rs, c0:c1:cs]

    def shift(self, e, env):
        """The shift matrix of tap j of a convolution by its definition: row i (from 0) has its 1
        in column s·i + j − 1 − p, the input row z_{i−ℓ+j−1} that tap j reads (none in the padding);
        T_out = ⌊(T + 2p − k)/s⌋ + 1 rows."""
        T, k, j, s, p = (self.size(a) for a in e.args[:5])
        rows = (T + 2 * p - k) // s + 1
        if rows != self.size(e.rows):
            raise ShapeError(f"{e} has {e.rows} rows, but a convolution of {T} rows has {rows}")
        M = np.zeros(self.shape(e, rows, T))
        for i in range(rows):
            t = s * i + j - 1 - p
            if 0 <= t < T:
                M[i, t] = 1.0
        return M

    # ---- scalars
    def add(self, e, env):
        return _fold(np.add, [self.scalar(a, env) for a in e.args])

    def mul(self, e, env):
        return _fold(np.multiply, [self.scalar(a, env) for a in e.args])

    def pow(self, e, env):
        base, p = self.scalar(e.base, env), self.scalar(e.exp, env)
        return np.power(np.asarray(base, dtype=float), p)

    def function(self, e, env):
        name = _function_name(type(e))
        f = FUNCTIONS.get(name)
        if f is None and isinstance(e, AppliedUndef):
            raise UnsupportedError(
                f"{e.func} in {e} is an undefined function, which has no numbers; to evaluate, give "
                f"it a body: expr.replace({e.func}, sp.Lambda(u, sp.tanh(u))) (then .doit() its "
                "derivatives)")
        if f is None:
            raise UnsupportedError(
                f"no numeric value for the function {name} in {e}; the numeric checks evaluate "
                "exp, log, sqrt, powers, sin, cos, tan, tanh, Abs, Max, Min, Heaviside, Piecewise "
                "and symcalc's sigmoid, step, relu, leaky_relu, softplus")
        return f(*[self.scalar(a, env) for a in e.args])

    def piecewise(self, e, env):
        conds = [np.asarray(self.scalar(c, env), dtype=bool) for _, c in e.args]
        vals = [self.scalar(x, env) for x, _ in e.args]
        return np.select(conds, vals, default=np.nan)

    def relation(self, e, env):
        return _RELATIONS[type(e).__name__](self.scalar(e.lhs, env), self.scalar(e.rhs, env))

    def boolean(self, e, env):
        if e is sp.true:
            return True
        if e is sp.false:
            return False
        parts = [np.asarray(self.scalar(a, env), dtype=bool) for a in e.args]
        name = type(e).__name__
        if name == "And":
            return _fold(np.logical_and, parts)
        if name == "Or":
            return _fold(np.logical_or, parts)
        if name == "Not":
            return np.logical_not(parts[0])
        raise UnsupportedError(f"no numeric value for the condition {e}")

    def sum(self, e, env):
        """Σ over the limits, the last one outermost (SymPy's order; an inner range may depend on
        an outer index). SymPy's convention for b < a: Σ_{i=a}^{b} = −Σ_{i=b+1}^{a−1}."""
        count = [0]

        def over(k, env):
            if k < 0:
                count[0] += 1
                if count[0] > limits.MAX_SUM_TERMS:
                    limits.refuse(f"the index sum {e}", "MAX_SUM_TERMS", limits.MAX_SUM_TERMS)
                return self.scalar(e.function, env)
            i, lo, hi = e.limits[k]
            a, b = (self.scalar(x, env) for x in (lo, hi))
            if float(a) != int(a) or float(b) != int(b):
                raise ShapeError(f"the limits of {i} in {e} are not integers: {a}, {b}")
            a, b = int(a), int(b)
            sign, (a, b) = (1, (a, b)) if b >= a else (-1, (b + 1, a - 1))
            total = 0.0
            for v in range(a, b + 1):
                total = total + over(k - 1, {**env, i: v})
            return sign * total

        return over(len(e.limits) - 1, env)


def _function_name(cls):
    return getattr(cls, "__name__", str(cls))


_DISPATCH = {
    sp.Symbol: _State.symbol, sp.MatrixSymbol: _State.matrix_symbol, sp.Number: _State.number,
    sp.NumberSymbol: _State.number, sp.Identity: _State.identity, sp.ZeroMatrix: _State.zeros,
    sp.OneMatrix: _State.ones, sp.MatAdd: _State.matadd, sp.MatMul: _State.matmul,
    sp.HadamardProduct: _State.hadamard, sp.HadamardPower: _State.hadamard_power,
    sp.Transpose: _State.transpose, sp.Adjoint: _State.transpose, sp.Inverse: _State.inverse,
    sp.MatPow: _State.matpow, sp.KroneckerProduct: _State.kronecker,
    DiagMatrix: _State.diag_matrix, DiagonalMatrix: _State.diagonal_matrix,
    DiagonalOf: _State.diagonal_of, sp.Trace: _State.trace, sp.Determinant: _State.determinant,
    MatrixElement: _State.element, sp.MatrixBase: _State.explicit, NDimArray: _State.array,
    ElementwiseApplyFunction: _State.elementwise,
    F.EntrySum: _State.entry_sum, F.EntryMean: _State.entry_mean, F.LogSumExp: _State.logsumexp,
    F.SquaredNorm: _State.squared_norm, F.FrobeniusSquared: _State.squared_norm,
    F.Softmax: _State.softmax, sp.BlockMatrix: _State.block, sp.MatrixSlice: _State.slice,
    F.CausalSoftmax: _State.causal_softmax, F.Std: _State.std, F.LayerNorm: _State.layer_norm,
    sp.Add: _State.add, sp.Mul: _State.mul, sp.Pow: _State.pow, sp.Function: _State.function,
    MinMaxBase: _State.function,
    sp.Piecewise: _State.piecewise, sp.core.relational.Relational: _State.relation,
    sp.logic.boolalg.Boolean: _State.boolean, sp.Sum: _State.sum,
}


_DISPATCH[Shift] = _State.shift


# --------------------------------------------------------------------------- public functions

@limits.deep  # the first hash of a deep expression recurses through it
def function(expr, args, sizes=None):
    """A NumPy function of ``args`` (in order) returning ``expr`` evaluated by its definition.

    Matrix results are 2-D float arrays (1 x 1 for a loss), scalar results floats, an N-dimensional
    SymPy array an N-dimensional array. ``sizes`` gives values to size symbols that no argument's
    shape fixes.
    """
    expr = sp.ImmutableMatrix(expr) if isinstance(expr, sp.MatrixBase) else as_expression(expr)
    plan = _Plan(expr, sizes)
    args = list(args)

    @limits.deep
    def f(*values):
        if len(values) != len(args):
            raise TypeError(f"the reference function takes {len(args)} values, got {len(values)}")
        return plan.run(dict(zip(args, values)))

    f.plan = plan
    return f


@limits.deep
def evaluate(expr, values, sizes=None):
    """``expr`` at ``values`` ({symbol: float or 2-D array}), evaluated by its definition."""
    return function(expr, list(values), sizes)(*values.values())
