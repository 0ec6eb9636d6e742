"""The oracle itself: it accepts derivatives worked out by hand and rejects wrong ones.

If these fail, every other test in this folder means nothing; none of them uses the engine.
"""
import numpy as np
import pytest
import sympy as sp

from symcalc import functions as F

from . import oracle as O

m, n, p = sp.symbols("m n p", integer=True, positive=True)
S = {m: 3, n: 2, p: 4}
A, X, B = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("X", n, p), sp.MatrixSymbol("B", p, m)
Y = sp.MatrixSymbol("Y", n, n)
x, y = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", m, 1)
t = sp.Symbol("t")


def rejects(*args, **kwargs):
    with pytest.raises(AssertionError):
        O.check(*args, **kwargs)


def test_scalar_by_matrix_both_layouts_and_rejects_transpose():
    f = sp.Trace(A * X * B)
    O.check(A.T * B.T, f, X, sizes=S)
    O.check(B * A, f, X, sizes=S, layout="numerator")
    rejects(B * A, f, X, sizes=S)
    rejects(2 * A.T * B.T, f, X, sizes=S)


def test_square_case_rejects_transposed_gradient():
    # d tr(A Y) / dY = A^T; at a square size only the values can tell A from A^T
    C = sp.MatrixSymbol("C", n, n)
    O.check(C.T, sp.Trace(C * Y), Y, sizes={n: 3})
    rejects(C, sp.Trace(C * Y), Y, sizes={n: 3})


def test_log_det_draws_invertible_unsymmetric_values():
    point = O.make_point(sp.log(sp.Determinant(Y)), {n: 3})
    v = point.values[Y.subs(n, 3)]
    assert np.linalg.det(v) > 0 and not np.allclose(v, v.T)
    O.check(Y.I.T, sp.log(sp.Determinant(Y)), Y, sizes={n: 3})
    rejects(Y.I, sp.log(sp.Determinant(Y)), Y, sizes={n: 3})
    rejects(-Y.I * Y.I, sp.Trace(Y.I), Y, sizes={n: 3})
    O.check(-(Y.I * Y.I).T, sp.Trace(Y.I), Y, sizes={n: 3})
    O.check(sp.Determinant(Y) * Y.I.T, sp.Determinant(Y), Y, sizes={n: 3})


def test_vector_by_vector_and_by_scalar():
    W = sp.MatrixSymbol("W", m, n)
    O.check(W, W * x, x, sizes=S, layout="numerator")
    O.check(W.T, W * x, x, sizes=S)
    O.check(x, t * x, t, sizes=S, layout="numerator")
    O.check(x.T, t * x, t, sizes=S)
    O.check(3 * t**2, t**3, t)


def test_matrix_by_matrix_array_and_vec():
    # d(A X B)_ij / dX_kl = A_ik B_lj
    Ae, Xe, Be = (M.subs(S) for M in (A, X, B))
    point = O.make_point(Ae * Xe * Be)
    a, b = point.values[Ae], point.values[Be]
    want = np.einsum("ik,lj->ijkl", a, b)
    J = O.jacobian_fd(Ae * Xe * Be, Xe, point)
    assert np.allclose(J, want, atol=1e-7)
    assert np.allclose(O.arrange(J, Ae * Xe * Be, Xe, "denominator"), want.transpose(2, 3, 0, 1))
    O.check(sp.KroneckerProduct(B.T, A), A * X * B, X, sizes=S, vec=True, layout="numerator")
    O.check(sp.KroneckerProduct(B.T, A).T, A * X * B, X, sizes=S, vec=True)
    rejects(sp.KroneckerProduct(A, B.T), A * X * B, X, sizes=S, vec=True, layout="numerator")


def test_elementwise_functions_and_symcalc_nodes():
    w, W, b = sp.MatrixSymbol("w", m, 1), sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("b", m, 1)
    z = W * x + b
    s = F.Sigmoid(F.ELEMENT)
    grad = sp.HadamardProduct(w, F.elementwise(s * (1 - s), z)) * x.T
    O.check(grad, w.T * F.sigmoid(z), W, sizes=S)
    rejects(sp.HadamardProduct(w, F.sigmoid(z)) * x.T, w.T * F.sigmoid(z), W, sizes=S)
    v = sp.MatrixSymbol("v", m, 1)
    O.check(F.softmax(v), F.logsumexp(v), v, sizes=S)
    O.check(2 * v, F.norm2(v), v, sizes=S)
    O.check(sp.OneMatrix(m, 1), F.sum(v), v, sizes=S)


def test_domains():
    W = sp.MatrixSymbol("W", m, n)
    dom = O.infer_domains(F.sum(F.log(W * x)))
    assert dom == {W: "positive", x: "positive"}
    assert O.infer_domains(F.sum(F.log(F.sigmoid(W * x)))) == {}
    assert O.infer_domains(sp.Trace(Y.I)) == {Y: "pd"}
    onehot = F.OneHot("c", 4, 3)
    v = O.draw(onehot, None, np.random.default_rng(0))
    assert np.all(v.sum(axis=0) == 1) and set(np.unique(v)) == {0.0, 1.0}
    sym = O.draw(F.SymmetricMatrix("K", 3), None, np.random.default_rng(0))
    assert np.allclose(sym, sym.T)
