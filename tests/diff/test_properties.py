"""Random well-typed expression trees, differentiated by symcalc and by finite differences.

Trees are built over symbolic sizes m, n, p (the engine sees symbols); hypothesis draws distinct
concrete values for them, which only the oracle uses. Every example is checked in both layouts.
"""
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

import symcalc.functions as F
from symcalc.diff import diff

from . import oracle
from .common import LAYOUTS, assert_derivative, m, n, p

DIMS = (m, n, p)
X = sp.MatrixSymbol("X", m, n)  # the variable

ELEMENTWISE = [
    F.sigmoid, F.tanh, F.sin, F.cos, F.softplus, F.relu,
    lambda Z: F.leaky_relu(Z, sp.Rational(1, 5)),
    lambda Z: sp.HadamardPower(Z, 2),
    lambda Z: Z.applyfunc(sp.Lambda(F.ELEMENT, F.ELEMENT**3 / 3 - F.ELEMENT)),
]


@st.composite
def matrices(draw, shape, depth, names):
    """A matrix expression of the given (symbolic) shape."""
    r, c = shape

    def constant(rows, cols):
        names.append(0)
        return sp.MatrixSymbol(f"C{len(names)}", rows, cols)

    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        if draw(st.integers(0, 2)) == 0:
            return constant(r, c)
        # a leaf that contains the variable, whatever the shape
        if shape == X.shape:
            return X
        if shape == (n, m):
            return X.T
        left = X if r == m else constant(r, m) * X
        return left if c == n else left * constant(n, c)
    sub = lambda s: matrices(s, depth - 1, names)  # noqa: E731
    op = draw(st.sampled_from(["matmul", "matmul", "add", "scale", "transpose", "hadamard",
                               "elementwise", "elementwise", "inverse", "softmax", "power",
                               "scalar times"]))
    if op == "matmul":
        k = draw(st.sampled_from(DIMS))
        return draw(sub((r, k))) * draw(sub((k, c)))
    if op == "add":
        return draw(sub(shape)) + draw(sub(shape))
    if op == "scale":
        return draw(st.sampled_from([-2, 3, sp.Rational(1, 2)])) * draw(sub(shape))
    if op == "transpose":
        return draw(sub((c, r))).T
    if op == "hadamard":
        return sp.HadamardProduct(draw(sub(shape)), draw(sub(shape)))
    if op == "elementwise":
        return draw(st.sampled_from(ELEMENTWISE))(draw(sub(shape)))
    if op == "softmax":
        return F.softmax(draw(sub(shape)))
    # (bounded by tanh: values of size 1e4 under a sin leave finite differences nothing to see)
    if op == "power" and r == c:
        return F.tanh(draw(sub(shape))) ** 2
    if op == "scalar times":  # a scalar made of matrices (a trace of a 1 x 1 sum) scaling a matrix
        return sp.tanh(sp.Trace(F.sum(draw(sub(shape))))) * draw(sub(shape))
    # inverse: only of a square shape, of a matrix that is always invertible (I + G^T G)
    if op == "power" or r != c:
        return draw(sub(shape))
    k = draw(st.sampled_from(DIMS))
    G = draw(sub((k, r)))
    return (sp.Identity(r) + G.T * G).I


@st.composite
def scalars(draw, depth=3):
    """A scalar expression (SymPy scalar or 1 x 1 matrix expression) containing X."""
    names = []
    r, c = draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS))
    Z = draw(matrices((r, c), depth, names))
    kind = draw(st.sampled_from(["bilinear", "sum", "frobenius", "trace", "logsumexp",
                                 "log1p", "product"]))
    if kind == "bilinear":
        return sp.MatrixSymbol("u", r, 1).T * Z * sp.MatrixSymbol("v", c, 1)
    if kind == "sum":
        return F.sum(Z)
    if kind == "frobenius":
        return F.frobenius2(Z)
    if kind == "trace":
        return sp.Trace(Z * sp.MatrixSymbol("B", c, r))
    if kind == "logsumexp":
        return F.logsumexp(Z * sp.MatrixSymbol("v", c, 1))
    if kind == "log1p":
        return sp.log(1 + sp.Trace(Z.T * Z))
    other = draw(matrices((r, c), 1, names))
    return sp.Trace(Z.T * sp.MatrixSymbol("B", r, c)) * F.sum(sp.HadamardProduct(other, Z))


sizes = st.permutations([1, 2, 3, 4]).map(lambda v: {m: v[0], n: v[1], p: v[2]})


def _check(expr, config):
    assume(expr.has(X))
    for layout in LAYOUTS:
        result = diff(expr, X, layout=layout)
        try:
            assert_derivative(result, expr, X, layout=layout, sizes=config)
        except (oracle.Undecided, FloatingPointError):
            reject()  # a point where finite differences cannot tell right from wrong


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=scalars(), config=sizes)
def test_random_trees(expr, config):
    _check(expr, config)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(expr=scalars(depth=4), config=sizes)
def test_random_trees_long(expr, config):
    _check(expr, config)
