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
