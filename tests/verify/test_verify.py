"""verify: real mistakes from lecture notes are caught and explained; correct claims pass in both layouts."""
import pytest
import sympy as sp
from sympy import IndexedBase, KroneckerDelta, Q

import symcalc.functions as F
from symcalc.errors import LayoutError, UnsupportedError
from symcalc.numeric.verify import verify, verify_entrywise

n, d, m, N, M = sp.symbols("n d m N M", integer=True, positive=True)
i, j, k = sp.symbols("i j k", integer=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
x = sp.MatrixSymbol("x", n, 1)
A = sp.MatrixSymbol("A", n, n)
B = sp.MatrixSymbol("B", m, n)
r = y - X * theta
L = r.T * r


# --------------------------------------------------------------------------- correct claims

@pytest.mark.parametrize("claim, expr, wrt, layout", [
    (-2 * X.T * r, L, theta, "denominator"),
    (-2 * r.T * X, L, theta, "numerator"),
    (2 * X.T * X * theta - 2 * X.T * y, L, theta, "denominator"),      # expanded: numbers decide
    ((A + A.T) * x, x.T * A * x, x, "denominator"),
    (x.T * (A + A.T), x.T * A * x, x, "numerator"),
    (B, B * x, x, "numerator"),
    (B.T, B * x, x, "denominator"),
    (A.inverse().T, sp.log(sp.det(A)), A, "denominator"),
    (A.inverse(), sp.log(sp.det(A)), A, "numerator"),
])
def test_correct_claims_are_verified(claim, expr, wrt, layout):
    v = verify(claim, expr, wrt, layout=layout)
    assert v.ok and v.status == "correct", str(v)
    assert v.counterexample is None


def test_vec_form_needs_vec():
    J = sp.KroneckerProduct(theta.T, sp.Identity(n))       # ∂vec(Xθ)/∂vec(X)ᵀ
    assert verify(J, X * theta, X, layout="numerator", vec=True).ok
    assert verify(J.T, X * theta, X, layout="denominator", vec=True).ok
    v = verify(J, X * theta, X, layout="numerator")        # without vec the answer is a 4-way array
    assert v.diagnosis == "shape" and "n x 1 x n x d" in v.explanation


def test_symmetric_declaration_makes_2Ax_right():
    S = F.SymmetricMatrix("S", n)
    assert verify(2 * S * x, x.T * S * x, x).ok
    assert verify(2 * A * x, x.T * A * x, x, assumptions=Q.symmetric(A)).ok


# --------------------------------------------------------------------------- real mistakes

def test_quadratic_form_without_symmetry():
    v = verify(2 * A * x, x.T * A * x, x)
    assert not v.ok and v.status == "wrong"
    assert v.diagnosis == "symmetric"
    assert "right only for symmetric A" in v.explanation
    assert "(A + A.T)*x" in v.explanation


def test_jacobian_of_Ax_claimed_as_A_transpose_in_numerator_layout():
    v = verify(A.T, A * x, x, layout="numerator")
    assert v.diagnosis == "transpose"
    assert "denominator layout's answer" in v.explanation
    w = verify(B.T, B * x, x, layout="numerator")      # rectangular: the shape is wrong too
    assert w.diagnosis == "transpose" and "m x n" in w.explanation


def test_log_det_gradient_claimed_as_the_inverse():
    v = verify(A.inverse(), sp.log(sp.det(A)), A)
    assert v.diagnosis == "transpose"
    assert "numerator layout's answer" in v.explanation
    assert any("symmetric" in note for note in v.notes)


def test_sigmoid_derivative_with_a_plus_sign():
    t = sp.Symbol("t")
    s = F.sigmoid(t)
    v = verify(s * (1 + s), s, t)
    assert v.diagnosis == "entries" and not v.ok
    assert verify(s * (1 - s), s, t).ok
    z = sp.MatrixSymbol("z", n, 1)
    S = F.sigmoid(z)
    one = sp.OneMatrix(n, 1)
    wrong = sp.DiagMatrix(sp.HadamardProduct(S, one + S))
    right = sp.DiagMatrix(sp.HadamardProduct(S, one - S))
    assert verify(wrong, S, z).diagnosis == "entries"
    assert verify(right, S, z).ok and verify(right, S, z, layout="numerator").ok


def test_least_squares_gradient_missing_the_factor_2():
    v = verify(-X.T * r, L, theta)
    assert v.diagnosis == "factor" and v.factor == sp.Rational(1, 2)
    assert "constant factor 1/2" in v.explanation
    cx = v.counterexample
    assert set(cx.sizes) == {"n", "d"} and cx.sizes["n"] != cx.sizes["d"]
    assert set(cx.values) == {"X", "y", "theta"}
    i0 = cx.entry
    assert cx.claimed[i0] == pytest.approx(cx.correct[i0] / 2, rel=1e-6)
    assert "counterexample at" in str(v)


def test_wrong_sign_and_a_size_dependent_factor():
    assert verify(2 * X.T * r, L, theta).factor == -1
    mean_loss = F.norm2(r) / n
    v = verify(-2 * X.T * r, mean_loss, theta)        # forgot the 1/n of the mean
    assert v.diagnosis == "factor" and v.factor == n


def test_zero_claims():
    assert verify(sp.ZeroMatrix(d, 1), y.T * y, theta).ok
    assert verify(sp.ZeroMatrix(d, 1), L, theta).diagnosis == "entries"   # not "a factor 0"


@pytest.mark.parametrize("claim, expr, why", [
    (sp.Rational(1, 10**6) * x, sp.Rational(1, 10**6) * x.T * x, "a missing 2 on a derivative of size 1e-6"),
    (sp.ZeroMatrix(n, 1), sp.Rational(1, 10**6) * x.T * x, "0 for a derivative of size 1e-6"),
    (2 * 10**6 * x, 10**6 * x.T * x + y.T * x, "a dropped term one millionth of the rest"),
])
def test_small_and_relatively_small_mistakes_are_wrong(claim, expr, why):
    """Central differences alone pass these (their tolerance is 1e-5 of a scale of at least 1);
    symcalc's derivative, confirmed by the differences, is the exact reference."""
    v = verify(claim, expr, x)
    assert v.status == "wrong", why
    assert verify(2 * sp.Rational(1, 10**6) * x, sp.Rational(1, 10**6) * x.T * x, x).ok


def test_wrong_shape():
    v = verify(X * theta, L, theta)
    assert v.diagnosis == "shape" and "d x 1" in v.explanation and "n x 1" in v.explanation


def test_least_squares_claimed_in_the_other_layout():
    v = verify(-2 * r.T * X, L, theta, layout="denominator")
    assert v.diagnosis == "transpose" and "numerator layout's answer" in v.explanation


def test_kronecker_form_in_the_other_layout():
    C = sp.MatrixSymbol("C", d, m)
    v = verify(sp.KroneckerProduct(C, A.T), A * X * C, X, layout="numerator", vec=True)
    assert v.diagnosis == "transpose"
    assert verify(sp.KroneckerProduct(C.T, A), A * X * C, X, layout="numerator", vec=True).ok


def test_a_claim_that_cannot_be_evaluated_is_unverified_not_correct():
    t = sp.Symbol("t")
    v = verify(sp.Function("f")(t), sp.sin(t), t)
    assert v.status == "unverified" and not v.ok


def test_symbols_foreign_to_the_expression_are_reported():
    u = sp.MatrixSymbol("u", d, 1)
    v = verify(u, L, theta)
    assert not v.ok and any("u" in note for note in v.notes)


def test_bad_input():
    with pytest.raises(LayoutError):
        verify(-2 * X.T * r, L, theta, layout="row")
    with pytest.raises(UnsupportedError):
        verify(-2 * X.T * r, L, X * theta)


# --------------------------------------------------------------------------- entry-wise claims

W = sp.MatrixSymbol("W", m, n)
b = sp.MatrixSymbol("b", m, 1)
x_ = IndexedBase("x")


def test_entrywise_linear_layer():
    z = W * x + b
    assert verify_entrywise(KroneckerDelta(i, j) * x_[k], z, W, of=(i,), by=(j, k)).ok
    assert verify_entrywise(KroneckerDelta(i, j) * x[k, 0], z, W, of=(i,), by=(j, k)).ok
    assert verify_entrywise(sp.S.One, z, b, of=(i,), by=(i,)).ok
    v = verify_entrywise(x_[k], z, W, of=(i,), by=(j, k))           # the Kronecker delta forgotten
    assert v.diagnosis == "entries" and "δ_ij x_k" in v.explanation
    v = verify_entrywise(2 * KroneckerDelta(i, j) * x_[k], z, W, of=(i,), by=(j, k))
    assert v.diagnosis == "factor" and v.factor == 2


def test_entrywise_claims_with_sums_and_a_scalar_output():
    l = sp.Symbol("l", integer=True)
    W_ = IndexedBase("W")
    loss = F.norm2(W * x)
    assert verify_entrywise(2 * sp.Sum(W_[j, l] * x_[l], (l, 0, n - 1)) * x_[k], loss, W, of=(), by=(j, k)).ok
    v = verify_entrywise(2 * sp.Sum(W_[j, l] * x_[l], (l, 0, n - 1)) * x_[j], loss, W, of=(), by=(j, k))
    assert v.diagnosis == "index" and "entries of x (size n)" in v.explanation


# The NYU notes (Rangan), solved problem 2: samples are rows, z_i = W x_i + b, that is
# z_ij = sum_k W_jk x_ik + b_j, and u_ij = exp(z_ij). The notes state dz_ij/dW_jk = u_ik (copied
# from the output layer, whose input is u); the input here is x, so it is x_ik.
Xb = sp.MatrixSymbol("X", N, d)
Wh = sp.MatrixSymbol("W", M, d)
bh = sp.MatrixSymbol("b", M, 1)
Z = Xb * Wh.T + sp.OneMatrix(N, 1) * bh.T
u = IndexedBase("u")


def test_nyu_erratum_is_caught():
    v = verify_entrywise(u[i, k], Z, Wh, of=(i, j), by=(j, k), where={u: F.exp(Z)})
    assert not v.ok and v.diagnosis == "index"
    assert "k runs over the columns of W (size d)" in v.explanation and "columns of u (size M)" in v.explanation


def test_nyu_erratum_with_as_many_hidden_units_as_inputs():
    Wsq, bsq = sp.MatrixSymbol("W", d, d), sp.MatrixSymbol("b", d, 1)
    Zs = Xb * Wsq.T + sp.OneMatrix(N, 1) * bsq.T
    v = verify_entrywise(u[i, k], Zs, Wsq, of=(i, j), by=(j, k), where={"u": F.exp(Zs)})
    assert v.diagnosis == "entries" and "the correct value is X_ik" in v.explanation
    cx = v.counterexample
    assert cx.claimed[cx.entry] != pytest.approx(cx.correct[cx.entry])


def test_nyu_corrected_claim_and_undefined_names():
    assert verify_entrywise(IndexedBase("X")[i, k], Z, Wh, of=(i, j), by=(j, k)).ok
    assert verify_entrywise(sp.S.One, Z, bh, of=(i, j), by=(j,)).ok
    v = verify_entrywise(u[i, k], Z, Wh, of=(i, j), by=(j, k))
    assert v.status == "unverified" and "where=" in v.explanation


# --------------------------------------------------------------------------- issue 12

def test_claims_about_the_entry_of_a_1x1_product_are_checked():
    """M[0, 0] of a 1 x 1 product is a scalar (SymPy writes it as nested index sums)."""
    W, xw, yw = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", m, 1)
    res = W * xw - yw
    expr = (res.T * res)[0, 0]
    assert expr.has(sp.Sum)
    assert verify(2 * W.T * (W * xw - yw), expr, xw).status == "correct"
    assert verify(2 * res.T * W, expr, xw, layout="numerator").status == "correct"
    v = verify(W.T * (W * xw - yw), expr, xw)
    assert v.status == "wrong" and v.diagnosis == "factor"


def test_entrywise_sum_claims_with_symbolic_sizes():
    W_ = IndexedBase("W")
    W, xw = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1)
    assert verify_entrywise(sp.Sum(W_[i, k], (i, 0, m - 1)), F.sum(W * xw), xw, of=(), by=(k,)).status == "correct"
    v = verify_entrywise(sp.Sum(W_[i, k], (i, 0, m - 2)), F.sum(W * xw), xw, of=(), by=(k,))
    assert v.status == "wrong"                                              # one term short
    v = verify_entrywise(2 * sp.Sum(W_[i, k], (i, 0, m - 1)) / m, F.mean(W * xw) * 2, xw, of=(), by=(k,))
    assert v.status == "correct"                                            # a size as a scalar


def test_entrywise_claim_with_a_free_index_is_an_index_mistake():
    """The NYU notes' missing Σᵢ: the claim ∂L/∂x_k = W_ik has i free."""
    W_ = IndexedBase("W")
    W, xw = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1)
    v = verify_entrywise(W_[i, k], F.sum(W * xw), xw, of=(), by=(k,))
    assert v.status == "wrong" and v.diagnosis == "index" and "free index i" in v.explanation


def test_entrywise_where_takes_scalars():
    lam, a = sp.Symbol("lam", positive=True), sp.Symbol("a")
    x_ = IndexedBase("x")
    assert verify_entrywise(a * x_[k], lam * (x.T * x), x, of=(), by=(k,), where={a: 2 * lam}).status == "correct"
    v = verify_entrywise(a * x_[k], lam * (x.T * x), x, of=(), by=(k,), where={"a": 3 * lam})
    assert v.status == "wrong" and v.diagnosis == "factor"


def test_row_one_hot_targets_are_verified():
    """Samples as rows: Y one-hot by rows (OneHot(..., axis=1)) keeps its axis in the checker."""
    K = sp.Symbol("K", integer=True, positive=True)
    Z, Y = sp.MatrixSymbol("Z", N, K), F.OneHot("Y", N, K, axis=1)
    loss = F.cross_entropy(F.softmax(Z, axis=1), Y)
    assert verify(F.softmax(Z, axis=1) - Y, loss, Z).status == "correct"
    assert verify(F.softmax(Z.T).T - Y, F.cross_entropy(F.softmax(Z.T), Y.T), Z).status == "correct"
    v = verify(F.softmax(Z, axis=1) - Y.T.T * 2, loss, Z)
    assert v.status == "wrong"
