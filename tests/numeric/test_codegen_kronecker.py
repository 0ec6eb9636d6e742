"""Generated code of vec-form Hessians and Jacobians: the commutation matrix is a reshape and a
transpose, vec(D) a reshape, a Kronecker product in a product is applied by reshapes (never built
there, never a literal), diag(v) scales rows. Each value is checked against central differences of
the gradient, evaluated by the reference evaluator (which shares no code with the printer)."""
import numpy as np
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.diff import diff, gradient, hessian
from symcalc.diff.linear import commutation
from symcalc.numeric import reference
from symcalc.numeric.lambdify import lambdify

M = sp.MatrixSymbol


def _values(args, sizes=None, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=tuple(int(sp.sympify(s).xreplace(sizes or {})) for s in a.shape)) for a in args]


def _fd_vec_jacobian(g, values, at, wrt_shape, eps=1e-6):
    """∂vec(g)/∂vec(values[at])ᵀ by central differences (column-major vec, numerator layout)."""
    p, q = wrt_shape
    cols = []
    for k in range(p * q):
        up, down = [v.copy() for v in values], [v.copy() for v in values]
        up[at][k % p, k // p] += eps
        down[at][k % p, k // p] -= eps
        cols.append(((g(*up) - g(*down)) / (2 * eps)).ravel(order="F"))
    return np.stack(cols, axis=1)


def _structured(source, built=1):
    """No written-out matrix, no dense diagonal; at most ``built`` Kronecker products built (the
    first factor of a product made only of structured factors, or a result's terms)."""
    assert "numpy.array(" not in source, source
    assert "diagflat" not in source, source
    assert source.count("numpy.kron(") <= built, source


def _check_vec_hessian(loss, args, W, W2=None, sizes=None, built=1):
    """hessian (numerator) and diff(gradient, vec=True) in both layouts, generated, against
    central differences of the reference gradient."""
    other = W if W2 is None else W2
    G = gradient(loss, W)
    forms = {"numerator": hessian(loss, W, W2),
             "denominator": diff(G, other, layout="denominator", vec=True)}
    values = _values(args, sizes)
    want = _fd_vec_jacobian(reference.function(G, args), values, args.index(other),
                            tuple(a.shape for a in values)[args.index(other)])
    scale = np.max(np.abs(want))
    for layout, H in forms.items():
        assert H.has(sp.KroneckerProduct), H
        f = lambdify(args, H)
        _structured(f.source, built)
        got = f(*values)
        expected = want if layout == "numerator" else want.T
        assert got.shape == expected.shape, (layout, got.shape)
        assert np.max(np.abs(got - expected)) <= 1e-6 * scale, (layout, f.source)


def tanh_network(m=5, h=4, d=3):
    X, W, v, y = M("X", m, d), M("W", h, d), M("v", h, 1), M("y", m, 1)
    return F.tanh(F.tanh(X * W.T) * v) - y, [X, W, v, y], W


@pytest.mark.parametrize("written", ["norm2", "rtr"])
def test_tanh_network_vec_hessian_by_hidden_weights(written):
    """Wᵀ inside: two commutation matrices and vec of two weights; the source is a few lines."""
    r, args, W = tanh_network()
    loss = F.norm2(r) if written == "norm2" else r.T * r
    _check_vec_hessian(loss, args, W)
    source = lambdify(args, hessian(loss, W)).source
    assert ".transpose(" in source and "order='F'" in source, source
    assert len(source) < 4000, len(source)


def test_tanh_network_at_the_bench_size_has_no_literal():
    """The 144 x 144 and 240 x 240 commutation matrices of the 12 x 12 bench are reshapes."""
    r, args, W = tanh_network(20, 12, 12)
    f = lambdify(args, hessian(F.norm2(r), W))
    _structured(f.source)
    assert len(f.source) < 4000, len(f.source)
    values = _values(args, seed=3)
    want = _fd_vec_jacobian(reference.function(gradient(F.norm2(r), W), args), values, 1, (12, 12))
    assert np.max(np.abs(f(*values) - want)) <= 1e-6 * np.max(np.abs(want))


def test_sigmoid_layer_and_mixed_vec_hessians():
    X, W, Y = M("X", 3, 2), M("W", 2, 4), M("Y", 3, 4)
    _check_vec_hessian(F.frobenius2(F.sigmoid(X * W) - Y), [X, W, Y], W)
    X, W1, W2, Y = M("X", 3, 2), M("W1", 2, 4), M("W2", 4, 5), M("Y", 3, 5)
    _check_vec_hessian(F.frobenius2(F.sigmoid(X * W1) * W2 - Y), [X, W1, W2, Y], W1, W2)


def test_vec_hessians_at_symbolic_sizes_print():
    m, n, p = sp.symbols("m n p", integer=True, positive=True)
    sizes = {m: 4, n: 3, p: 2}
    W, A, B = M("W", m, n), M("A", m, m), M("B", n, n)
    _check_vec_hessian(sp.Trace(W.T * A * W * B), [W, A, B], W, sizes=sizes, built=2)  # Bᵀ ⊗ A + B ⊗ Aᵀ
    X, W, Y = M("X", m, n), M("W", n, p), M("Y", m, p)
    _check_vec_hessian(F.frobenius2(X * W - Y), [X, W, Y], W, sizes=sizes)


def test_kronecker_products_in_products_at_symbolic_sizes():
    """(A ⊗ B) C and C (A ⊗ B), with and without identity factors: reshapes, no numpy.kron."""
    m, n, p, q, k = sp.symbols("m n p q k", integer=True, positive=True)
    A, B = M("A", m, p), M("B", n, q)
    C, R = M("C", p * q, k), M("R", k, m * n)
    Ip, Iq, Im, In = sp.Identity(p), sp.Identity(q), sp.Identity(m), sp.Identity(n)
    P, Q = M("P", p, p), M("Q", q, q)
    cases = [
        (sp.KroneckerProduct(A, B) * C, lambda A, B, C, R, P, Q: np.kron(A, B) @ C),
        (sp.KroneckerProduct(Ip, B) * C, lambda A, B, C, R, P, Q: np.kron(np.eye(len(P)), B) @ C),
        (sp.KroneckerProduct(A, Iq) * C, lambda A, B, C, R, P, Q: np.kron(A, np.eye(len(Q))) @ C),
        (R * sp.KroneckerProduct(A, B), lambda A, B, C, R, P, Q: R @ np.kron(A, B)),
        (R * sp.KroneckerProduct(Im, B), lambda A, B, C, R, P, Q: R @ np.kron(np.eye(A.shape[0]), B)),
        (R * sp.KroneckerProduct(A, In), lambda A, B, C, R, P, Q: R @ np.kron(A, np.eye(B.shape[0]))),
        (R * sp.KroneckerProduct(A, B) * sp.KroneckerProduct(P, Q) * C,
         lambda A, B, C, R, P, Q: R @ np.kron(A, B) @ np.kron(P, Q) @ C),
        (R * (sp.KroneckerProduct(A, B) + 2 * sp.KroneckerProduct(A, B) * sp.KroneckerProduct(Ip, Q)) * C,
         lambda A, B, C, R, P, Q: R @ (np.kron(A, B) + 2 * np.kron(A, B) @ np.kron(np.eye(len(P)), Q)) @ C),
    ]
    args = [A, B, C, R, P, Q]
    values = _values(args, {m: 3, n: 4, p: 2, q: 5, k: 6})
    for expr, want in cases:
        f = lambdify(args, expr)
        assert "numpy.kron(" not in f.source, f.source
        np.testing.assert_allclose(f(*values), want(*values), rtol=1e-12, atol=1e-12)


def test_commutation_matrices_are_applied_not_written():
    r, c = 3, 4
    K = commutation(r, c)
    Kv = np.array(K.tolist(), dtype=float)
    A, C, R = M("A", r, c), M("C", r * c, 2), M("R", 5, r * c)
    values = _values([A, C, R])
    vec = sp.ImmutableMatrix([A[i, j] for j in range(c) for i in range(r)])
    for expr, want in [(K * C, Kv @ values[1]), (R * K, values[2] @ Kv), (K, Kv),
                       (K * vec, values[0].reshape(-1, 1)), (K.T * C, Kv.T @ values[1])]:
        f = lambdify([A, C, R], expr)
        assert "numpy.array(" not in f.source, f.source
        np.testing.assert_array_equal(f(*values), want)
    # other explicit 0/1 matrices are what they are
    P = sp.ImmutableMatrix(12, 12, lambda a, b: int(a == (b + 1) % 12))
    f = lambdify([C], P * C)
    np.testing.assert_array_equal(f(values[1]), np.array(P.tolist(), dtype=float) @ values[1])
