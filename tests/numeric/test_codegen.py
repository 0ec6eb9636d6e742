"""Generated source: shared sub-expressions once, input shape checks, names, standalone modules."""
import importlib.util
import re

import numpy as np
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.errors import ShapeError, SymcalcError, UnsupportedError
from symcalc.functions import ELEMENT, elementwise
from symcalc.numeric.codegen import codegen
from symcalc.numeric.lambdify import lambdify

n, d = sp.symbols("n d", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
w = sp.MatrixSymbol("w", d, 1)


def logistic():
    s = F.sigmoid(X * w)
    loss = F.sum(F.softplus(X * w)) - y.T * X * w
    grad = X.T * (s - y)
    hess = X.T * sp.DiagMatrix(elementwise(F.Sigmoid(ELEMENT) * (1 - F.Sigmoid(ELEMENT)), X * w)) * X
    return loss, grad, hess


# --------------------------------------------------------------------------- common sub-expressions

def test_forward_sigmoid_computed_once_and_reused():
    s = F.sigmoid(X * w)
    loss = -F.sum(F.log(s))
    grad = X.T * (s - y)
    hess = X.T * sp.DiagMatrix(elementwise(F.Sigmoid(ELEMENT) * (1 - F.Sigmoid(ELEMENT)), X * w)) * X
    src = codegen([loss, grad, hess], [X, y, w])
    assert src.count("numpy.exp(") == 1, src      # σ(z) once
    assert src.count("X @ w") == 1, src           # z = X w once
    assert "diagflat" not in src                  # Xᵀ diag(s) X is a broadcast, not an n x n matrix
    name = re.search(r"(\w+) = 1 / \(1 \+ numpy\.exp", src).group(1)
    assert src.count(name) >= 4                   # used by the loss, the gradient and the Hessian


def test_gram_with_nonnegative_diagonal_is_a_symmetric_product():
    """Xᵀ diag(σ(1 − σ)) X = Bᵀ B with B = √(σ(1 − σ)) ⊙ X (σ(1 − σ) ≥ 0 is proved, not sampled)."""
    s = F.sigmoid(X * w)
    hess = X.T * sp.DiagMatrix(sp.HadamardProduct(s, sp.OneMatrix(n, 1) - s)) * X
    f = lambdify([X, w], hess)
    assert "numpy.sqrt(" in f.source and ".T @ b1" in f.source
    rng = np.random.default_rng(0)
    Xv, wv = rng.normal(size=(6, 3)), 3 * rng.normal(size=(3, 1))
    sv = 1 / (1 + np.exp(-Xv @ wv))
    np.testing.assert_allclose(f(Xv, wv), Xv.T @ np.diag((sv * (1 - sv)).ravel()) @ Xv)
    v = sp.MatrixSymbol("v", n, 1)   # a diagonal of unknown sign keeps the plain broadcast
    g = lambdify([X, v], X.T * sp.DiagMatrix(v) * X)
    assert "sqrt" not in g.source
    vv = -np.abs(rng.normal(size=(6, 1)))
    np.testing.assert_allclose(g(Xv, vv), Xv.T @ np.diag(vv.ravel()) @ Xv)


def test_shared_inverse_is_computed_once():
    A = sp.MatrixSymbol("A", n, n)
    src = codegen([sp.Inverse(A) * X, X.T * sp.Inverse(A)], [A, X])
    assert src.count("numpy.linalg.inv(") == 1


def test_unshared_inverse_times_matrix_is_a_solve():
    A = sp.MatrixSymbol("A", n, n)
    src = codegen(sp.Inverse(X.T * X + sp.Identity(d)) * X.T * y, [X, y])
    assert "numpy.linalg.solve(" in src and "inv(" not in src


def test_deep_network_gradient_source_is_linear_in_depth():
    """Shared activations are named once: the source grows linearly with the depth."""
    def source_size(L):
        h = sp.MatrixSymbol("x", d, 1)
        Ws = [sp.MatrixSymbol(f"W{i}", d, d) for i in range(L)]
        for W in Ws:
            h = F.sigmoid(W * h)
        return len(codegen([F.sum(h), h, h.T * h], [sp.MatrixSymbol("x", d, 1)] + Ws))
    s4, s8, s16 = source_size(4), source_size(8), source_size(16)
    assert s16 - s8 == pytest.approx(2 * (s8 - s4), rel=0.2)


# --------------------------------------------------------------------------- input checks

def test_one_d_array_for_a_column_is_refused_naming_the_argument():
    f = lambdify([X, y], X.T * y)
    with pytest.raises(ShapeError, match=r"argument y .*reshape\(-1, 1\)"):
        f(np.ones((4, 3)), np.ones(4))


def test_symbolic_size_must_agree_across_arguments():
    f = lambdify([X, y], X.T * y)
    with pytest.raises(ShapeError, match=r"y has shape \(5, 1\), expected \(n, 1\) = \(4, 1\) \(n from X\)"):
        f(np.ones((4, 3)), np.ones((5, 1)))


def test_integer_sizes_must_match():
    Z = sp.MatrixSymbol("Z", 2, 3)
    f = lambdify([Z], Z.T)
    assert f(np.ones((2, 3))).shape == (3, 2)
    with pytest.raises(ShapeError, match="Z has shape"):
        f(np.ones((3, 2)))


def test_square_declaration_is_checked():
    A = sp.MatrixSymbol("A", n, n)
    with pytest.raises(ShapeError, match=r"expected \(n, n\)"):
        lambdify([A], sp.Trace(A))(np.ones((2, 3)))


def test_size_expression_is_solved_and_checked():
    W = sp.MatrixSymbol("W", n, d + 1)
    x = sp.MatrixSymbol("x", d, 1)
    f = lambdify([W, x], W.T * W)
    assert f(np.ones((2, 4)), np.ones((3, 1))).shape == (4, 4)
    with pytest.raises(ShapeError, match=r"W has shape \(2, 4\), expected \(n, d \+ 1\) = \(2, 5\)"):
        f(np.ones((2, 4)), np.ones((4, 1)))
    g = lambdify([W], W.T * W)  # d only from W: solved as d = W.shape[1] - 1
    assert "d = int(W.shape[1] - 1)" in g.source
    assert g(np.ones((2, 4))).shape == (4, 4)


def test_size_that_is_not_a_whole_solution_is_refused():
    V = sp.MatrixSymbol("V", 2 * d, 1)
    f = lambdify([V], V.T * V)
    assert f(np.ones((4, 1)))[0, 0] == 4.0
    with pytest.raises(ShapeError, match="V has shape"):
        f(np.ones((5, 1)))


def test_declared_structure_is_checked():
    """2 S x is right only for a symmetric S: a non-symmetric array is refused, not miscomputed."""
    S = F.SymmetricMatrix("S", n)
    x = sp.MatrixSymbol("x", n, 1)
    Y = F.OneHot("Y", 3, n)
    f = lambdify([S, x, Y], [2 * S * x, Y.T])
    sym = np.array([[2.0, 1.0], [1.0, 3.0]])
    onehot = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    f(sym, np.ones((2, 1)), onehot)
    f(sym + np.array([[0, 1e-5], [0, 0]]), np.ones((2, 1)), onehot + 1e-5)  # a difference step
    with pytest.raises(ValueError, match="S is declared symmetric"):
        f(np.array([[2.0, 1.0], [0.0, 3.0]]), np.ones((2, 1)), onehot)
    with pytest.raises(ValueError, match="Y is declared one-hot"):
        f(sym, np.ones((2, 1)), onehot * 2)
    g = lambdify([S, x, Y], 2 * S * x, structure=False)
    g(np.array([[2.0, 1.0], [0.0, 3.0]]), np.ones((2, 1)), onehot * 2)


def test_scalar_results_are_floats_and_1x1_are_arrays():
    f = lambdify([X, w], [sp.Trace(X.T * X), w.T * w])
    tr, sq = f(np.ones((3, 2)), np.ones((2, 1)))
    assert isinstance(tr, float) and tr == 6.0
    assert isinstance(sq, np.ndarray) and sq.shape == (1, 1) and sq[0, 0] == 2.0


# --------------------------------------------------------------------------- names

@pytest.mark.parametrize("bad", ["A^{(1)}", "x.y", "a b", "__import__", "", "1x"])
def test_names_that_are_not_plain_identifiers_are_rejected(bad):
    A = sp.MatrixSymbol(bad, 2, 2)
    with pytest.raises(SymcalcError, match="name"):
        lambdify([A], A * A)


def test_keywords_and_reserved_names_get_an_underscore():
    lam, M = sp.Symbol("lambda", positive=True), sp.MatrixSymbol("numpy", 2, 2)
    f = lambdify([lam, M], lam * M)
    assert "lambda_" in f.source and "numpy_" in f.source
    np.testing.assert_allclose(f(0.5, np.eye(2)), 0.5 * np.eye(2))
    with pytest.raises(ShapeError, match="argument numpy "):
        f(0.5, np.eye(3))


def test_two_arguments_with_the_same_name_are_rejected():
    a1, a2 = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("A", 3, 3)
    with pytest.raises(SymcalcError, match="share the name"):
        lambdify([a1, a2], a1)


def test_missing_argument_is_named():
    with pytest.raises(SymcalcError, match=r"matrix w .* not among the arguments"):
        lambdify([X], X * w)


def test_ill_shaped_expression_is_refused():
    """SymPy builds Trace(row) (its tr(a ⊗ b) = tr(a) tr(b) rule); NumPy would sum a diagonal."""
    r = sp.MatrixSymbol("r", 1, n)
    with pytest.raises(ShapeError, match="trace"):
        lambdify([r], sp.Trace(r))


def test_unsupported_power_is_named():
    A = sp.MatrixSymbol("A", n, n)
    with pytest.raises(UnsupportedError, match="exponent"):
        lambdify([A], sp.MatPow(A, sp.Symbol("p")))


def test_unsupported_scalar_function_is_named():
    with pytest.raises(UnsupportedError, match="zeta"):
        lambdify([X], X.applyfunc(sp.zeta))


def test_product_order_is_kept_for_plain_names():
    """SymPy issue 20883: with plain names A*B is A @ B, never B @ A."""
    A, B = sp.MatrixSymbol("A", 2, 3), sp.MatrixSymbol("B", 3, 2)
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0, 12).reshape(3, 2)
    np.testing.assert_array_equal(lambdify([A, B], A * B)(a, b), a @ b)


# --------------------------------------------------------------------------- standalone modules

def test_generated_module_written_to_a_file_imports_and_runs(tmp_path):
    src = codegen(list(logistic()), [X, y, w], name="logistic")
    imports = [line for line in src.splitlines() if re.match(r"\s*(import|from)\s", line)]
    assert imports == ["import numpy"]
    path = tmp_path / "logistic_generated.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("logistic_generated", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    rng = np.random.default_rng(0)
    Xv, wv = rng.normal(size=(7, 3)), rng.normal(size=(3, 1))
    yv = (rng.uniform(size=(7, 1)) > 0.5).astype(float)
    loss, grad, hess = mod.logistic(Xv, yv, wv)
    z = Xv @ wv
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(loss, np.sum(np.logaddexp(0, z)) - yv.T @ z)
    np.testing.assert_allclose(grad, Xv.T @ (s - yv))
    np.testing.assert_allclose(hess, Xv.T @ np.diag((s * (1 - s)).ravel()) @ Xv)
    with pytest.raises(mod.ShapeError, match="argument y"):
        mod.logistic(Xv, yv.ravel(), wv)
    assert issubclass(mod.ShapeError, ValueError)


def test_a_product_with_a_square_ones_matrix_is_a_repeated_sum():
    """1 1ᵀ A (the softmax backward pass) is a column sum repeated, not a k x k product."""
    import numpy as np
    import sympy as sp
    from symcalc import codegen, lambdify
    k = sp.Symbol("k", integer=True, positive=True)
    A = sp.MatrixSymbol("A", k, 3)
    exprs = [sp.OneMatrix(k, k) * A, 2 * A * sp.OneMatrix(3, 5)]
    assert "numpy.ones((k, k))" not in codegen(exprs, [A])
    a = np.arange(12.0).reshape(4, 3)
    first, second = lambdify([A], exprs)(a)
    np.testing.assert_allclose(first, np.ones((4, 4)) @ a)
    np.testing.assert_allclose(second, 2 * a @ np.ones((3, 5)))
    first += 1  # an array of its own, not a read-only view


def test_log_of_a_sigmoid_is_finite_where_the_sigmoid_rounds_to_0_or_1():
    """bce at logits of ±50: log σ and log(1 − σ) are −log(1 + e^∓u), not log(0) = −inf (nan loss)."""
    from symcalc.functions import Sigmoid
    X, w, y = sp.MatrixSymbol("X", 2, 2), sp.MatrixSymbol("w", 2, 1), sp.MatrixSymbol("y", 2, 1)
    f = lambdify([X, w, y], F.bce(F.sigmoid(X * w), y))
    Xv, wv = np.array([[50.0, 0.0], [0.0, -50.0]]), np.ones((2, 1))
    right = f(Xv, wv, np.array([[1.0], [0.0]]))[0, 0]
    wrong = f(Xv, wv, np.array([[0.0], [1.0]]))[0, 0]
    assert right == pytest.approx(2 * np.log1p(np.exp(-50.0)), rel=1e-12)
    assert wrong == pytest.approx(2 * np.logaddexp(0, 50.0), rel=1e-12)
    t = sp.Symbol("t")
    g = lambdify([t], [sp.log(Sigmoid(t)), sp.log(1 - Sigmoid(t))])
    with np.errstate(over="ignore"):  # the shared σ(t) binding itself may overflow; the logs do not
        assert g(-800.0) == (pytest.approx(-800.0), 0.0)
    assert g(0.3) == pytest.approx((np.log(1 / (1 + np.exp(-0.3))), np.log(1 - 1 / (1 + np.exp(-0.3)))))


def test_reductions_along_an_axis_are_numpy_s_and_stable():
    """softmax and log-sum-exp by rows (axis=1) and by columns, with logits of 1000 (no overflow)."""
    Z = sp.MatrixSymbol("Z", n, d)
    f = lambdify([Z], [F.softmax(Z, axis=1), F.softmax(Z), F.logsumexp(Z, axis=1), F.logsumexp(Z, axis=0),
                       F.sum(Z, axis=1), F.mean(Z, axis=0), F.threshold(Z)])
    Zv = np.array([[1000.0, 1001.0, 0.0], [0.5, -2.0, 3.0]])
    rows, cols, lse1, lse0, sum1, mean0, thr = f(Zv)
    np.testing.assert_allclose(rows, np.exp(Zv - Zv.max(1, keepdims=True))
                               / np.exp(Zv - Zv.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    np.testing.assert_allclose(cols.sum(axis=0), 1.0)
    np.testing.assert_allclose(lse1, [[1001.0 + np.log1p(np.exp(-1.0))], [np.log(np.exp(Zv[1]).sum())]])
    assert lse0.shape == (1, 3) and sum1.shape == (2, 1) and mean0.shape == (1, 3)
    np.testing.assert_allclose(mean0, Zv.mean(axis=0, keepdims=True))
    np.testing.assert_array_equal(thr, (Zv >= 0).astype(float))
    assert np.isfinite(lse1).all()
