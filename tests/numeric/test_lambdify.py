"""lambdify of every node type a symcalc result can contain, against SymPy's explicit evaluation.

Sizes are rectangular (n=3, d=2, k=4): a transposition bug cannot hide in a square matrix.
"""
import numpy as np
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.functions import ELEMENT, elementwise
from symcalc.numeric.lambdify import lambdify

from .oracle import explicit_value

n, d, k = sp.symbols("n d k", integer=True, positive=True)
SIZES = {n: 3, d: 2, k: 4}
X = sp.MatrixSymbol("X", n, d)
Y = sp.MatrixSymbol("Y", n, d)
P = sp.MatrixSymbol("P", n, d)          # positive entries (log, sqrt)
A = sp.MatrixSymbol("A", n, n)          # well conditioned, positive determinant
C = sp.MatrixSymbol("C", d, k)
w = sp.MatrixSymbol("w", d, 1)
y = sp.MatrixSymbol("y", n, 1)
v = sp.MatrixSymbol("v", n, 1)
r = sp.MatrixSymbol("r", 1, d)
alpha = sp.Symbol("alpha", real=True)
t = sp.Symbol("t")  # a user's own Lambda variable
S = F.SymmetricMatrix("S", n)
e = ELEMENT

CASES = {
    "matmul": X * w,
    "matmul chain of three": X.T * A * X,
    "scalar coefficient": 3 * X.T * y,
    "negative coefficient": -X * w,
    "symbolic scalar coefficient": alpha * X,
    "matadd": 2 * X - Y + P,
    "transpose": (X * C).T,
    "inverse": sp.Inverse(A),
    "inverse times matrix (solve)": sp.Inverse(A) * X,
    "inverse transpose times matrix": sp.Inverse(A).T * X,
    "matrix times inverse": X.T * sp.Inverse(A),
    "matpow": sp.MatPow(A, 3),
    "negative matpow": sp.MatPow(A, -2),
    "trace": sp.Trace(A * A),
    "trace times matrix": sp.Trace(A) * X,
    "determinant": sp.Determinant(A),
    "log det": sp.log(sp.Determinant(A)),
    "det times inverse transpose": sp.Determinant(A) * sp.Inverse(A).T,
    "hadamard product": sp.HadamardProduct(X, Y, P),
    "hadamard power": sp.HadamardPower(X, 3),
    "hadamard power fractional": sp.HadamardPower(P, sp.Rational(1, 2)),
    "kronecker": sp.KroneckerProduct(X, C),
    "identity": sp.Identity(n) + A,
    "zero matrix": sp.ZeroMatrix(n, d),
    "one matrix": X + sp.OneMatrix(n, d),
    "one matrix in product": sp.OneMatrix(k, n) * X,
    "one minus sigmoid (broadcast)": sp.OneMatrix(n, 1) - F.sigmoid(X * w),
    "scaled one matrix in a sum": X - 2 * sp.OneMatrix(n, d),
    "hadamard with ones": sp.HadamardProduct(sp.OneMatrix(n, d), X),
    "zero matrix in a sum": X + sp.ZeroMatrix(n, d),
    "bias column broadcast": A * X + v * sp.OneMatrix(1, d),
    "scaled bias broadcast": X - 2 * y * sp.OneMatrix(1, d),
    "row broadcast": X + sp.OneMatrix(n, 1) * r,
    "row sums": X * sp.OneMatrix(d, 1),
    "column sums": sp.OneMatrix(1, n) * X,
    "broadcast terms only": v * sp.OneMatrix(1, d) + sp.OneMatrix(n, 1) * r,
    "diag matrix": sp.DiagMatrix(v),
    "diag of a row": sp.DiagMatrix(r),
    "X^T diag(v) X": X.T * sp.DiagMatrix(v) * X,
    "diag(v) X": sp.DiagMatrix(v) * X,
    "X^T diag(v)": X.T * sp.DiagMatrix(v),
    "X^T diag(sigma') X": X.T * sp.DiagMatrix(elementwise(F.Sigmoid(e) * (1 - F.Sigmoid(e)), X * w)) * X,
    "diagonal of": sp.DiagonalOf(A),
    "matrix element": (X * w)[1, 0] * 2,
    "1x1 matrix": y.T * A * y,
    "exp": F.exp(X),
    "log": F.log(P),
    "tanh": F.tanh(X),
    "sin": F.sin(X),
    "cos": F.cos(X),
    "sqrt": F.sqrt(P),
    "sigmoid": F.sigmoid(X * w),
    "step": F.step(X),
    "relu": F.relu(X),
    "leaky relu": F.leaky_relu(X, sp.Rational(1, 10)),
    "leaky relu symbolic": F.leaky_relu(X, alpha),
    "softplus": F.softplus(X * w),
    "sigma (1 - sigma)": elementwise(F.Sigmoid(e) * (1 - F.Sigmoid(e)), X),
    "nested elementwise": F.log(F.sigmoid(X)),
    "abs": X.applyfunc(sp.Abs),
    "max lambda": X.applyfunc(sp.Lambda(t, sp.Max(0, t))),
    "heaviside": X.applyfunc(sp.Lambda(t, sp.Heaviside(t, 0))),
    "power lambda": X.applyfunc(sp.Lambda(t, t**2 + 1 / (1 + t**2))),
    "applyfunc exp": X.applyfunc(sp.exp),
    "piecewise and min lambda": X.applyfunc(
        sp.Lambda(t, sp.Piecewise((t**2, t > 0), (sp.Min(t, -t / 2), True)))),
    "entry sum": F.sum(X),
    "entry mean": F.mean(X),
    "logsumexp": F.logsumexp(X * w),
    "squared norm": F.norm2(X * w - y),
    "frobenius": F.frobenius2(X * C),
    "softmax column": F.softmax(X * w),
    "softmax matrix": F.softmax(X),
    "symmetric": S * X,
    "explicit matrix": sp.Matrix([[X[0, 0] ** 2, alpha], [sp.exp(X[1, 1]), X[2, 0] * X[0, 1]]]),
    "scalar function of traces": sp.exp(sp.Trace(A) / 10) + sp.Trace(A) ** 2,
    "scalar of 1x1": sp.sqrt((w.T * w)[0, 0]),
}


def _values(rng):
    pd = rng.normal(size=(3, 3))
    vals = {
        X: rng.normal(size=(3, 2)), Y: rng.normal(size=(3, 2)), P: rng.uniform(0.2, 2, size=(3, 2)),
        A: pd @ pd.T / 3 + np.eye(3) + 0.3 * (lambda Q: Q - Q.T)(rng.normal(size=(3, 3))),
        C: rng.normal(size=(2, 4)), w: rng.normal(size=(2, 1)), y: rng.normal(size=(3, 1)),
        v: rng.normal(size=(3, 1)), r: rng.normal(size=(1, 2)), alpha: 0.37,
    }
    s = rng.normal(size=(3, 3))
    vals[S] = s + s.T
    return vals


@pytest.mark.parametrize("name", list(CASES))
def test_lambdify_matches_sympy(name, rng):
    expr = CASES[name]
    vals = _values(rng)
    args = [s for s in vals]
    got = lambdify(args, expr)(*[vals[s] for s in args])
    want = explicit_value(expr, vals, SIZES)
    if getattr(expr, "is_Matrix", False):
        assert isinstance(got, np.ndarray) and got.ndim == 2, got
        assert got.shape == tuple(int(sp.sympify(s).subs(SIZES)) for s in expr.shape)
    else:
        assert isinstance(got, float)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_array_result(rng):
    """A 4-D SymPy array (the form of a matrix-by-matrix derivative) becomes a 4-D array."""
    Xc = sp.MatrixSymbol("X", 2, 3)
    arr = sp.ImmutableDenseNDimArray(
        [[[[Xc[i, j] * Xc[a, b] + int(i == a) for b in range(3)] for a in range(2)] for j in range(3)]
         for i in range(2)])
    val = rng.normal(size=(2, 3))
    got = lambdify([Xc], arr)(val)
    assert got.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(got, explicit_value(arr, {Xc: val}, {}), rtol=1e-12)


def test_list_of_outputs_returns_tuple(rng):
    vals = _values(rng)
    f = lambdify([X, w], [X * w, sp.Trace(X.T * X)])
    out = f(vals[X], vals[w])
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_allclose(out[0], vals[X] @ vals[w])
    assert out[1] == pytest.approx(np.sum(vals[X] ** 2))


def test_softmax_and_logsumexp_are_stable():
    z = sp.MatrixSymbol("z", 3, 1)
    f = lambdify([z], [F.softmax(z), F.logsumexp(z)])
    big = np.array([[1000.0], [1001.0], [999.0]])
    p, lse = f(big)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lse))
    small = big - 1000
    np.testing.assert_allclose(p, np.exp(small) / np.exp(small).sum())
    np.testing.assert_allclose(lse, 1000 + np.log(np.exp(small).sum()))


def test_sigmoid_derivative_has_no_syntax_error(rng):
    """SymPy's own lambdify raises SyntaxError on every elementwise derivative."""
    from symcalc.diff import diff
    L = F.sum(F.sigmoid(X * w))
    G = diff(L, w)
    vals = _values(rng)
    got = lambdify([X, w], G)(vals[X], vals[w])
    s = 1 / (1 + np.exp(-vals[X] @ vals[w]))
    np.testing.assert_allclose(got, vals[X].T @ (s * (1 - s)))


def test_scalar_function_of_a_1x1_matrix(rng):
    """exp(wᵀw) is a scalar: the 1 x 1 matrix is used as its only entry."""
    vals = _values(rng)
    s = lambdify([X, y, w], sp.exp(w.T * w) + sp.sin(y.T * X * w))(vals[X], vals[y], vals[w])
    q = np.exp(vals[w].T @ vals[w])[0, 0]
    assert isinstance(s, float)
    assert s == pytest.approx(q + np.sin(vals[y].T @ vals[X] @ vals[w])[0, 0])
