"""Hessians in matrix form: one diagonal, never a sum or product of n x n diagonal matrices; the
same result for ‖r‖² however it is written. Checked against the oracle in both layouts."""
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

import symcalc.functions as F
from symcalc import dag
from symcalc.diff import diff, gradient, hessian
from symcalc.numeric.lambdify import lambdify
from symcalc.simplify import add, mul

from .common import SIZES, M, assert_derivative, m, n, p

S = SIZES["small"]


def tanh_network():
    """r = tanh(tanh(X Wᵀ) v) − y: m samples as rows, W p x n, output weights v."""
    X, W, v, y = M("X", m, n), M("W", p, n), M("v", p), M("y", m)
    return F.tanh(F.tanh(X * W.T) * v) - y, X, W, v, y


def test_sums_and_products_of_diagonals_are_one_diagonal():
    a, b, A = M("a", m), M("b", m), M("A", m, n)
    assert add((m, m), 2 * DiagMatrix(a), -DiagMatrix(b)) == DiagMatrix(2 * a - b)
    assert mul(DiagMatrix(a), DiagMatrix(b), A) == DiagMatrix(sp.HadamardProduct(a, b)) * A


def test_tanh_network_hessian_by_output_weights_is_one_diagonal_in_both_layouts():
    r, X, W, v, y = tanh_network()
    loss = F.norm2(r)
    H = hessian(loss, v)
    assert len(dag.atoms(H, DiagMatrix)) == 1, H
    g = gradient(loss, v)
    assert_derivative(H, g, v, layout="numerator", sizes=S)
    assert_derivative(H.T, g, v, layout="denominator", sizes=S)
    assert "diagflat" not in lambdify([X, W, v, y], H).source


def test_rtr_and_norm2_are_the_same_to_every_function():
    """SymPy writes rᵀ with tanh(vᵀ tanh(W Xᵀ)), a copy of the network transposed inside; prepare
    reads it as tanh(tanh(X Wᵀ) v)ᵀ, so that rᵀr is ‖r‖² to diff, hessian, derive and codegen."""
    from symcalc.derivation import derive

    r, X, W, v, y = tanh_network()
    a, b = F.norm2(r), r.T * r
    for wrt in (X, W, v, y):
        for layout in ("numerator", "denominator"):
            assert diff(a, wrt, layout=layout) == diff(b, wrt, layout=layout), (wrt, layout)
    assert hessian(a, v) == hessian(b, v)
    for style in ("chain", "differential"):
        assert derive(a, W, style=style).result == derive(b, W, style=style).result, style
    assert_derivative(hessian(b, v), gradient(b, v), v, layout="numerator", sizes=S)
    T = F.tanh(X * W.T)
    assert diff(sp.Trace(T.T * T), W) == diff(F.frobenius2(T), W)
