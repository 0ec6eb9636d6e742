"""The diagnoses do not depend on the random draw: every seed gives the same verdict (slow)."""
import pytest
import sympy as sp
from sympy import IndexedBase

import symcalc.functions as F
from symcalc.numeric.closed_form import solve_stationary
from symcalc.numeric.verify import verify, verify_entrywise

n, d, N = sp.symbols("n d N", integer=True, positive=True)
i, j, k = sp.symbols("i j k", integer=True)
X, y, theta = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("theta", d, 1)
A, x = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1)
r = y - X * theta
s = sp.Symbol("s")
Xb, W, b = sp.MatrixSymbol("X", N, d), sp.MatrixSymbol("W", d, d), sp.MatrixSymbol("b", d, 1)
Z = Xb * W.T + sp.OneMatrix(N, 1) * b.T
u = IndexedBase("u")

CASES = [
    (lambda seed: verify(-2 * X.T * r, F.norm2(r), theta, seed=seed).status, "correct"),
    (lambda seed: verify(-X.T * r, F.norm2(r), theta, seed=seed).factor, sp.Rational(1, 2)),
    (lambda seed: verify(-2 * X.T * r, F.norm2(r) / n, theta, seed=seed).factor, n),
    (lambda seed: verify(2 * A * x, x.T * A * x, x, seed=seed).diagnosis, "symmetric"),
    (lambda seed: verify(A.T, A * x, x, layout="numerator", seed=seed).diagnosis, "transpose"),
    (lambda seed: verify(A.inverse(), sp.log(sp.det(A)), A, seed=seed).diagnosis, "transpose"),
    (lambda seed: verify(F.sigmoid(s) * (1 + F.sigmoid(s)), F.sigmoid(s), s, seed=seed).diagnosis, "entries"),
    (lambda seed: verify_entrywise(u[i, k], Z, W, of=(i, j), by=(j, k), where={u: F.exp(Z)},
                                   seed=seed).diagnosis, "entries"),
    (lambda seed: solve_stationary(F.norm2(r), theta, seed=seed).solution, sp.Inverse(X.T * X) * X.T * y),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_verdict_for_every_seed(case):
    run, expected = CASES[case]
    assert [run(seed) for seed in range(20)] == [expected] * 20
