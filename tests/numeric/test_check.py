"""check(): symcalc.diff against central finite differences, for every row of DESIGN §2."""
import numpy as np
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.numeric.check import (
    CheckReport, check, draw_sizes, draw_values, numeric_derivative, size_symbols,
)

m, n, p = sp.symbols("m n p", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
B = sp.MatrixSymbol("B", p, m)
Q = sp.MatrixSymbol("Q", n, n)
X = sp.MatrixSymbol("X", n, p)
x = sp.MatrixSymbol("x", n, 1)
y = sp.MatrixSymbol("y", m, 1)
t = sp.Symbol("t", real=True)
LAYOUTS = ["numerator", "denominator"]

ROWS = {
    "scalar by scalar": (sp.exp(2 * t) + t**3, t, False),
    "scalar by vector": ((y - A * x).T * (y - A * x), x, False),
    "vector by scalar": (F.exp(t * A * x), t, False),
    "vector by vector": (F.sigmoid(A * x), x, False),
    "row by vector": (x.T * A.T, x, False),
    "softmax by rows": (y.T * F.softmax(A, axis=1) * x, A, False),
    "per-sample logsumexp": (F.sum(F.logsumexp(A * X, axis=1)) + F.sum(F.logsumexp(A * X, axis=0)), X, False),
    "scalar by matrix": (sp.Trace(B * A * X), X, False),
    "matrix by scalar": (t**2 * A + F.sin(t * A), t, False),
    "vector by matrix": (A * X * sp.OneMatrix(p, 1), X, False),
    "matrix by matrix": (A * X, X, False),
    "matrix by matrix, vec": (B * A * X, A, True),
    "scalar by matrix, vec": (F.sum(F.tanh(A * X)), X, True),
    "log det": (sp.log(sp.Determinant(Q)), Q, False),
    "inverse": ((x.T * sp.Inverse(Q) * x), Q, False),
    "logistic loss": (F.sum(F.softplus(A * x)) - y.T * A * x, x, False),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("row", list(ROWS))
def test_check_is_ok_for_symcalc_derivatives(row, layout):
    expr, wrt, vec = ROWS[row]
    report = check(expr, wrt, layout=layout, vec=vec, seed=3)
    assert report.ok, str(report)
    assert isinstance(report, CheckReport) and report.layout == layout and report.seed == 3
    assert report.max_rel_error < 1e-6


def test_sizes_are_distinct_and_reported():
    report = check(sp.Trace(B * A * X), X, seed=0)
    assert set(report.sizes) == {"m", "n", "p"}
    assert len(set(report.sizes.values())) == 3
    assert all(2 <= v <= 5 for v in report.sizes.values())


def test_given_sizes_are_used():
    report = check(sp.Trace(B * A * X), X, sizes={m: 2, n: 3, p: 4})
    assert report.sizes == {"m": 2, "n": 3, "p": 4}
    assert report.actual.shape == (3, 4)
    assert check(sp.Trace(B * A * X), X, sizes={"m": 2, "n": 3, "p": 5}).actual.shape == (3, 5)


def test_four_way_array_layouts():
    num = check(A * X, X, layout="numerator", seed=1)
    den = check(A * X, X, layout="denominator", seed=1)
    mm, nn, pp = num.sizes["m"], num.sizes["n"], num.sizes["p"]
    assert num.ok and den.ok
    assert num.actual.shape == (mm, pp, nn, pp) and den.actual.shape == (nn, pp, mm, pp)


# --------------------------------------------------------------------------- wrong derivatives

@pytest.mark.parametrize("layout", LAYOUTS)
def test_wrong_derivatives_are_not_ok(layout):
    S = sp.MatrixSymbol("S", n, n)
    xAx = x.T * S * x
    claims = [
        (xAx, x, 2 * S * x),                         # right only for symmetric S
        (sp.log(sp.Determinant(S)), S, sp.Inverse(S)),   # X^{-1} instead of X^{-T}
        ((y - A * x).T * (y - A * x), x, -A.T * (y - A * x)),   # missing factor 2
    ]
    for expr, wrt, claim in claims:
        if layout == "numerator":
            claim = claim.T
        report = check(expr, wrt, layout=layout, derivative=claim, seed=2)
        assert not report.ok, str(report)
        assert "MISMATCH" in str(report)


def test_wrong_shape_is_reported():
    report = check((y - A * x).T * (y - A * x), x, layout="numerator",
                   derivative=-2 * A.T * (y - A * x), seed=0)
    assert not report.ok and "shape" in report.message


def test_claim_in_the_right_layout_is_ok():
    claim = -2 * (y - A * x).T * A
    assert check((y - A * x).T * (y - A * x), x, layout="numerator", derivative=claim).ok


# --------------------------------------------------------------------------- numeric_derivative

def test_numeric_derivative_vec_form_is_kronecker():
    rng = np.random.default_rng(0)
    L, R, X0 = rng.normal(size=(2, 3)), rng.normal(size=(4, 5)), rng.normal(size=(3, 4))
    J = numeric_derivative(lambda Z: L @ Z @ R, X0, layout="numerator", vec=True)
    np.testing.assert_allclose(J, np.kron(R.T, L), atol=1e-8)
    Jd = numeric_derivative(lambda Z: L @ Z @ R, X0, layout="denominator", vec=True)
    np.testing.assert_allclose(Jd, np.kron(R.T, L).T, atol=1e-8)
    T = numeric_derivative(lambda Z: L @ Z @ R, X0, layout="numerator")
    assert T.shape == (2, 5, 3, 4)
    np.testing.assert_allclose(T[1, 2, 0, 3], L[1, 0] * R[3, 2], atol=1e-8)


def test_numeric_derivative_scalar_layouts():
    rng = np.random.default_rng(1)
    M, X0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 4))
    den = numeric_derivative(lambda Z: np.trace(M @ Z), X0)
    num = numeric_derivative(lambda Z: np.trace(M @ Z), X0, layout="numerator")
    np.testing.assert_allclose(den, M.T, atol=1e-8)   # ∂tr(MX)/∂X = Mᵀ (Cookbook eq. 100)
    np.testing.assert_allclose(num, M, atol=1e-8)
    v = rng.normal(size=(3, 1))
    J = numeric_derivative(lambda z: np.tanh(M @ z), v, layout="numerator")
    np.testing.assert_allclose(J, (1 - np.tanh(M @ v) ** 2) * M, atol=1e-8)
    assert numeric_derivative(lambda s: s**3, 2.0) == pytest.approx(12.0)


def test_numeric_derivative_catches_a_wrong_gradient():
    """A deliberately wrong gradient (a transpose) differs from the finite differences."""
    rng = np.random.default_rng(2)
    M, X0 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    fd = numeric_derivative(lambda Z: np.trace(M @ Z), X0)
    assert np.max(np.abs(fd - M)) > 1e-3
    np.testing.assert_allclose(fd, M.T, atol=1e-8)


# --------------------------------------------------------------------------- values

def test_values_respect_the_domain():
    K, N = sp.symbols("K N", integer=True, positive=True)
    Yh = F.OneHot("Y", K, N)
    S = F.SymmetricMatrix("S", K)
    P = sp.MatrixSymbol("P", K, N)
    G = sp.MatrixSymbol("G", K, K)
    expr = sp.Tuple(F.sum(sp.HadamardProduct(Yh, F.log(P))), sp.log(sp.Determinant(G)), S * G)
    rng = np.random.default_rng(0)
    sizes = draw_sizes(size_symbols(expr), rng)
    vals = draw_values([Yh, S, P, G], sizes, rng, expr)
    np.testing.assert_array_equal(vals[Yh].sum(axis=0), 1.0)
    assert set(np.unique(vals[Yh])) <= {0.0, 1.0}
    np.testing.assert_array_equal(vals[S], vals[S].T)
    assert np.all(vals[P] > 0)
    assert np.linalg.det(vals[G]) > 0 and not np.allclose(vals[G], vals[G].T)
    assert np.all(np.linalg.eigvalsh(vals[G] + vals[G].T) > 0)


def test_log_of_a_positive_body_does_not_restrict_values():
    """log(σ(z)) and log(1 + e^z) are defined everywhere: the argument keeps normal draws."""
    from symcalc.numeric.check import _needs_positive
    assert _needs_positive(F.sum(F.log(F.sigmoid(A * x)))) == set()
    assert _needs_positive(F.sum(F.log(A * x))) == {A, x}


def test_report_str():
    report = check(sp.Trace(B * A * X), X, seed=5)
    text = str(report)
    assert text.startswith("OK") and "seed 5" in text and "denominator" in text
    assert bool(report) is True
