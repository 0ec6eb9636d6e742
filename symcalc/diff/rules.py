"""The table of differentiation rules, in reverse-mode form.

Each rule takes a node and its upstream gradient ``G`` (the gradient of the output with respect to
the node, shaped like the node; a plain scalar for scalar nodes) and returns each child's share of
the gradient, shaped like that child. One small function per operation, registered with its name
and the identity it applies, so that derivations can cite the table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.core.function import AppliedUndef
from sympy.functions.elementary.miscellaneous import MinMaxBase

from .. import dag, limits
from ..dag import shape
from ..errors import UnsupportedError
from ..functions import (
    ELEMENT, EntryMean, EntrySum, FrobeniusSquared, LogSumExp, Softmax, SquaredNorm, Step,
    is_matrix, log,
)
from ..functions import CausalSoftmax, LayerNorm, Std
from ..simplify import (
    add, as_matrix11, coefficient, diagonal_of, from_entrywise, hadamard, mul, scalar, transpose,
)
from .blocks import block_ranges, embed, slice_ranges, submatrix


@dataclass(frozen=True)
class Rule:
    name: str
    identity: str  # LaTeX, in gradient form: how ∂L/∂(input) follows from G = ∂L/∂(node)
    contributions: Callable  # (node, G) -> [(child, share), ...]


RULES: dict[type, Rule] = {}


def rule(cls, name, identity):
    def register(fn):
        RULES[cls] = Rule(name, identity, fn)
        return fn
    return register


def lookup(node) -> Rule:
    for cls in type(node).__mro__:
        if cls in RULES:
            return RULES[cls]
    supported = ", ".join(sorted(c.__name__ for c in RULES))
    raise UnsupportedError(
        f"no differentiation rule for {type(node).__name__} in {node}; supported operations: {supported}"
    )


def inner(G, M):
    """⟨G, M⟩ = tr(Gᵀ M), the scalar that pairs an upstream gradient with a matrix."""
    product = mul(transpose(G), M)
    return scalar(product) if shape(product) == (1, 1) else sp.Trace(product)


def abstract_only(d):
    """SymPy leaves a derivative unevaluated only where it has none to give: allowed when that is the
    derivative of an undefined function (σ′(z) of ``sp.Function("sigma")``, an abstract loss J′(ŷ))."""
    return all(isinstance(D.expr, AppliedUndef) for D in d.atoms(sp.Derivative))


_XI = sp.Dummy("xi")


def undefined_derivative(node, i):
    """f′ of an undefined function at its i-th argument, always as Subs(∂f(ξ)/∂ξ, ξ, a): SymPy writes
    ∂J(σ(z))/∂σ(z) for a function argument, which stops being a derivative once σ is given a body."""
    args = list(node.args)
    point, args[i - 1] = args[i - 1], _XI
    return sp.Subs(sp.Derivative(node.func(*args), _XI), _XI, point)


def heaviside_to_step(e):
    """Heaviside(x) → 1[x > 0]: the ReLU convention (SymPy's Heaviside(0) is 1/2)."""
    return e.replace(lambda a: isinstance(a, sp.Heaviside), lambda a: Step(a.args[0])).replace(
        lambda a: isinstance(a, sp.DiracDelta), lambda a: sp.S.Zero)


# --------------------------------------------------------------------------- matrix algebra

@rule(sp.MatAdd, "sum rule", r"\bar{A}_i = \bar{G}")
def _matadd(node, G):
    return [(a, G) for a in node.args]


@rule(sp.MatMul, "matrix product",
      r"\bar{A} = \bar{G} B^{\top}, \quad \bar{B} = A^{\top} \bar{G}")
def _matmul(node, G):
    scalars = [a for a in node.args if not is_matrix(a)]
    mats = [a for a in node.args if is_matrix(a)]
    c = sp.Mul(*scalars)
    out = []
    for i, m in enumerate(mats):
        left, right = mats[:i], mats[i + 1:]
        share = mul(c, *[transpose(a) for a in reversed(left)], G, *[transpose(a) for a in reversed(right)])
        out.append((m, share))
    if scalars:
        product = mul(*mats)
        for k, s in enumerate(scalars):
            others = sp.Mul(*(scalars[:k] + scalars[k + 1:]))
            out.append((s, others * inner(G, product)))
    return out


@rule(sp.Transpose, "transpose", r"\bar{A} = \bar{G}^{\top}")
def _transpose(node, G):
    return [(node.arg, transpose(G))]


@rule(sp.Inverse, "inverse", r"\bar{A} = -A^{-\top} \bar{G} A^{-\top}")
def _inverse(node, G):
    inv_t = transpose(node)
    return [(node.arg, mul(-1, inv_t, G, inv_t))]


@rule(sp.MatPow, "matrix power", r"\bar{A} = \sum_{i=0}^{k-1} (A^{i})^{\top} \bar{G} (A^{k-1-i})^{\top}")
def _matpow(node, G):
    base, k = node.base, node.exp
    if base.shape == (1, 1):  # a scalar power, (xᵀx)³ or sqrt(xᵀx): k a^(k−1) g
        return [(base, as_matrix11(scalar(G) * k * scalar(base) ** (k - 1)))]
    c, core = coefficient(G)
    if k.is_integer and not k.is_Integer and isinstance(core, sp.Identity):
        # tr(Xᵏ) with a symbolic integer k: Σᵢ (Xⁱ)ᵀ (Xᵏ⁻¹⁻ⁱ)ᵀ = k (Xᵏ⁻¹)ᵀ, the powers commuting under tr
        return [(base, mul(c * k, transpose(sp.MatPow(base, k - 1))))]
    if k.is_integer and not k.is_Integer:
        raise UnsupportedError(f"the power {node} with the symbolic exponent {k} is differentiated inside a "
                               f"trace only (∂tr(Xᵏ)/∂X = k (Xᵏ⁻¹)ᵀ); here it is weighted by {G}")
    if not (k.is_Integer and k > 0):
        raise UnsupportedError(f"the power {node} needs a positive integer exponent (negative powers are "
                               f"rewritten as powers of the inverse); got exponent {k}")
    if k > limits.MAX_MATRIX_POWER:  # the rule writes k products
        limits.refuse(f"the matrix power {node}", "MAX_MATRIX_POWER", limits.MAX_MATRIX_POWER)

    def power(i):
        return sp.Identity(base.rows) if i == 0 else (base if i == 1 else sp.MatPow(base, i))

    shares = [mul(transpose(power(i)), G, transpose(power(int(k) - 1 - i))) for i in range(int(k))]
    return [(base, add(base.shape, *shares))]


@rule(sp.Trace, "trace", r"\frac{\partial \operatorname{tr} A}{\partial A} = I")
def _trace(node, g):
    if node.arg.shape == (1, 1):
        return [(node.arg, mul(g, sp.Identity(1)))]
    return [(node.arg, mul(g, sp.Identity(node.arg.rows)))]


@rule(sp.Determinant, "determinant", r"\frac{\partial \det A}{\partial A} = \det(A) A^{-\top}")
def _determinant(node, g):
    return [(node.arg, mul(g * node, sp.Inverse(transpose(node.arg))))]


@rule(MatrixElement, "matrix element", r"\bar{A} = \bar{g}\, e_i e_j^{\top}")
def _element(node, g):
    parent, i, j = node.args
    if parent.shape == (1, 1):
        return [(parent, mul(g, sp.Identity(1)))]
    if not (i.is_Integer and j.is_Integer):
        raise UnsupportedError(f"the element {node} has symbolic indices {i}, {j}: its derivative is the "
                               "unit matrix e_i e_jᵀ, which has no matrix form; use integer indices, or "
                               "write the expression in matrix form")
    if not (parent.rows.is_Integer and parent.cols.is_Integer):
        raise UnsupportedError(f"the element {node} of a matrix of symbolic shape {parent.shape} has no "
                               "matrix-form derivative; use concrete sizes, or a 1 x 1 matrix")
    limits.check_entries(int(parent.rows * parent.cols), lambda: f"the unit matrix e_i e_jᵀ of {node}",
                         "write the expression in matrix form")
    unit = sp.ImmutableMatrix(parent.rows, parent.cols, lambda r, c: g if (r, c) == (i, j) else 0)
    return [(parent, unit)]


@rule(sp.HadamardProduct, "entrywise product", r"\bar{A} = \bar{G} \odot B")
def _hadamard(node, G):
    args = node.args
    return [(a, hadamard(G, *(args[:i] + args[i + 1:]))) for i, a in enumerate(args)]


@rule(sp.HadamardPower, "entrywise power", r"\bar{A} = \bar{G} \odot p A^{\circ (p-1)}")
def _hadamard_power(node, G):
    base, p = node.base, node.exp
    power = hadamard(base) if p - 1 == 1 else sp.HadamardPower(base, p - 1)
    out = [(base, mul(p, hadamard(G, power)))]
    if p.free_symbols:  # by the exponent: ∂x^{∘i}/∂i = log(x) ⊙ x^{∘i}
        out.append((p, inner(G, hadamard(log(base), node))))
    return out


@rule(sp.KroneckerProduct, "Kronecker product",
      r"\bar{A}_{ij} = \sum_{kl} \bar{G}_{(i,k),(j,l)} B_{kl}")
def _kronecker(node, G):
    args = node.args
    c, core = coefficient(G)
    if isinstance(core, sp.Identity) and all(a.rows == a.cols for a in args):
        # inside a trace, tr(A ⊗ B) = tr(A) tr(B): any sizes, ∂/∂B = tr(A) I
        traces = [trace_of(a) for a in args]
        return [(a, mul(c * sp.Mul(*(traces[:i] + traces[i + 1:])), sp.Identity(a.rows)))
                for i, a in enumerate(args)]
    A, B = args[0], (args[1] if len(args) == 2 else sp.KroneckerProduct(*args[1:]))
    sizes = A.shape + B.shape
    if not all(s.is_Integer for s in sizes):
        raise UnsupportedError(f"the Kronecker product {node} is differentiated for concrete sizes only "
                               f"(or inside a trace); {A} is {A.shape[0]} x {A.shape[1]} and {B} is "
                               f"{B.shape[0]} x {B.shape[1]}")
    m, n, p, q = (int(s) for s in sizes)
    limits.check_entries(m * n * p * q, lambda: f"the gradient of the Kronecker product {node}")
    Ge = G.as_explicit()
    Ae, Be = A.as_explicit(), B.as_explicit()
    gA = sp.ImmutableMatrix(m, n, lambda i, j: sum(Ge[i * p + k, j * q + l] * Be[k, l]
                                                  for k in range(p) for l in range(q)))
    gB = sp.ImmutableMatrix(p, q, lambda k, l: sum(Ge[i * p + k, j * q + l] * Ae[i, j]
                                                  for i in range(m) for j in range(n)))
    return [(A, gA)] + ([(B, gB)] if len(args) == 2 else _kronecker(B, gB))  # A ⊗ (B ⊗ C ...)


def trace_of(M):
    """tr M, with tr(A ⊗ B) = tr(A) tr(B)."""
    if isinstance(M, sp.KroneckerProduct):
        return sp.Mul(*[trace_of(a) for a in M.args])
    return sp.Trace(M)


@rule(DiagMatrix, "diagonal matrix", r"\bar{v} = \operatorname{diag}(\bar{G})")
def _diag_matrix(node, G):
    v = node.args[0]
    d = diagonal_of(G)
    return [(v, d if v.cols == 1 else transpose(d))]


@rule(sp.BlockMatrix, "block matrix", r"\bar{A}_{ij} = \text{block } (i, j) \text{ of } \bar{G}")
def _block_matrix(node, G):
    """[1; a] passes each block its part of G: rows 1: of Wᵀδ reach a as W[:, 1:]ᵀ δ."""
    return [(node.blocks[ij], submatrix(G, *ranges)) for ij, ranges in block_ranges(node).items()]


@rule(sp.MatrixSlice, "slice", r"\bar{A} = \bar{G} \text{ in the sliced entries, } 0 \text{ elsewhere}")
def _matrix_slice(node, G):
    return [(node.parent, embed(G, node.parent.shape, *slice_ranges(node)))]


@rule(sp.ImmutableMatrix, "explicit matrix", r"\bar{a}_{ij} = \bar{G}_{ij}")
def _explicit(node, G):
    Ge = G if isinstance(G, sp.MatrixBase) else G.as_explicit()
    return [(node[i, j], Ge[i, j]) for i in range(node.rows) for j in range(node.cols)]


# --------------------------------------------------------------------------- elementwise functions

def lift(body, Z):
    """A scalar body in ELEMENT as a matrix expression in Z: σ(d)(1 − σ(d)) → σ(Z) ⊙ (1 − σ(Z))."""
    return from_entrywise(body, {ELEMENT: Z}, shape(Z))


_SCALAR_DERIVATIVES = dag.table()


def scalar_derivatives(lam):
    """[(symbol, f' in ELEMENT)] of an elementwise function: by its element first, then by each
    parameter (a leaky ReLU's slope). Memoised: the 128 layers of a network share one σ."""
    if lam not in _SCALAR_DERIVATIVES:
        body = lam.expr.xreplace({lam.variables[0]: ELEMENT})
        out = []
        for s in [ELEMENT] + sorted(body.free_symbols - {ELEMENT}, key=str):
            d = heaviside_to_step(sp.diff(body, s))
            if not abstract_only(d):
                where = "" if s == ELEMENT else f" in {s}"
                raise UnsupportedError(f"the elementwise function {lam} has no known derivative{where} ({d})")
            out.append((s, d))
        _SCALAR_DERIVATIVES[lam] = out
    return _SCALAR_DERIVATIVES[lam]


@rule(ElementwiseApplyFunction, "elementwise function", r"\bar{Z} = \bar{G} \odot f'(Z)")
def _elementwise(node, G):
    Z = node.expr
    (_, deriv), *params = scalar_derivatives(node.function)
    return [(Z, hadamard(G, lift(deriv, Z)))] + [(s, inner(G, lift(ds, Z))) for s, ds in params]


# --------------------------------------------------------------------------- reductions and softmax

@rule(EntrySum, "sum of entries", r"\frac{\partial\, \mathbf{1}^{\top} Z \mathbf{1}}{\partial Z} = \mathbf{1}\mathbf{1}^{\top}")
def _entry_sum(node, G):
    return [(node.arg, mul(scalar(G), sp.OneMatrix(*node.arg.shape)))]


@rule(EntryMean, "mean of entries", r"\frac{\partial \operatorname{mean} Z}{\partial Z} = \frac{1}{mn}\mathbf{1}\mathbf{1}^{\top}")
def _entry_mean(node, G):
    count = node.arg.rows * node.arg.cols
    return [(node.arg, mul(scalar(G) / count, sp.OneMatrix(*node.arg.shape)))]


@rule(LogSumExp, "log-sum-exp", r"\frac{\partial \operatorname{logsumexp} z}{\partial z} = \operatorname{softmax}(z)")
def _logsumexp(node, G):
    """Along each column (row), the gradient is that column's (row's) softmax times its upstream entry."""
    S, Z = Softmax(node.arg, node.axis), node.arg
    if G.shape == (1, 1):
        return [(Z, mul(scalar(G), S))]
    spread = mul(sp.OneMatrix(Z.rows, 1), G) if node.axis == 0 else mul(G, sp.OneMatrix(1, Z.cols))
    return [(Z, hadamard(S, spread))]


@rule(SquaredNorm, "squared norm", r"\frac{\partial \lVert x \rVert^2}{\partial x} = 2x")
def _squared_norm(node, G):
    return [(node.arg, mul(2 * scalar(G), node.arg))]


@rule(FrobeniusSquared, "squared Frobenius norm", r"\frac{\partial \lVert X \rVert_F^2}{\partial X} = 2X")
def _frobenius(node, G):
    return [(node.arg, mul(2 * scalar(G), node.arg))]


@rule(Softmax, "softmax", r"\bar{z} = s \odot (\bar{G} - \mathbf{1} s^{\top} \bar{G})"
      r" \text{ for each column (each row, axis 1)}")
def _softmax(node, G):
    S = node
    m, n = S.shape
    weighted = hadamard(S, G)
    if node.axis == 0:
        sums = mul(sp.OneMatrix(1, m), weighted)  # sᵀḡ of each column
        spread = mul(S, sums) if n == 1 else hadamard(S, mul(sp.OneMatrix(m, 1), sums))
    else:
        sums = mul(weighted, sp.OneMatrix(n, 1))  # of each row
        spread = mul(sums, S) if m == 1 else hadamard(S, mul(sums, sp.OneMatrix(1, n)))
    return [(node.arg, add(S.shape, weighted, mul(-1, spread)))]


rule(CausalSoftmax, "causal softmax",
     r"\bar{Z} = A \odot (\bar{G} - ((\bar{G} \odot A) \mathbf{1}) \mathbf{1}^{\top})"
     r" \text{ for each row (each column, axis 0); } A = 0 \text{ where masked}")(_softmax)
# Softmax's rule, unchanged: along a row, a = softmax of the kept entries padded with zeros, and its
# Jacobian diag(a) − a aᵀ is the kept entries' Jacobian padded with zeros, since a masked aⱼ = 0
# zeroes row and column j. So a masked entry of S gets no gradient and the sums run over kept ones.


# --------------------------------------------------------------------------- layer normalisation

def _per_sample(node, v, M):
    """M with each sample scaled by its entry of v (one per sample): diag(v) M for rows, M diag(v) for
    columns, v M for a single sample."""
    if v.shape == (1, 1):
        return mul(scalar(v), M)
    if node.axis == 1:
        return mul(DiagMatrix(v), M)
    return mul(M, DiagMatrix(transpose(v)))


def _feature_mean(node, M):
    """Each sample's mean over its d features, repeated over the features: M 1 1ᵀ/d (rows), 1 1ᵀ M/d (columns)."""
    d, (m, n) = node.features, M.shape
    return mul(1 / d, M, sp.OneMatrix(n, n)) if node.axis == 1 else mul(1 / d, sp.OneMatrix(m, m), M)


@rule(LayerNorm, "layer normalisation",
      r"\bar{x} = \tfrac{1}{\sqrt{\sigma^{2} + \epsilon}} (\bar{g} - \operatorname{mean}(\bar{g})"
      r" - \hat{x} \odot \operatorname{mean}(\bar{g} \odot \hat{x})) \text{ for each sample}")
def _layer_norm(node, G):
    """The textbook backward, each sample (row for axis 1, column for axis 0) at once:
    X̄ = diag(s)⁻¹ (Ḡ − mean(Ḡ) − X̂ ⊙ mean(Ḡ ⊙ X̂)), s = √(σ² + ε) and the means over the features;
    through ε: ∂x̂/∂ε = −x̂/(2s²)."""
    s, X_hat = node.std, node
    weighted = hadamard(G, X_hat)
    centred = add(node.shape, G, mul(-1, _feature_mean(node, G)),
                  mul(-1, hadamard(X_hat, _feature_mean(node, weighted))))
    inv = sp.Inverse(DiagMatrix(s if node.axis == 1 else transpose(s))) if s.shape != (1, 1) else None
    if inv is None:
        grad = mul(1 / scalar(s), centred)
    else:
        grad = mul(inv, centred) if node.axis == 1 else mul(centred, inv)
    out = [(node.arg, grad)]
    if node.eps.free_symbols:
        per = weighted if inv is None else (mul(inv, inv, weighted) if node.axis == 1 else mul(weighted, inv, inv))
        scale = 2 if inv is not None else 2 * scalar(s) ** 2
        out.append((node.eps, -inner(sp.OneMatrix(*node.shape), per) / scale))
    return out


@rule(Std, "standard deviation",
      r"\frac{\partial \sqrt{\sigma^{2} + \epsilon}}{\partial x} = \frac{\hat{x}}{d}"
      r" \text{ for each sample}")
def _std(node, G):
    """∂s/∂x = (x − μ)/(d s) = x̂/d for each sample; ∂s/∂ε = 1/(2s)."""
    X_hat = LayerNorm(node.arg, node.axis, node.eps)
    out = [(node.arg, _per_sample(node, G, mul(1 / node.features, X_hat)))]
    if node.eps.free_symbols:
        if node.shape == (1, 1):
            out.append((node.eps, scalar(G) / (2 * scalar(node))))
        else:
            inv = sp.Inverse(DiagMatrix(node if node.axis == 1 else transpose(node)))
            out.append((node.eps, inner(G, mul(inv, sp.OneMatrix(node.rows, 1)) if node.axis == 1
                                        else mul(sp.OneMatrix(1, node.cols), inv)) / 2))
    return out


# --------------------------------------------------------------------------- scalar functions

@rule(sp.Add, "sum rule", r"\bar{a}_i = \bar{g}")
def _add(node, g):
    return [(a, g) for a in node.args]


@rule(sp.Mul, "product rule", r"\bar{a}_i = \bar{g} \prod_{j \ne i} a_j")
def _mul(node, g):
    args = node.args
    return [(a, g * sp.Mul(*(args[:i] + args[i + 1:]))) for i, a in enumerate(args)]


@rule(sp.Pow, "power rule", r"\bar{a} = \bar{g}\, p\, a^{p-1}")
def _pow(node, g):
    b, p = node.args
    out = [(b, g * p * b ** (p - 1))]
    if p.free_symbols or not p.is_number:
        out.append((p, g * node * sp.log(b)))
    return out


@rule(sp.Function, "chain rule", r"\bar{a} = \bar{g}\, f'(a)")
def _function(node, g):
    out = []
    for i, a in enumerate(node.args, start=1):
        d = undefined_derivative(node, i) if isinstance(node, AppliedUndef) else heaviside_to_step(node.fdiff(i))
        if not abstract_only(d):
            raise UnsupportedError(f"the function {node.func} has no known derivative in its argument {a}")
        out.append((a, g * d))
    return out


@rule(MinMaxBase, "max / min", r"\bar{a}_i = \bar{g}\, \mathbb{1}[a_i \text{ is the largest (smallest)}]")
def _min_max(node, g):
    """Max(0, wᵀx + b), the slides' ReLU neuron: the gradient goes to the argument that wins (a.e.)."""
    return [(a, g * heaviside_to_step(node.fdiff(i))) for i, a in enumerate(node.args, start=1)]


@rule(sp.Piecewise, "piecewise", r"\bar{a}_i = \bar{g}\, [\text{case } i \text{ holds}]")
def _piecewise(node, g):
    """Each case's expression receives g where its condition is the first that holds (0 a.e. through the conditions)."""
    cases = node.args
    return [(e, g * sp.Piecewise(*[(int(j == i), c) for j, (_, c) in enumerate(cases)]))
            for i, (e, _) in enumerate(cases)]


@rule(sp.Abs, "absolute value", r"\bar{a} = \bar{g}\operatorname{sign}(a)")
def _abs(node, g):
    return [(node.args[0], g * sp.sign(node.args[0]))]
