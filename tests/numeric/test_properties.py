"""Property test: lambdify of random well-typed matrix expressions agrees with SymPy's own
explicit evaluation (operator precedence, broadcasting, shared sub-expressions, folding)."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symcalc.functions as F
from symcalc.functions import ELEMENT, elementwise
from symcalc.errors import ShapeError
from symcalc.numeric.lambdify import lambdify
from symcalc.shapes import check as check_shapes

from .oracle import evaluate

m, n = sp.symbols("m n", integer=True, positive=True)
SIZES = {m: 2, n: 3}
DIMS = (m, n, sp.S.One)
LEAVES = {}
for r in DIMS:
    for c in DIMS:
        if (r, c) != (1, 1):
            LEAVES[(r, c)] = sp.MatrixSymbol(f"L_{r}_{c}".replace(" ", ""), r, c)
t = ELEMENT
BODIES = [
    F.Sigmoid(t), sp.tanh(t), sp.sin(t), sp.exp(-t**2), F.ReLU(t), F.Softplus(t),
    F.Sigmoid(t) * (1 - F.Sigmoid(t)), F.LeakyReLU(t, sp.Rational(1, 5)), t**2 / (1 + t**2),
    sp.Abs(t), sp.Max(0, t) - 2 * t, -t**3, 1 / (2 + sp.cos(t)),
]


@st.composite
def matrix(draw, shape, depth=3):
    r, c = shape
    ops = ["leaf"] if depth == 0 else [
        "leaf", "matmul", "add", "sub", "scale", "transpose", "hadamard", "power", "elementwise",
        "trace scale", "broadcast", "gram diag", "softmax", "solve", "det scale", "kron"]
    if (r, c) == (1, 1):  # SymPy mangles scalar functions of 1 x 1 products while building them
        ops = [o for o in ops if o in ("leaf", "matmul", "add", "sub", "scale", "hadamard", "power")]
    op = draw(st.sampled_from(ops))
    sub = lambda s: draw(matrix(s, depth - 1))  # noqa: E731
    if op == "leaf" or (op == "transpose" and (c, r) == (1, 1)):
        if (r, c) == (1, 1):
            return LEAVES[(1, n)] * LEAVES[(n, 1)]
        return LEAVES[(r, c)]
    if op == "matmul":
        k = draw(st.sampled_from([m, n]))
        return sub((r, k)) * sub((k, c))
    if op == "add":
        return sub((r, c)) + sub((r, c))
    if op == "sub":
        return sub((r, c)) - draw(st.sampled_from([1, 2])) * sub((r, c))
    if op == "scale":
        return draw(st.sampled_from([-1, 2, sp.Rational(1, 3), -3])) * sub((r, c))
    if op == "transpose":
        return sub((c, r)).T
    if op == "hadamard":
        return sp.HadamardProduct(sub((r, c)), sub((r, c)))
    if op == "power":
        return sp.HadamardPower(sub((r, c)), draw(st.sampled_from([2, 3])))
    if op == "elementwise":
        return elementwise(draw(st.sampled_from(BODIES)), sub((r, c)))
    if op == "trace scale":
        k = draw(st.sampled_from([m, n]))
        return sp.Trace(sub((k, k))) * sub((r, c))
    if op == "broadcast" and c != 1:
        return sub((r, 1)) * sp.OneMatrix(1, c) + sub((r, c))
    if op == "gram diag" and r == c:
        k = draw(st.sampled_from([m, n]))
        M = sub((k, c))
        v = draw(st.sampled_from([LEAVES[(k, 1)], F.sigmoid(LEAVES[(k, 1)])]))
        return M.T * sp.DiagMatrix(v) * M
    if op == "softmax":
        return F.softmax(sub((r, c)))
    if op in ("solve", "det scale") and r != 1:
        M = sub((r, r))
        spd = M * M.T + 2 * sp.Identity(r)   # well conditioned: eigenvalues >= 2
        if op == "solve":
            return sp.Inverse(spd) * sub((r, c))
        return sp.log(sp.Determinant(spd)) * sub((r, c))
    if op == "kron" and r != 1 and c != 1:
        # of symbols: SymPy's KroneckerProduct fails to build on some scaled products
        return sp.KroneckerProduct(LEAVES[(r, 1)], LEAVES[(1, c)]) + sub((r, c))
    return sub((r, c))


def _check(expr):
    try:  # SymPy's own doit can build ill-shaped forms (tr(a ⊗ b) -> tr(a) tr(b) for vectors)
        check_shapes(expr)
    except ShapeError:
        assume(False)
    rng = np.random.default_rng(0)
    args = sorted(LEAVES.values(), key=lambda s: s.name)  # every size is bound by some leaf
    vals = {a: 0.8 * rng.normal(size=tuple(int(sp.sympify(d).subs(SIZES)) for d in a.shape))
            for a in args}
    got = lambdify(args, expr)(*[vals[a] for a in args])
    want = evaluate(expr, vals, SIZES)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=str(expr))


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                      HealthCheck.filter_too_much])


@settings(max_examples=150, **SETTINGS)
@given(st.sampled_from([(m, n), (n, 1), (n, n), (1, m)]).flatmap(lambda s: matrix(s)))
def test_random_expressions_match_sympy(expr):
    _check(expr)


@pytest.mark.slow
@settings(max_examples=2000, **SETTINGS)
@given(st.sampled_from([(m, n), (n, 1), (n, n), (1, m), (m, m)]).flatmap(lambda s: matrix(s, 4)))
def test_random_expressions_match_sympy_long(expr):
    _check(expr)
