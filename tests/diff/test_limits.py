"""Inputs that hung or exhausted memory (issue 16) get an answer or an error naming a limit of
``symcalc.limits`` (docs/errors.md lists them)."""
import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc import limits
from symcalc.cli import main
from symcalc.errors import ParseError, UnsupportedError
from symcalc.parse import parse

from .common import LAYOUTS

n = sp.Symbol("n", integer=True, positive=True)


def _cli(capsys, *args):
    status = main(["derive", *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.mark.parametrize("args, limit", [
    (["((((9**64)**64)**64)**64)**64*x.T*x", "--shape", "x=n", "--wrt", "x"], "MAX_NUMBER_DIGITS"),
    (["tr((A**1000)**1000)", "--shape", "A=n,n", "--wrt", "A"], "MAX_MATRIX_POWER"),
    (["X[0,0]", "--shape", "X=100000,100000", "--wrt", "X"], "MAX_EXPLICIT_ENTRIES"),
    (["sum(kron(A,B))", "--shape", "A=40,40", "--shape", "B=40,40", "--wrt", "A"],
     "MAX_EXPLICIT_ENTRIES"),
    (["x.T*x", "--shape", "x=100000", "--wrt", "x", "--check"], "MAX_CHECK_ENTRIES"),
    (["sum(ones(100000,100000)*x)", "--shape", "x=100000", "--wrt", "x", "--check"],
     "MAX_CHECK_ENTRIES"),
    (["sum(X)", "--shape", "X=2000,2000", "--wrt", "X", "--check"], "MAX_CHECK_VALUES"),
    (["1" + "0" * 1200 + "*x.T*x", "--shape", "x=n", "--wrt", "x"], "MAX_NUMBER_DIGITS"),
], ids=["nested exponents", "power of a power", "entry of a huge matrix", "kron 40x40",
        "check of a long vector", "check with a huge constant", "check of a big matrix", "long number"])
def test_the_command_line_names_the_limit(args, limit, capsys):
    status, out = _cli(capsys, *args)
    assert status == 2
    assert f"symcalc.limits.{limit}" in out, out


def test_the_api_names_the_limits():
    A = sp.MatrixSymbol("A", n, n)
    with pytest.raises(limits.LimitError, match="MAX_MATRIX_POWER"):
        sc.diff(sp.Trace(sp.MatPow(A, 10**6)), A)
    Z = sp.MatrixSymbol("Z", 10**5, 10**5)
    with pytest.raises(UnsupportedError, match="MAX_EXPLICIT_ENTRIES"):
        sc.diff(Z[0, 0], Z)
    with pytest.raises(ParseError, match="MAX_NUMBER_DIGITS"):
        parse("((9**64)**64)*x.T*x", {"x": ("n", 1)})
    with pytest.raises(UnsupportedError, match="MAX_NUMBER_DIGITS"):
        parse("((9**64)**64)*x.T*x", {"x": ("n", 1)})
    x = sp.MatrixSymbol("x", 10**5, 1)
    with pytest.raises(UnsupportedError, match="MAX_CHECK_ENTRIES"):
        sc.check(x.T * x, x)
    i = sp.Symbol("i", integer=True)
    x = sp.MatrixSymbol("x", 10**5, 1)
    with pytest.raises(UnsupportedError, match="MAX_SUM_TERMS"):
        sc.diff(sp.Sum(x[i, 0]**2, (i, 0, 10**5 - 2)), x)


def test_a_limit_can_be_raised(monkeypatch):
    A = sp.MatrixSymbol("A", n, n)
    monkeypatch.setattr(limits, "MAX_MATRIX_POWER", 5)
    with pytest.raises(limits.LimitError, match="MAX_MATRIX_POWER = 5"):
        sc.diff(sp.Trace(A**6), A)
    monkeypatch.setattr(limits, "MAX_MATRIX_POWER", 10)
    assert sc.check(sp.Trace(A**6), A).ok


@pytest.mark.parametrize("size", [3, 4])
def test_the_jacobian_of_a_4x4_inverse_of_an_entrywise_function(size):
    """(3I + tanh(M)/5)⁻¹ by M ran for more than 600 s at 4 x 4; it is read off the reverse sweep."""
    M = sp.MatrixSymbol("M", size, size)
    expr = sp.Inverse(3 * sp.Identity(size) + sc.tanh(M) / 5)
    for layout in LAYOUTS:
        D = sc.diff(expr, M, layout=layout)
        assert D.shape == (size,) * 4
        assert sc.check(expr, M, layout=layout).ok
        assert sc.check(expr, M, layout=layout, vec=True).ok
    values = np.eye(size) * 0.5 + 0.1
    got = sc.lambdify([M], sc.diff(expr, M, layout="numerator"))(values)   # [i, j, k, l]
    A = 3 * np.eye(size) + np.tanh(values) / 5
    Ainv = np.linalg.inv(A)
    k, l = 1, 2   # ∂(A⁻¹)/∂M_kl = −A⁻¹ (∂A/∂M_kl) A⁻¹, ∂A/∂M_kl = tanh'(M_kl)/5 e_k e_lᵀ
    E = np.zeros((size, size))
    E[k, l] = (1 - np.tanh(values[k, l]) ** 2) / 5
    np.testing.assert_allclose(got[:, :, k, l], -Ainv @ E @ Ainv, atol=1e-12)


def test_recursion_past_the_limit_is_a_limit_error_not_a_crash():
    @limits.deep
    def forever(k):
        return forever(k + 1) + 1

    with pytest.raises(limits.LimitError, match="MAX_RECURSION"):
        forever(0)
    assert forever.__name__ == "forever"
