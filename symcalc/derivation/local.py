r"""One edge of the model: its local derivative, its gradient map, its differential, its identity.

For a node u = body(v, ...) and one of its inputs v:

* ``jacobian``: ∂u/∂v in the layout, when it has a matrix form (vectors and scalars);
* ``gradient_map``: ∂T/∂v from ∂T/∂u when it has none (z = W x: ∂T/∂W = ∂T/∂z xᵀ);
* ``jvp``: du in terms of dv, the other inputs held (dz = (dW) x);
* ``identity``: the one identity the step uses, as a lecture states it.

Every derivative comes from the engine (``symcalc.diff``), so a derivation has no rule of its own
that could disagree with ``sc.diff``; ``Derivation.check`` confirms each step numerically.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

import functools

from ..diff import backward
from ..diff import diff as _engine_diff
from ..errors import SymcalcError, UnsupportedError
from ..functions import (
    EntryMean, EntrySum, FrobeniusSquared, InternalMatrix, LeakyReLU, LogSumExp, ReLU, Sigmoid, Softmax,
    Softplus, SquaredNorm, is_matrix,
)
from ..simplify import mul, scalar, textbook, transpose
from ..functions import CausalSoftmax, LayerNorm
from sympy.assumptions.assume import global_assumptions
from .model import _Degrees
from .nodes import PartialMatrix, differential, partial_shape


def diff(expr, wrt, layout="denominator"):
    """``symcalc.diff``, remembered: the styles ask for the same local derivative several times
    (its value, its differential, its gradient map), and a lecturer derives in several styles.
    Remembered per set of assumptions in force (``sp.assuming``): they change the result."""
    return _diff(expr, wrt, layout, tuple(global_assumptions))


@functools.lru_cache(maxsize=1024)
def _diff(expr, wrt, layout, assumed):
    return _engine_diff(expr, wrt, layout=layout)


def _pullback(body, v, seed):
    """backward(body, [v], seed) (seed None for a 1 x 1 body), remembered per assumptions."""
    return _pullback_under(body, v, seed, tuple(global_assumptions))


@functools.lru_cache(maxsize=1024)
def _pullback_under(body, v, seed, assumed):
    return backward(body, [v], seed=seed).gradients[v]


def has_jacobian(u, v, layout):
    """Whether ∂u/∂v has a matrix form (scalars and vectors) in ``layout``."""
    try:
        partial_shape(u, v, layout)
        return True
    except UnsupportedError:
        return False


def jacobian(body, v, layout, names=None):
    """∂body/∂v in ``layout``, written with the intermediates' names (σ(z)(1 − σ(z)) as a ⊙ (1 − a))."""
    J = diff(body, v, layout=layout)
    if names:
        J = J.xreplace(names)
    if layout == "numerator" and is_matrix(J) and J.rows == 1 and J.cols != 1:
        J = row(textbook(transpose(J)))  # a gradient as a row: (g₁ − g₂)ᵀ, not g₁ᵀ − g₂ᵀ
    return tidy11(J)


def gradient_map(body, v, upstream, layout, names=None):
    """∂T/∂v from ``upstream`` = ∂T/∂u (u = body, in ``layout``), for a scalar T."""
    seed_shape = body.shape if is_matrix(body) else (1, 1)
    G = sp.MatrixSymbol("symcalc_upstream", *seed_shape)
    seed = G if is_matrix(body) and body.shape != (1, 1) else None
    if seed is None:  # a 1 x 1 body: the map is a scalar times the body's gradient
        g = _pullback(body, v, None)
        g = mul(scalar(upstream) if is_matrix(upstream) else upstream, g)
        out = g if layout == "denominator" else textbook(transpose(g))
    else:
        g = _pullback(body, v, seed)
        up = upstream if layout == "denominator" else transpose(upstream)
        out = g.xreplace({G: up, G.T: transpose(up)})
        if not any(isinstance(a, PartialMatrix) for a in (up,)):
            out = rebuild(out)  # a value inserted: -V (2 U) is -2 V U
        if layout == "numerator":
            out = _transposed(out)
    if names:
        out = out.xreplace(names)
    return out


def _transposed(e):
    """eᵀ with the transpose pushed into entrywise products and sums: (Pᵀ ⊙ v)ᵀ = P ⊙ vᵀ."""
    if isinstance(e, sp.HadamardProduct):
        return sp.HadamardProduct(*[_transposed(a) for a in e.args])
    if isinstance(e, sp.MatAdd):
        from ..simplify import add
        return add(e.shape[::-1], *[_transposed(a) for a in e.args])
    if isinstance(e, sp.MatMul):
        from ..simplify import coefficient
        c, core = coefficient(e)
        factors = core.args if isinstance(core, sp.MatMul) else (core,)
        return mul(c, *[_transposed(f) for f in reversed(factors)])
    return transpose(e)


def jvp(body, v, names=None):
    """The differential of body in v alone: linear in dv."""
    dv = differential(v)
    if not is_matrix(body) or body.shape == (1, 1):
        G = diff(body, v, layout="denominator")
        if names:
            G = G.xreplace(names)
        if not is_matrix(v):
            return mul(G, dv) if is_matrix(G) else G * dv
        if v.cols == 1:
            return mul(row(G), dv)
        return sp.Trace(mul(row(G), dv))
    if not is_matrix(v) or (v.cols == 1 and body.cols == 1):
        J = diff(body, v, layout="numerator")
        if names:
            J = J.xreplace(names)
        if isinstance(J, DiagMatrix) and is_matrix(v):  # an entrywise function: f′(z) ⊙ dz
            return sp.HadamardProduct(J.args[0], dv)
        return mul(J, dv) if is_matrix(v) else mul(dv, J)
    eps = sp.Dummy("epsilon")
    D = InternalMatrix("direction", *v.shape)
    moved = body.xreplace({v: v + eps * D})
    J = diff(moved, eps, layout="numerator")
    out = textbook(rebuild(J.xreplace({eps: 0}))).xreplace({D: dv})
    return out.xreplace(names) if names else out


def row(G):
    """Gᵀ as a pairing writes it: pushed into a product (−2uᵀX), kept outside a sum or an
    entrywise product ((a − y)ᵀ X, not (aᵀ − yᵀ) X)."""
    if not is_matrix(G) or G.shape == (1, 1):
        return G
    if isinstance(G, (sp.MatAdd, sp.HadamardProduct)):
        flipped = transpose(G)
        return G if flipped == G else sp.Transpose(G)  # diag(s) − s sᵀ is its own transpose
    if isinstance(G, sp.MatMul):
        from ..simplify import coefficient
        c, core = coefficient(G)
        factors = core.args if isinstance(core, sp.MatMul) else (core,)
        return mul(c, *[row(f) for f in reversed(factors)])
    return transpose(G)


# ---------------------------------------------------------------------- tidying

def rebuild(e):
    """Rebuild e bottom-up with the engine's constructors: 0·D and I·A vanish, products flatten."""
    from ..simplify import add
    if not isinstance(e, sp.Basic) or not e.args:
        return e
    if isinstance(e, (sp.Lambda, ElementwiseApplyFunction)):
        return e.func(*[rebuild(a) if isinstance(a, sp.Expr) and not isinstance(e, sp.Lambda) else a
                        for a in e.args])
    args = [rebuild(a) for a in e.args]
    if isinstance(e, sp.MatMul):
        return mul(*args)
    if isinstance(e, sp.MatAdd):
        return add(e.shape, *args)
    if isinstance(e, sp.Transpose):
        return transpose(args[0])
    if isinstance(e, sp.Trace) and is_matrix(args[0]) and args[0].shape == (1, 1):
        return sp.Trace(args[0])
    return e.func(*args)


def tidy11(e):
    """1 x 1 matrices read as numbers: I ⊙ M = M, and the 1 x 1 identity in a sum is a one."""
    if not isinstance(e, sp.Basic):
        return e

    def had(h):
        args = [a for a in h.args if not (isinstance(a, sp.Identity) and a.shape == (1, 1))]
        return args[0] if len(args) == 1 else sp.HadamardProduct(*args)
    e = e.replace(lambda a: isinstance(a, sp.HadamardProduct) and a.shape == (1, 1), had)
    return e.replace(lambda a: isinstance(a, sp.MatAdd) and a.shape == (1, 1),
                     lambda a: a.xreplace({sp.Identity(1): sp.OneMatrix(1, 1)}))


def untrace(e):
    """A scalar c·tr(M) with M 1 x 1 as the 1 x 1 matrix c·M (dL = 2uᵀdu, not tr(2uᵀdu))."""
    from ..simplify import add
    if isinstance(e, sp.Trace) and e.arg.shape == (1, 1):
        return e.arg
    if isinstance(e, sp.Mul):
        traces = [a for a in e.args if isinstance(a, sp.Trace) and a.arg.shape == (1, 1)]
        if traces:
            rest = sp.Mul(*[a for a in e.args if a not in traces])
            if not rest.has(sp.Trace):
                return mul(rest, *[t.arg for t in traces])
    if isinstance(e, sp.Add) and all(untrace(a) is not a for a in e.args):
        parts = [untrace(a) for a in e.args]
        if all(is_matrix(p) for p in parts):
            return add((1, 1), *parts)
    return e


# ---------------------------------------------------------------------- identities

_SLOPES = {  # f -> f' as a lecture writes it
    Sigmoid: r"\sigma'(z) = \sigma(z)(1 - \sigma(z))",
    sp.tanh: r"\tanh'(z) = 1 - \tanh^2(z)",
    ReLU: r"\operatorname{ReLU}'(z) = \mathbb{1}[z > 0]",
    LeakyReLU: r"\operatorname{LeakyReLU}'(z) = \alpha + (1 - \alpha)\mathbb{1}[z > 0]",
    Softplus: r"\operatorname{softplus}'(z) = \sigma(z)",
    sp.exp: r"\exp'(z) = \exp(z)",
    sp.log: r"\log'(z) = 1/z",
}


def slope_text(f):
    """f′ for the scalar function f (a SymPy function class), or "" when there is no table entry."""
    return _SLOPES.get(f, "")


def _elementwise_function(body):
    lam = body.function
    inner = lam.expr
    if isinstance(inner, sp.Function) and len(inner.args) >= 1 and inner.args[0] == lam.variables[0]:
        return type(inner)
    return None


def identity(body, v, layout, upstream=False):
    """The one identity ∂body/∂v (or, ``upstream=True``, its gradient map) uses, in words and math."""
    num = layout == "numerator"
    T = r"^\top"
    deg = _Degrees(v)(body)
    if isinstance(body, ElementwiseApplyFunction) and body.expr == v:
        f = _elementwise_function(body)
        slope = slope_text(f)
        if upstream:
            return r"entrywise function: $\bar{Z} = \bar{A} \odot f'(Z)$" + (", $%s$" % slope if slope else "")
        text = r"entrywise function: $\partial f(z)/\partial z = \operatorname{diag}(f'(z))$"
        return text + (", $%s$" % slope if slope else "")
    if isinstance(body, LayerNorm) and body.arg == v:
        if upstream:
            return map_identity(body)
        return (r"layer normalisation: $\partial \hat{z}/\partial z = \frac{1}{s}(I - \frac{1}{d}\mathbf{1}\mathbf{1}^\top"
                r" - \frac{1}{d}\hat{z}\hat{z}^\top)$, $s = \sqrt{\sigma^2 + \epsilon}$")
    if isinstance(body, CausalSoftmax) and body.args[0] == v:
        return (r"causal softmax, each row (column) masked: $\partial s/\partial z = \operatorname{diag}(s) - s s^\top$"
                r", zero where masked")
    if isinstance(body, Softmax) and body.args[0] == v:
        return r"softmax: $\partial s/\partial z = \operatorname{diag}(s) - s s^\top$"
    if isinstance(body, sp.Determinant) and body.arg == v:
        return (r"Jacobi's formula: $\partial \det X/\partial X = \det(X)\, X^{-%s}$"
                % ("1" if num else r"\top"))
    if isinstance(body, sp.log) and body.args[0] == v:
        return r"$\partial \log u/\partial u = 1/u$"
    core = _core(body)
    if isinstance(core, SquaredNorm) and core.arg == v:
        return r"squared norm: $\partial \lVert u \rVert^2/\partial u = 2u%s$" % (T if num else "")
    if isinstance(core, FrobeniusSquared) and core.arg == v:
        return r"squared Frobenius norm: $\partial \lVert U \rVert_F^2/\partial U = 2U%s$" % (T if num else "")
    if isinstance(core, LogSumExp) and core.arg == v:
        return r"log-sum-exp: $\partial \operatorname{logsumexp}(z)/\partial z = \operatorname{softmax}(z)%s$" % (
            T if num else "")
    if isinstance(core, (EntrySum, EntryMean)) and deg == float("inf"):
        what = "sum" if isinstance(core, EntrySum) else "mean"
        return r"entry by entry: $\partial \operatorname{%s}(f(a))/\partial a = %sf'(a)%s$" % (
            what, "" if what == "sum" else r"\tfrac{1}{mn}", T if num else "")
    if deg <= 1:
        scalar_body = not is_matrix(body) or body.shape == (1, 1)
        if not is_matrix(v):
            return r"linear in a scalar: $\partial (c\, b)/\partial b = c$"
        if scalar_body and v.cols != 1:
            return r"trace of a product: $\partial \operatorname{tr}(A X B)/\partial X = %s$" % (
                "B A" if num else r"A^\top B^\top")
        if scalar_body:
            return r"linear form: $\partial (a^\top x)/\partial x = a%s$" % (T if num else "")
        return r"affine map: $\partial (A x + b)/\partial x = A%s$" % ("" if num else T)
    if isinstance(core, sp.Pow) and core.base == v and not core.exp.has(v):
        return r"power rule: $\partial u^n/\partial u = n u^{n-1}$"
    if deg == 2 and isinstance(core, sp.Trace) and _is_quadratic_form(core, v) and v.cols != 1:
        return r"$\partial \operatorname{tr}(X^\top X)/\partial X = 2X%s$" % (T if num else "")
    if deg == 2 and _is_quadratic_form(core, v):
        return r"quadratic form: $\partial (x^\top A x)/\partial x = (A + A^\top) x%s$" % (T if num else "")
    if deg == 2:
        return "product rule: differentiate each factor, the others held"
    from ..diff.rules import lookup
    try:
        rule = lookup(core)
    except UnsupportedError:
        return "local derivative"
    return "%s: $%s$" % (rule.name, rule.identity)


def map_identity(body):
    """The identity a lecture states for a gradient map through ``body`` (layer normalisation's
    backward, sample by sample), or None where the step cites the differential."""
    if isinstance(body, LayerNorm) and is_matrix(body) and body.arg.cols != 1 and body.arg.rows != 1:
        return (r"layer normalisation, each sample: $\bar{z} = \frac{1}{s}(\bar{g} - \operatorname{mean}(\bar{g})"
                r" - \hat{z} \odot \operatorname{mean}(\bar{g} \odot \hat{z}))$, $s = \sqrt{\sigma^2 + \epsilon}$")
    return None


def _core(body):
    """The body without its scalar coefficient: ‖u‖² of ½‖u‖², sum(...) of −sum(...)."""
    if is_matrix(body):
        from ..simplify import coefficient
        return coefficient(body)[1]
    return body.as_coeff_Mul()[1]


def _is_quadratic_form(e, v):
    """uᵀu, uᵀAu (a 1 x 1 product with the variable at both ends)."""
    if isinstance(e, sp.Trace):
        e = e.arg
    if not isinstance(e, sp.MatMul):
        return False
    mats = [a for a in e.args if is_matrix(a)]
    return len(mats) >= 2 and mats[0] in (v.T, sp.Transpose(v)) and mats[-1] == v


def safe_jacobian(body, v, layout, names=None):
    """``jacobian``, or None when the engine gives no matrix form."""
    try:
        return jacobian(body, v, layout, names)
    except (UnsupportedError, SymcalcError):
        return None


__all__ = ["differential_identity", "gradient_map", "has_jacobian", "identity", "jacobian", "jvp", "map_identity",
           "rebuild",
           "row", "safe_jacobian", "slope_text", "tidy11", "untrace"]



def differential_identity(body, v):
    """The identity d(body) uses in the input v, as a lecture states it."""
    deg = _Degrees(v)(body)
    core = _core(body)
    if isinstance(body, ElementwiseApplyFunction) and body.expr == v:
        slope = slope_text(_elementwise_function(body))
        return r"$\mathrm{d}f(z) = f'(z) \odot \mathrm{d}z$" + (", $%s$" % slope if slope else "")
    if isinstance(body, LayerNorm) and body.arg == v:
        return (r"layer normalisation, each sample: $\mathrm{d}\hat{z} = \frac{1}{s}(I - \frac{1}{d}\mathbf{1}\mathbf{1}^\top"
                r" - \frac{1}{d}\hat{z}\hat{z}^\top)\,\mathrm{d}z$")
    if isinstance(body, Softmax) and body.args[0] == v:
        if body.cols == 1:
            return r"softmax: $\mathrm{d}s = (\operatorname{diag}(s) - s s^\top)\,\mathrm{d}z$"
        return r"softmax, column by column: $\mathrm{d}s = (\operatorname{diag}(s) - s s^\top)\,\mathrm{d}z$"
    if isinstance(body, sp.Determinant) and body.arg == v:
        return r"Jacobi's formula: $\mathrm{d}\det X = \det(X) \operatorname{tr}(X^{-1} \mathrm{d}X)$"
    if isinstance(body, sp.Inverse) and body.arg == v:
        return r"$\mathrm{d}X^{-1} = -X^{-1} (\mathrm{d}X) X^{-1}$"
    if isinstance(body, sp.log) and body.args[0] == v:
        return r"$\mathrm{d}\log u = \mathrm{d}u / u$"
    if isinstance(core, SquaredNorm) and core.arg == v:
        return r"squared norm: $\mathrm{d}\lVert u \rVert^2 = 2 u^\top \mathrm{d}u$"
    if isinstance(core, sp.Pow) and core.base == v and not core.exp.has(v):
        return r"power rule: $\mathrm{d}u^n = n u^{n-1} \mathrm{d}u$"
    if deg == 2 and isinstance(core, sp.Trace) and _is_quadratic_form(core, v) and is_matrix(v) and v.cols != 1:
        return r"$\mathrm{d}\operatorname{tr}(X^\top X) = 2 \operatorname{tr}(X^\top \mathrm{d}X)$"
    if deg == 2 and _is_quadratic_form(core, v):
        return r"quadratic form: $\mathrm{d}(x^\top A x) = x^\top (A + A^\top)\, \mathrm{d}x$"
    if isinstance(core, FrobeniusSquared) and core.arg == v:
        return r"squared Frobenius norm: $\mathrm{d}\lVert U \rVert_F^2 = 2 \operatorname{tr}(U^\top \mathrm{d}U)$"
    if isinstance(core, LogSumExp) and core.arg == v:
        return r"$\mathrm{d}\operatorname{logsumexp}(z) = \operatorname{softmax}(z)^\top \mathrm{d}z$"
    if isinstance(core, (EntrySum, EntryMean)) and deg == float("inf"):
        return r"entry by entry: $\mathrm{d}\operatorname{sum}(f(a)) = f'(a)^\top \mathrm{d}a$"
    if deg <= 1:
        return r"linear in the input: $\mathrm{d}(A x + b) = A\, \mathrm{d}x$"
    if deg == 2:
        return r"product rule: $\mathrm{d}(X Y) = (\mathrm{d}X) Y + X\, \mathrm{d}Y$"
    from ..diff.rules import lookup
    try:
        return lookup(core).name
    except UnsupportedError:
        return "differential"
