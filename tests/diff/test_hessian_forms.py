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


# --------------------------------------------------------------------------- vec Hessians by a matrix
# ∂vec(G)/∂vec(W)ᵀ of the matrix gradient G, read off its differential: vec(A dW B) = (Bᵀ ⊗ A) vec(dW),
# vec(dWᵀ) = K vec(dW) (commutation), vec(D ⊙ dE) = diag(vec D) vec(dE); never entry by entry.

def _vec_hessian_is_right(loss, W, sizes=S):
    H, g = hessian(loss, W), gradient(loss, W)
    assert dag.atoms(H, sp.KroneckerProduct), H  # the matrix form, not the entry-by-entry Jacobian
    for seed in (0, 1):
        assert_derivative(H, g, W, layout="numerator", vec=True, sizes=sizes, seed=seed)
        assert_derivative(H.T, g, W, layout="denominator", vec=True, sizes=sizes, seed=seed)
    return H


def test_vec_hessian_of_a_trace_quadratic_is_two_kronecker_products_at_symbolic_sizes():
    W, A, B = M("W", m, n), M("A", m, m), M("B", n, n)
    H = _vec_hessian_is_right(sp.Trace(W.T * A * W * B), W)
    assert set(H.args) == {sp.KroneckerProduct(B.T, A), sp.KroneckerProduct(B, A.T)}, H


def test_vec_hessian_of_least_squares_by_a_matrix():
    X, W, Y = M("X", m, n), M("W", n, p), M("Y", m, p)
    H = _vec_hessian_is_right(F.frobenius2(X * W - Y), W)
    assert H == sp.KroneckerProduct(sp.Identity(p), 2 * X.T * X) or \
        H == 2 * sp.KroneckerProduct(sp.Identity(p), X.T * X), H


def test_vec_hessian_of_a_sigmoid_layer_at_concrete_sizes():
    X, W, Y = M("X", 3, 2), M("W", 2, 4), M("Y", 3, 4)
    _vec_hessian_is_right(F.frobenius2(F.sigmoid(X * W) - Y), W)
    _vec_hessian_is_right(F.sum(F.sigmoid(X * W)), W)


def test_vec_hessian_of_the_tanh_network_by_its_hidden_weights():
    """r = tanh(tanh(X Wᵀ) v) − y with W 4 x 2 and 3 samples: Wᵀ inside gives commutation terms."""
    X, W, v, y = M("X", 3, 2), M("W", 4, 2), M("v", 4), M("y", 3)
    r = F.tanh(F.tanh(X * W.T) * v) - y
    for loss in (F.norm2(r), r.T * r):
        _vec_hessian_is_right(loss, W)


def test_vec_hessian_where_no_kronecker_form_is_read_falls_back_to_entries():
    """A scalar factor that depends on W (tr(W)·W) is not read off: the entry-by-entry Jacobian."""
    W = M("W", 2, 3)
    loss = sp.Trace(W * W.T) ** 2
    H, g = hessian(loss, W), gradient(loss, W)
    for layout, h in (("numerator", H), ("denominator", H.T)):
        assert_derivative(h, g, W, layout=layout, vec=True, sizes=S)


def test_mixed_vec_hessian_of_two_matrices():
    """∂²L/∂vec(W1)∂vec(W2)ᵀ of a two-layer sigmoid network: ∂vec(∇_{W1} L)/∂vec(W2)ᵀ."""
    X, W1, W2, Y = M("X", 3, 2), M("W1", 2, 4), M("W2", 4, 5), M("Y", 3, 5)
    loss = F.frobenius2(F.sigmoid(X * W1) * W2 - Y)
    H = hessian(loss, W1, W2)
    assert H.shape == (8, 20) and dag.atoms(H, sp.KroneckerProduct), H
    assert_derivative(H, gradient(loss, W1), W2, layout="numerator", vec=True, sizes=S)
    assert_derivative(H.T, gradient(loss, W1), W2, layout="denominator", vec=True, sizes=S)


def test_vec_jacobians_of_matrices_by_matrices_through_transposes_and_entrywise_weights():
    """diff(..., vec=True) reads the same forms: checked by sc.check, which differentiates nothing."""
    import symcalc as sc
    X, W = M("X", 3, 2), M("W", 4, 2)
    for expr in (F.tanh(X * W.T), W.T, X * W.T * W, sp.HadamardProduct(X * W.T, F.sigmoid(X * W.T)) * W):
        for layout in ("numerator", "denominator"):
            assert sc.check(expr, W, layout=layout, vec=True).ok, (expr, layout)
    assert dag.atoms(diff(F.tanh(X * W.T), W, vec=True), sp.KroneckerProduct)


def test_vec_hessian_at_symbolic_sizes_says_why_it_has_no_kronecker_form():
    import pytest
    from symcalc.errors import UnsupportedError
    r, X, W, v, y = tanh_network()
    with pytest.raises(UnsupportedError, match="commutation matrix or diag.vec D.*use concrete sizes"):
        hessian(F.norm2(r), W)
