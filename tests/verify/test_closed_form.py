"""solve_stationary and check_closed_form: the normal equations with symbolic sizes, never a wrong formula."""
import sys

import numpy as np
import pytest
import sympy as sp
from sympy import Q

import symcalc.functions as F
from symcalc.errors import SymcalcError, UnsupportedError
from symcalc.numeric.closed_form import check_closed_form, positive_semidefinite, solve_stationary

n, d, k = sp.symbols("n d k", integer=True, positive=True)
lam = sp.Symbol("lambda", positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
r = y - X * theta
Inv = sp.Inverse

LS = Inv(X.T * X) * X.T * y


@pytest.mark.parametrize("objective", [
    r.T * r,                                                    # CMU recitation: ‖y − Xθ‖²
    F.norm2(r),
    F.norm2(X * theta - y),
    sp.Trace(r.T * r),
    y.T * y - 2 * y.T * X * theta + theta.T * X.T * X * theta,  # expanded
    sp.Rational(1, 2) * F.norm2(r),
    F.norm2(r) / n,                                             # mean squared error
    F.mse(X * theta, y),
], ids=["rtr", "norm2", "norm2-flipped", "trace", "expanded", "half", "mean", "mse"])
def test_least_squares(objective):
    cf = solve_stationary(objective, theta)
    assert cf.solution == LS
    assert cf.nature == "minimum" and cf.is_minimum is True
    (cond,) = cf.conditions
    assert cond.matrix == X.T * X and not cond.proven and "invertible" in cond.text
    assert cf.check.ok and cf.check.gradient_residual < 1e-9 and cf.check.solve_difference < 1e-9
    assert "theta* = " in str(cf)


def test_least_squares_agrees_with_lstsq():
    cf = solve_stationary(F.norm2(r), theta)
    assert cf.check.lstsq_difference is not None and cf.check.lstsq_difference < 1e-9
    assert len(cf.check.sizes) == 3


def test_ridge():
    cf = solve_stationary(F.norm2(r) + lam * F.norm2(theta), theta)
    assert cf.solution == Inv(X.T * X + lam * sp.Identity(d)) * X.T * y
    assert cf.is_minimum and cf.conditions[0].proven           # λ > 0: positive definite
    assert cf.check.lstsq_difference < 1e-9
    mu = sp.Symbol("mu")                                       # positivity given as an assumption
    cf = solve_stationary(F.norm2(r) + mu * theta.T * theta, theta, assumptions=Q.positive(mu))
    assert cf.solution == Inv(X.T * X + mu * sp.Identity(d)) * X.T * y and cf.conditions[0].proven
    cf = solve_stationary(F.norm2(r) + mu * theta.T * theta, theta)   # sign of mu unknown
    assert cf.nature == "unknown" and not cf.conditions[0].proven


def test_weighted_least_squares():
    W = F.SymmetricMatrix("W", n)
    objective = r.T * W * r
    cf = solve_stationary(objective, theta, assumptions=positive_semidefinite(W))
    assert cf.solution == Inv(X.T * W * X) * X.T * W * y
    assert cf.is_minimum and cf.check.lstsq_difference < 1e-9
    cf = solve_stationary(objective, theta)                    # symmetric but maybe indefinite
    assert cf.solution == Inv(X.T * W * X) * X.T * W * y
    assert cf.nature == "unknown" and cf.is_minimum is None


def test_quadratic_form():
    A = F.SymmetricMatrix("A", d)
    b = sp.MatrixSymbol("b", d, 1)
    objective = theta.T * A * theta - 2 * b.T * theta
    cf = solve_stationary(objective, theta)
    assert cf.solution == Inv(A) * b and cf.nature == "unknown"
    cf = solve_stationary(objective, theta, assumptions=Q.positive_definite(A))
    assert cf.solution == Inv(A) * b and cf.is_minimum and cf.conditions[0].proven
    G = sp.MatrixSymbol("G", d, d)                              # not symmetric: (G + Gᵀ)θ = 2b
    cf = solve_stationary(theta.T * G * theta - 2 * b.T * theta, theta)
    assert cf.check.ok and cf.solution.has(Inv(G + G.T))


def test_multi_output():
    B = sp.MatrixSymbol("B", d, k)
    Y = sp.MatrixSymbol("Y", n, k)
    for objective in (F.frobenius2(X * B - Y), sp.Trace((X * B - Y).T * (X * B - Y)),
                      F.frobenius2(Y - X * B) / 2):
        cf = solve_stationary(objective, B)
        assert cf.solution == Inv(X.T * X) * X.T * Y
        assert cf.is_minimum and cf.check.ok
    assert solve_stationary(F.frobenius2(X * B - Y), B).check.lstsq_difference < 1e-9


def test_variable_acting_from_the_right_and_an_intercept():
    Bt = sp.MatrixSymbol("B", k, n)
    Zt = sp.MatrixSymbol("Z", n, d)
    Y = sp.MatrixSymbol("Y", k, d)
    cf = solve_stationary(F.frobenius2(Bt * Zt - Y), Bt)         # gradient 2(BZ − Y)Zᵀ
    assert cf.solution == Y * Zt.T * Inv(Zt * Zt.T)
    assert cf.is_minimum and cf.check.ok and "d ≥ n" in cf.conditions[0].text
    b = sp.Symbol("b")
    cf = solve_stationary(F.norm2(y - X * theta - b * sp.OneMatrix(n, 1)), theta)
    assert cf.solution == Inv(X.T * X) * X.T * (y - b * sp.OneMatrix(n, 1)) and cf.check.ok


def test_maximum():
    cf = solve_stationary(-F.norm2(r), theta)
    assert cf.solution == LS and cf.nature == "maximum" and cf.is_minimum is False


def test_non_affine_gradients_have_no_closed_form():
    w = sp.MatrixSymbol("w", d, 1)
    with pytest.raises(UnsupportedError, match=r"no closed form is derived.*sigmoid\(X\*w\) is not linear in w"):
        solve_stationary(F.bce(F.sigmoid(X * w), y), w)          # logistic regression
    h = sp.Symbol("h", integer=True, positive=True)
    W1, v = sp.MatrixSymbol("W1", h, d), sp.MatrixSymbol("v", h, 1)
    x = sp.MatrixSymbol("x", d, 1)
    t = sp.MatrixSymbol("t", 1, 1)
    mlp = F.norm2(v.T * F.tanh(W1 * x) - t)
    with pytest.raises(UnsupportedError, match=r"tanh\(W1\*x\) is not linear in W1"):
        solve_stationary(mlp, W1)
    with pytest.raises(UnsupportedError, match="does not depend on"):
        solve_stationary(y.T * X * theta, theta)                 # linear: no stationary point


def test_a_wrong_formula_is_never_returned(monkeypatch):
    engine = sys.modules["symcalc.diff"]   # the package (symcalc.diff is also the function's name)
    real = engine.split_affine

    def off_by_two(G, v):
        M, c = real(G, v)
        return 2 * M, c                                          # a broken engine

    monkeypatch.setattr(engine, "split_affine", off_by_two)
    with pytest.raises(SymcalcError, match="failed its numeric check"):
        solve_stationary(F.norm2(r), theta)


def test_check_closed_form_reports_residuals():
    good = check_closed_form(LS, F.norm2(r), theta, seed=3)
    assert good.ok and good.gradient_residual < 1e-9 and good.lstsq_difference < 1e-9
    assert "np.linalg.lstsq" in str(good)
    # CMU recitation 5, question 7: Xᵀy has the wrong shape; and a shape-right wrong guess
    assert not check_closed_form(X.T * y, F.norm2(r), theta).ok
    A = sp.MatrixSymbol("A", n, d)
    wrong = Inv(X.T * X) * A.T * y
    bad = check_closed_form(wrong, F.norm2(r), theta)
    assert not bad.ok and bad.gradient_residual > 1e-3
    assert check_closed_form(Inv(X.T * X + lam * sp.Identity(d)) * X.T * y,
                             F.norm2(r) + lam * F.norm2(theta), theta).ok


def test_check_closed_form_without_a_sum_of_squares():
    A = F.SymmetricMatrix("A", d)
    b = sp.MatrixSymbol("b", d, 1)
    rep = check_closed_form(Inv(A) * b, theta.T * A * theta - 2 * b.T * theta, theta)
    assert rep.ok and rep.lstsq_difference is None and rep.solve_difference < 1e-9
    np.testing.assert_array_less(rep.gradient_residual, 1e-9)


def test_mean_of_samples_uses_1t1_equals_n():
    """Σᵢ ‖xᵢ − μ‖² = ‖X − μ1ᵀ‖²_F (samples as the columns of X): μ = X1/n, since 1ᵀ1 = n."""
    Xc, mu, one = sp.MatrixSymbol("X", d, n), sp.MatrixSymbol("mu", d, 1), sp.OneMatrix(1, n)
    for objective in (F.frobenius2(Xc - mu * one), sp.Trace((Xc - mu * one).T * (Xc - mu * one))):
        cf = solve_stationary(objective, mu)
        assert cf.solution == Xc * sp.OneMatrix(n, 1) / n
        assert cf.is_minimum and cf.check.ok and cf.conditions == []
    cf = solve_stationary(F.frobenius2(Xc - mu * one) + lam * F.norm2(mu), mu)   # shrunk towards 0
    assert cf.solution == Xc * sp.OneMatrix(n, 1) / (n + lam) and cf.check.ok


def test_a_singular_affine_gradient_says_singular():
    x, z, a = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("a", n, 1)
    for objective in (F.norm2(sp.OneMatrix(n, n) * x - z), F.norm2(a * (a.T * x) - z)):
        with pytest.raises(UnsupportedError, match=r"affine in x.*singular: its rank is at most 1.*n > 1"):
            solve_stationary(objective, x)
    A, w, t = sp.MatrixSymbol("A", 3, 5), sp.MatrixSymbol("w", 5, 1), sp.MatrixSymbol("t", 3, 1)
    with pytest.raises(UnsupportedError, match="singular: its rank is at most 3, less than its size 5;"):
        solve_stationary(F.norm2(A * w - t), w)
    A = sp.MatrixSymbol("A", 5, 3)
    assert solve_stationary(F.norm2(A * sp.MatrixSymbol("w", 3, 1) - sp.MatrixSymbol("t", 5, 1)),
                            sp.MatrixSymbol("w", 3, 1)).check.ok
