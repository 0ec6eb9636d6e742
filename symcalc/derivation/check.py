"""No false step: every step of a derivation evaluated at random values.

The symbolic sizes get distinct small integers (so a transposition cannot hide in a square matrix),
the inputs random values (square matrices near the identity, so that inverses and log det exist),
and each step's two sides are computed as numbers:

* an intermediate symbol is the value of its definition;
* ``∂f/∂x`` by central differences of f's definition in x, laid out as the layout says
  (independent of the engine, so a wrong rule cannot check itself);
* ``dx`` is a random direction for an input and a directional derivative for an intermediate;
* an entry with free indices (``(∂(Ax)/∂x)_ij``) at every index value;
* a step with ``where`` at that point only.

Expressions are evaluated by the reference evaluator (``numeric/reference.py``, which shares no
rewrite with the engine or the code generator), planned once per expression (finite differences
evaluate each many times), and with SymPy on explicit matrices where it takes no such node.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import limits
from ..assumptions import facts, structure
from ..functions import (
    EntryMean, EntrySum, FrobeniusSquared, LogSumExp, OneHot, Softmax, SquaredNorm, SymmetricMatrix,
    is_matrix,
)
from ..functions import CausalSoftmax, LayerNorm, Std
from ..numeric.check import _needs_positive, one_hot
from ..numeric.reference import function as reference_function
from ..shapes import positive_sizes
from .nodes import SPECIAL, Differential, MatrixDifferential, Partial, PartialMatrix

H = 1e-6


@dataclass
class StepCheck:
    step: object
    ok: bool
    error: float = 0.0
    message: str = ""


@dataclass
class StepReport:
    """The outcome for every step; ``bool(report)`` is True when none is false."""

    results: list = field(default_factory=list)
    sizes: dict = field(default_factory=dict)
    seed: int = 0

    @property
    def ok(self):
        return all(r.ok for r in self.results)

    def __bool__(self):
        return self.ok

    @property
    def failures(self):
        return [r for r in self.results if not r.ok]

    def _repr_html_(self):
        """An HTML table for Jupyter (the printing side, loaded on first use)."""
        from ..printing.html import step_report_html
        return step_report_html(self)

    def __str__(self):
        if self.ok:
            return f"all {len(self.results)} steps hold (sizes {self.sizes}, seed {self.seed})"
        lines = [f"{len(self.failures)} of {len(self.results)} steps are false (sizes {self.sizes}, seed {self.seed}):"]
        for r in self.failures:
            lines.append(f"  [{r.step.rule}] {r.step.lhs} = {r.step.rhs}: {r.message}")
        return "\n".join(lines)


def _matrix_symbols(e):
    return {a for a in sp.preorder_traversal(e) if isinstance(a, sp.MatrixSymbol)}


def _index_symbols(e):
    """Free index symbols of matrix entries (not those a Sum binds)."""
    out = set()
    for node in sp.preorder_traversal(e):
        if isinstance(node, MatrixElement):
            out |= {s for s in (node.i, node.j) if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy)}
    return out & e.free_symbols


class Evaluator:
    """Numbers for the expressions of one derivation at one random point."""

    def __init__(self, steps, sizes=None, seed=0, assumptions=None):
        self.rng = np.random.default_rng(seed)
        exprs = []
        for s in steps:
            exprs += [s.lhs, s.rhs]
            if s.where:
                exprs += list(s.where.keys()) + list(s.where.values())
        size_symbols, matrices = set(), set()
        for e in exprs:
            for m in _matrix_symbols(e):
                matrices.add(m)
                for k in m.shape:
                    size_symbols |= sp.sympify(k).free_symbols
        self.indices = set().union(*(_index_symbols(e) for e in exprs)) - size_symbols
        self.sizes = self._draw_sizes(sorted(size_symbols, key=str), sizes or {}, matrices)
        self.facts = tuple(self.sized(f) for f in facts(assumptions))  # A ∈ R^{n×n} is now 5 x 5
        self.defs = {self.sized(s.lhs): self.sized(s.rhs) for s in steps if s.is_definition}
        symbols = set()
        for e in exprs:
            e = self.sized(e)
            symbols |= {a for a in sp.preorder_traversal(e)
                        if isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not isinstance(a, sp.Dummy)}
        self.base = sorted((s for s in symbols if s not in self.defs and s not in self.indices
                            and s not in self.sizes.values() and s not in size_symbols), key=str)
        self.positive = set().union(*(_needs_positive(self.sized(e)) for e in exprs))
        self.values = {s: self._draw(s) for s in self.base}
        varying = set()
        for e in exprs:
            for node in sp.preorder_traversal(self.sized(e)):
                if isinstance(node, (Differential, MatrixDifferential)) and node.arg in self.values:
                    varying.add(node.arg)
        self.directions = {s: self._draw_direction(s) for s in sorted(varying, key=str)}
        self.memo = {}
        self.sums = {}
        self.inputs = {}
        self.special_memo = {}
        self.compiled = {}

    # ------------------------------------------------------------------ drawing

    def _draw_sizes(self, symbols, given, matrices=()):
        """Distinct sizes; a size that is mostly a row count (n in X ∈ R^{n×d}) gets a larger one
        than a column count, so that data matrices are tall and XᵀX is invertible."""
        given = {getattr(k, "name", k): int(v) for k, v in positive_sizes(given).items()}
        free = [s for s in symbols if s.name not in given]
        pool = [n for n in range(2, 6) if n not in given.values()]
        chosen = sorted(self.rng.choice(pool, size=min(len(free), len(pool)), replace=False).tolist())
        score = {s: 0 for s in free}
        for m in matrices:
            rows, cols = m.shape
            if rows != cols:
                for s in sp.sympify(rows).free_symbols & set(free):
                    score[s] += 1
                for s in sp.sympify(cols).free_symbols & set(free):
                    score[s] -= 1
        out = {s: given[s.name] for s in symbols if s.name in given}
        for k, s in enumerate(sorted(free, key=lambda s: (score[s], s.name))):
            out[s] = chosen[k % len(chosen)]
        return out

    def sized(self, e):
        return e.xreplace(self.sizes) if self.sizes else e

    def _draw(self, s):
        return structure(s, self.facts).impose(self._draw_plain(s), self.rng)

    def _draw_plain(self, s):
        if isinstance(s, sp.Symbol):
            return float(self.rng.uniform(0.5, 1.5))
        rows, cols = (int(k) for k in s.shape)
        limits.check_numeric(rows, cols, f"the value of {s.name}", "MAX_CHECK_VALUES")
        if isinstance(s, OneHot):
            return one_hot(rows, cols, s.axis, self.rng)
        if s in self.positive:  # under a log or a fractional power; near I when square
            a = self.rng.uniform(0.1, 0.4, (rows, cols))
            if isinstance(s, SymmetricMatrix):
                a = (a + a.T) / 2
            return a + (np.eye(rows) if rows == cols else 0.3)
        if rows == cols:
            a = 0.3 * self.rng.standard_normal((rows, cols))
            if isinstance(s, SymmetricMatrix):
                a = (a + a.T) / 2
            return np.eye(rows) + a
        return 0.7 * self.rng.standard_normal((rows, cols))

    def _draw_direction(self, s):
        if isinstance(s, sp.Symbol):
            return float(self.rng.standard_normal())
        d = self.rng.standard_normal(tuple(int(k) for k in s.shape))
        return (d + d.T) / 2 if isinstance(s, SymmetricMatrix) else d

    # ------------------------------------------------------------------ evaluation

    def symbol(self, s, override):
        if s in override:
            return override[s]
        if s in self.defs:
            if not override and s in self.memo:
                return self.memo[s]
            v = _conform(self.value(self.defs[s], override), s)
            if not override:
                self.memo[s] = v
            return v
        if s in self.values:
            return self.values[s]
        raise KeyError(f"no value for {s}")

    def value(self, e, override=None):
        """e (already sized, indices already numbers) as a float or a 2-D array."""
        override = override or {}
        e = self._expand_sums(e)
        e = self._replace_special(e, override)
        inputs = []
        for a in sp.preorder_traversal(e):
            if isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not isinstance(a, sp.Dummy) and a not in inputs:
                if a in self.indices or a in self.sizes:
                    continue
                inputs.append(a)
        values = [self.symbol(a, override) for a in inputs]
        fast = self._compiled(e, tuple(inputs))
        if fast is not None:
            try:
                return _plain(fast(*values))
            except limits.LimitError:
                raise  # too big to evaluate: SymPy's explicit evaluation would take longer still
            except Exception:  # noqa: BLE001 - a value codegen cannot take: SymPy's own evaluation below
                pass
        return _number(e.xreplace({a: _sympy(v) for a, v in zip(inputs, values)}))

    def _expand_sums(self, e):
        """e with its sums over concrete ranges written out, once per expression (finite
        differences evaluate the same expression many times)."""
        if e not in self.sums:
            self.sums[e] = e.replace(lambda a: isinstance(a, sp.Sum), _written_out) \
                if e.has(sp.Sum) else e
        return self.sums[e]

    def _compiled(self, e, inputs):
        """NumPy code for e, compiled once per expression (finite differences evaluate it often);
        None where codegen does not take it."""
        key = (e, inputs)
        if key not in self.compiled:
            try:
                if e.free_symbols - set(inputs) - {s for a in inputs for s in getattr(a, "free_symbols", ())}:
                    raise ValueError("unsized symbols")
                self.compiled[key] = reference_function(e, list(inputs))
            except Exception:  # noqa: BLE001 - any node codegen lacks: SymPy's own evaluation
                self.compiled[key] = None
        return self.compiled[key]

    def _replace_special(self, e, override):
        if isinstance(e, SPECIAL):
            return _sympy(self._special(e, override))
        if not any(isinstance(n, SPECIAL) for n in sp.preorder_traversal(e)):
            return e
        return e.func(*[self._replace_special(a, override) for a in e.args])

    def _special(self, node, override):
        if not override and node in self.special_memo:
            return self.special_memo[node]
        if isinstance(node, (Partial, PartialMatrix)):
            v = self._partial(node, override)
        else:
            v = self._differential(node.arg, override)
        if not override:
            self.special_memo[node] = v
        return v

    def _differential(self, x, override):
        if x in self.values and x not in self.defs:
            return self.directions.get(x, _zero_like(self.values[x]))
        plus, minus = dict(override), dict(override)
        for b, d in self.directions.items():
            base = override.get(b, self.values[b])
            plus[b], minus[b] = base + H * d, base - H * d
        return (_array(self.value(x, plus)) - _array(self.value(x, minus))) / (2 * H) \
            if is_matrix(x) else (_float(self.value(x, plus)) - _float(self.value(x, minus))) / (2 * H)

    def held(self, num, den, override):
        """The other intermediates of num's definition, when den is one of its inputs: ∂u/∂x of
        u = x + W a is the partial of that definition, a held (the multivariable chain rule's
        local derivative); otherwise nothing is held and ∂ is the total derivative."""
        if num not in self.defs:
            return {}
        inputs = self.inputs.get(num)
        if inputs is None:
            inputs = self.inputs[num] = {a for a in sp.preorder_traversal(self.defs[num])
                                         if isinstance(a, (sp.Symbol, sp.MatrixSymbol))}
        if den not in inputs:
            return {}
        return {s: self.symbol(s, override) for s in inputs if s in self.defs and s != den}

    def _partial(self, node, override):
        num, den, layout = node.num, node.den, node.layout
        override = {**self.held(num, den, override), **override}
        if isinstance(den, MatrixElement):
            parent, i, j = den.parent, int(den.i), int(den.j)
            base = np.array(self.symbol(parent, override), dtype=float)

            def at(t):
                m = base.copy()
                m[i, j] = t
                return {**override, parent: m}

            x0 = base[i, j]
            cols = [((_array(self.value(num, at(x0 + H))) - _array(self.value(num, at(x0 - H)))) / (2 * H))]
            dshape = (1, 1)
        else:
            base = self.symbol(den, override)
            scalar_den = not isinstance(base, np.ndarray)
            arr = np.array([[base]], dtype=float) if scalar_den else np.array(base, dtype=float)
            limits.check_numeric(*arr.shape, f"the variable {den}", "MAX_CHECK_ENTRIES")
            dshape = arr.shape
            cols = []
            for a, b in itertools.product(range(arr.shape[0]), range(arr.shape[1])):
                def at(t):
                    m = arr.copy()
                    m[a, b] = t
                    return {**override, den: (float(m[0, 0]) if scalar_den else m)}
                x0 = arr[a, b]
                cols.append((_array(self.value(num, at(x0 + H))) - _array(self.value(num, at(x0 - H))))
                            / (2 * H))
        nshape = cols[0].shape
        # D[i, j, a, b] = ∂num_ij / ∂den_ab
        D = np.stack(cols, axis=-1).reshape(nshape + dshape)
        m, n = nshape
        p, q = dshape
        if (m, n) == (1, 1) and (p, q) == (1, 1):
            return float(D.reshape(()))
        if (m, n) == (1, 1):
            G = D.reshape(p, q)
            return G if layout == "denominator" else G.T
        if (p, q) == (1, 1):
            J = D.reshape(m, n)
            return J if layout == "numerator" else J.T
        if n == 1 and q == 1:
            J = D.reshape(m, p)
            return J if layout == "numerator" else J.T
        raise ValueError(f"{node}: no 2-D layout for a {m} x {n} by {p} x {q} derivative")


def _written_out(total):
    """Σ over concrete ranges as the sum of its terms (SymPy's Sum.doit tries closed forms first,
    a second or more per sum)."""
    terms = [total.function]
    for k, low, high in total.limits:
        if not (low.is_Integer and high.is_Integer):
            return total.doit()
        terms = [t.xreplace({k: sp.Integer(i)}) for t in terms for i in range(int(low), int(high) + 1)]
    return sp.Add(*terms)


def _zero_like(v):
    return np.zeros_like(v) if isinstance(v, np.ndarray) else 0.0


def _conform(v, s):
    """A value shaped like the symbol it is stored under (a 1 x 1 matrix or a scalar); a value of
    another shape is an error (δ ≜ ∂L/∂z with δ a column and ∂L/∂z a row is a contradiction)."""
    if isinstance(s, sp.MatrixSymbol):
        shape = tuple(int(k) for k in s.shape)
        a = np.array(v, dtype=float)
        if a.size == 1 and shape == (1, 1):
            return a.reshape(shape)
        if a.shape != shape:
            raise ValueError(f"{s} is {shape[0]} x {shape[1]} but its definition has shape "
                             f"{' x '.join(map(str, a.shape))}")
        return a
    return _float(v)


def _array(v):
    return v if isinstance(v, np.ndarray) else np.array([[v]], dtype=float)


def _float(v):
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise ValueError(f"a {v.shape} array where a scalar is expected")
        return float(v.reshape(()))
    return float(v)


def _sympy(v):
    if isinstance(v, np.ndarray):
        return sp.ImmutableMatrix(v.tolist())
    return sp.Float(v)


def _explicit_node(node):
    """symcalc's reductions and softmax of an explicit matrix, computed directly."""
    Z = _array(_number(node.arg))
    if isinstance(node, EntrySum):
        v = Z.sum()
    elif isinstance(node, EntryMean):
        v = Z.mean()
    elif isinstance(node, LogSumExp):  # along each column (axis 0) or row (axis 1)
        return sp.ImmutableMatrix(np.log(np.exp(Z).sum(axis=node.axis, keepdims=True)).tolist())
    elif isinstance(node, (SquaredNorm, FrobeniusSquared)):
        v = (Z ** 2).sum()
    elif isinstance(node, (LayerNorm, Std)):  # each sample: (z − μ)/√(σ² + ε), or √(σ² + ε)
        c = Z - Z.mean(axis=node.axis, keepdims=True)
        s = np.sqrt((c ** 2).mean(axis=node.axis, keepdims=True) + float(node.eps))
        return sp.ImmutableMatrix((c / s if isinstance(node, LayerNorm) else s).tolist())
    elif isinstance(node, CausalSoftmax):  # the masked entries −inf: exp gives 0
        kept = np.tri(Z.shape[0], dtype=bool) if node.axis == 1 else np.tri(Z.shape[0], dtype=bool).T
        Zm = np.where(kept, Z, -np.inf)
        E = np.exp(Zm - Zm.max(axis=node.axis, keepdims=True))
        return sp.ImmutableMatrix((E / E.sum(axis=node.axis, keepdims=True)).tolist())
    else:  # Softmax, along each column (axis 0) or row (axis 1)
        E = np.exp(Z - Z.max(axis=node.axis, keepdims=True))
        return sp.ImmutableMatrix((E / E.sum(axis=node.axis, keepdims=True)).tolist())
    return sp.ImmutableMatrix([[float(v)]])


_NODES = (EntrySum, EntryMean, LogSumExp, SquaredNorm, FrobeniusSquared, Softmax, LayerNorm, Std)


def _plain(v):
    """Generated code's result as _number gives it: a float, or a 2-D float array."""
    if isinstance(v, np.ndarray) and v.ndim == 2:
        return v.astype(float)
    return float(v)


def _number(e):
    e = e.replace(lambda a: isinstance(a, _NODES) and not a.free_symbols, _explicit_node)
    e = e.replace(lambda a: isinstance(a, sp.Trace) and not a.arg.free_symbols,
                  lambda a: sp.Float(float(np.trace(_array(_number(a.arg))))))
    if is_matrix(e):
        m = e.doit()
        if not isinstance(m, sp.MatrixBase):
            m = m.as_explicit()
        return np.array(m.evalf(), dtype=complex).real.astype(float) if m.has(sp.I) \
            else np.array(m.evalf(), dtype=float)
    v = sp.sympify(e).doit().evalf()
    if isinstance(v, sp.MatrixBase):
        return np.array(v, dtype=float)
    return float(v)


def _compare(a, b, tol):
    """(ok, error, message) for two values of a step's sides."""
    if isinstance(a, np.ndarray) and a.shape == (1, 1):
        a = float(a[0, 0])
    if isinstance(b, np.ndarray) and b.shape == (1, 1):
        b = float(b[0, 0])
    if isinstance(a, np.ndarray) != isinstance(b, np.ndarray) or (
            isinstance(a, np.ndarray) and a.shape != b.shape):
        sa = a.shape if isinstance(a, np.ndarray) else "scalar"
        sb = b.shape if isinstance(b, np.ndarray) else "scalar"
        return False, float("inf"), f"the sides have different shapes: {sa} and {sb}"
    scale = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    err = float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) / scale
    if not np.isfinite(err):
        return False, err, "a side is not finite"
    return err <= tol, err, "" if err <= tol else f"the sides differ by {err:.2e} (relative)"


@limits.deep
def check_steps(derivation, sizes=None, seed=0, tol=1e-6, assumptions=None) -> StepReport:
    """Evaluate every step of ``derivation`` (a Derivation or a list of Steps) at random values
    that satisfy ``assumptions`` (SymPy ``Q`` predicates; those of ``sp.assuming`` too)."""
    steps = getattr(derivation, "steps", derivation)
    layout = getattr(derivation, "layout", None)
    ev = Evaluator(steps, sizes=sizes, seed=seed, assumptions=assumptions)
    report = StepReport(sizes={str(k): v for k, v in ev.sizes.items()}, seed=seed)
    for step in steps:
        stray = _other_layout(step, layout)
        if stray is not None:
            report.results.append(StepCheck(step, False, float("inf"), stray))
            continue
        if step.is_definition:
            try:  # a definition by name (δ ≜ ∂L/∂z) must have the shape of its name
                ev.symbol(ev.sized(step.lhs), {})
                report.results.append(StepCheck(step, True, 0.0, "definition"))
            except Exception as exc:  # noqa: BLE001 - a definition that cannot be evaluated
                report.results.append(StepCheck(step, False, float("inf"),
                                                f"could not evaluate: {type(exc).__name__}: {exc}"))
            continue
        lhs, rhs = ev.sized(step.lhs), ev.sized(step.rhs)
        if step.where:
            where = {ev.sized(k): ev.sized(v) for k, v in step.where.items()}
            lhs, rhs = lhs.xreplace(where), rhs.xreplace(where)
        indices = sorted(_index_symbols(lhs) | _index_symbols(rhs), key=str)
        ranges = [_index_range(ix, lhs, rhs) for ix in indices]
        worst, message, ok = 0.0, "", True
        try:
            for point in _points(ranges, ev.rng):
                at = dict(zip(indices, (sp.Integer(k) for k in point)))
                a = ev.value(lhs.xreplace(at))
                b = ev.value(rhs.xreplace(at))
                good, err, msg = _compare(a, b, tol)
                worst = max(worst, err)
                if not good:
                    ok, message = False, msg + (f" at {at}" if at else "")
                    break
        except Exception as exc:  # a side that cannot be evaluated is not a verified step
            ok, message = False, f"could not evaluate: {type(exc).__name__}: {exc}"
        report.results.append(StepCheck(step, ok, worst, message))
    return report


#: An entry step (free indices i, j) is evaluated at this many index values at most: every entry
#: is a new expression to evaluate, and a wrong formula is wrong at almost every entry.
MAX_ENTRIES = 6


def _points(ranges, rng):
    """The index values an entry step is evaluated at: all, or MAX_ENTRIES of them at random
    (the first and the last always among them)."""
    points = list(itertools.product(*ranges))
    if len(points) <= MAX_ENTRIES:
        return points
    inner = rng.choice(len(points) - 2, size=MAX_ENTRIES - 2, replace=False) + 1
    return [points[0], *(points[k] for k in sorted(inner)), points[-1]]


def _other_layout(step, layout):
    """Why a step prints a derivative laid out in the other layout than its derivation states
    (∂L/∂z printed as a column in a numerator-layout derivation), or None."""
    if layout is None:
        return None
    for side in (step.lhs, step.rhs):
        for node in sp.preorder_traversal(side):
            if isinstance(node, PartialMatrix) and node.layout != layout:
                return (f"{node} is laid out in {node.layout} layout in a derivation that states "
                        f"{layout} layout: the same symbol would stand for two shapes")
    return None


def _index_range(ix, *exprs):
    """The values an index takes: the size of the dimension it indexes."""
    for e in exprs:
        for node in sp.preorder_traversal(e):
            if isinstance(node, MatrixElement):
                if node.i == ix:
                    return range(int(node.parent.shape[0]))
                if node.j == ix:
                    return range(int(node.parent.shape[1]))
    raise ValueError(f"the index {ix} indexes nothing")
