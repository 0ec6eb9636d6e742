"""Index sums (issue 16): repeated indices, limits, internal names, and loss reductions.

Every case here once came back as a silent wrong result, with sc.check agreeing.
"""
import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc import nn
from symcalc.cli import main
from symcalc.errors import UnsupportedError

from .common import LAYOUTS, SIZES, M, assert_derivative, m, n

i, j = sp.symbols("i j", integer=True)
x, v = M("x", n), M("v", n)
X, Y = M("X", n, m), M("Y", n, m)
A = M("A", n, n)


# --------------------------------------------------------------------------- repeated indices

REPEATED = {  # expression, variable, the derivative in denominator layout
    "sum x^4": (sc.sum(sp.HadamardPower(x, 4))[0, 0], x, 4 * sp.HadamardPower(x, 3)),
    "norm2(x∘v)": (sc.norm2(sp.HadamardProduct(x, v))[0, 0], x,
                   2 * sp.HadamardProduct(x, sp.HadamardPower(v, 2))),
    "frobenius2(X∘Y)": (sc.frobenius2(sp.HadamardProduct(X, Y))[0, 0], X,
                        2 * sp.HadamardProduct(X, sp.HadamardPower(Y, 2))),
    "(x∘x)ᵀ(v∘v)": ((sp.HadamardProduct(x, x).T * sp.HadamardProduct(v, v))[0, 0], x,
                    2 * sp.HadamardProduct(x, sp.HadamardPower(v, 2))),
    "Σ Aᵢᵢ xᵢ² by A": (sp.Sum(A[i, i] * x[i, 0]**2, (i, 0, n - 1)), A,
                       sp.DiagMatrix(sp.HadamardPower(x, 2))),
    "Σ Aᵢᵢ xᵢ by x": (sp.Sum(A[i, i] * x[i, 0], (i, 0, n - 1)), x, None),
    "Σ √xᵢ": (sp.Sum(sp.sqrt(x[i, 0]), (i, 0, n - 1)), x, sp.HadamardPower(x, -sp.S.Half) / 2),
    "Σ vᵢ/xᵢ": (sp.Sum(v[i, 0] / x[i, 0], (i, 0, n - 1)), x,
                -sp.HadamardProduct(v, sp.HadamardPower(x, -2))),
    "Σ exp(xᵢ) vᵢ": (sp.Sum(sp.exp(x[i, 0]) * v[i, 0], (i, 0, n - 1)), x,
                     sp.HadamardProduct(v, sc.exp(x))),
    "Σᵢⱼ Xᵢⱼ² Yᵢⱼ": (sp.Sum(X[i, j]**2 * Y[i, j], (i, 0, n - 1), (j, 0, m - 1)), X,
                       2 * sp.HadamardProduct(X, Y)),
    "logsumexp entry": (sc.logsumexp(x)[0, 0], x, sc.softmax(x)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(REPEATED))
def test_an_index_on_more_than_two_entries_is_an_entrywise_product(name, layout):
    expr, wrt, want = REPEATED[name]
    got = sc.diff(expr, wrt, layout=layout)
    for sizes in SIZES.values():
        assert_derivative(got, expr, wrt, layout=layout, sizes=sizes, domains={x: "positive"})
    assert sc.check(expr, wrt, layout=layout).ok
    if want is not None:
        values = {x: np.array([[0.5], [1.5], [2.0]]), v: np.array([[1.0], [-2.0], [0.5]]),
                  A: np.arange(9.0).reshape(3, 3), X: np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]]),
                  Y: np.array([[2.0, -1.0], [0.5, 1.5], [1.0, 3.0]])}
        G = sc.diff(expr, wrt)
        args = sorted(G.free_symbols | sp.sympify(want).free_symbols, key=str)
        args = [a for a in (x, v, A, X, Y) if a in args]
        f, g = sc.lambdify(args, G), sc.lambdify(args, want)
        np.testing.assert_allclose(f(*[values[a] for a in args]), g(*[values[a] for a in args]))


def test_the_loss_value_and_the_verdicts_for_sum_x4():
    L = sc.sum(sp.HadamardPower(x, 4))[0, 0]
    assert sc.lambdify([x], L)(np.array([[1.0], [2.0], [3.0]])) == 98.0
    assert sc.verify(4 * sp.HadamardPower(x, 3), L, x).ok
    wrong = sc.verify(4 * sp.Trace(x * x.T) * x, L, x)
    assert wrong.status == "wrong"


def test_the_command_line_gives_4_x_cubed(capsys):
    status = main(["derive", "sum(hadamard(x,x,x,x))[0,0]", "--shape", "x=n", "--wrt", "x",
                   "--check"])
    out = capsys.readouterr().out
    assert status == 0
    assert "4*x^∘3" in out and "Trace" not in out and "norm" not in out


def test_an_index_the_summand_does_not_use_counts_its_range():
    x3 = M("x", 3)
    expr = sp.Sum(x3[0, 0] * x3[1, 0], (i, 0, 3))   # 4 x0 x1
    G = sc.diff(expr, x3)
    assert sp.ImmutableMatrix(G.as_explicit()) == sp.ImmutableMatrix([4 * x3[1, 0], 4 * x3[0, 0], 0])


def test_an_index_on_three_different_matrices_is_refused():
    B = M("B", n, n)
    with pytest.raises(UnsupportedError, match="more than two"):
        sc.diff(sp.Sum(A[i, j] * B[i, j] * X[i, 0] * A[i, 0], (i, 0, n - 1), (j, 0, n - 1)), A)


# --------------------------------------------------------------------------- limits

PARTIAL = {
    "Σ_{i<n-1} xᵢ²": (lambda x: sp.Sum(x[i, 0]**2, (i, 0, x.rows - 2)), "x", (4, 1)),
    "Σ_{i<m} xᵢ² (another size)": (lambda x: sp.Sum(x[i, 0]**2, (i, 0, 2)), "x", (5, 1)),
    "Σ_{i≥1} xᵢ vᵢ": (lambda x: sp.Sum(x[i, 0] * x[i, 0], (i, 1, x.rows - 1)), "x", (4, 1)),
    "partial trace": (lambda P: sp.Sum(P[i, i], (i, 0, P.rows - 2)), "P", (4, 4)),
    "partial trace of a product": (lambda P: sp.Sum((P * P)[i, i], (i, 0, P.rows - 2)), "P", (3, 3)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(PARTIAL))
def test_a_partial_range_at_concrete_sizes_is_written_out(name, layout):
    build, label, shape = PARTIAL[name]
    w = M(label, *shape)
    expr = build(w)
    got = sc.diff(expr, w, layout=layout)
    assert_derivative(got, expr, w, layout=layout, sizes={})
    assert sc.check(expr, w, layout=layout).ok


def test_a_triangle_whose_inner_range_depends_on_the_outer_index():
    P = M("P", 3, 3)
    expr = sp.Sum(P[i, j]**2, (j, 0, i), (i, 0, 2))
    G = sp.ImmutableMatrix(sc.diff(expr, P).as_explicit())
    assert G == sp.ImmutableMatrix(3, 3, lambda r, c: 2 * P[r, c] if c <= r else 0)
    assert sc.check(expr, P).ok and sc.check(expr, P, layout="numerator").ok


def test_the_last_entry_of_a_partial_sum_has_no_gradient():
    x4 = M("x", 4)
    G = sc.diff(sp.Sum(x4[i, 0]**2, (i, 0, 2)), x4)
    assert sp.ImmutableMatrix(G.as_explicit())[3, 0] == 0


@pytest.mark.parametrize("expr, wrt", [
    (sp.Sum(x[i, 0]**2, (i, 0, n - 2)), x),
    (sp.Sum(x[i, 0]**2, (i, 0, m - 1)), x),
    (sp.Sum(x[i, 0]**2, (i, 1, n - 1)), x),
    (sp.Sum(A[i, i], (i, 0, n - 2)), A),
    (sp.Sum(x[i, 0] * x[i + 1, 0], (i, 0, n - 2)), x),
], ids=["to n-2", "over m", "from 1", "partial trace", "shifted index"])
def test_a_partial_range_with_symbolic_sizes_is_refused(expr, wrt):
    with pytest.raises(UnsupportedError):
        sc.diff(expr, wrt)
    with pytest.raises(UnsupportedError):
        sc.lambdify([wrt], expr)


def test_the_numeric_check_is_not_fooled_by_a_partial_range():
    """At concrete sizes the check itself evaluates the range: the whole-range answer 2x fails."""
    expr = sp.Sum(x[i, 0]**2, (i, 0, n - 2))
    assert not sc.check(expr, x, derivative=2 * x).ok
    assert not sc.verify(2 * x, expr, x).ok


# --------------------------------------------------------------------------- internal names

INTERNAL_LOOKING = ["V_seed", "V", "symcalc_seed", "symcalc_probe", "symcalc_direction", "z", "_z",
                    "theta_T", "a0", "numpy", "e1", "p1", "sigma1"]


@pytest.mark.parametrize("name", INTERNAL_LOOKING)
def test_a_user_symbol_named_like_an_internal_one_changes_nothing(name):
    t = sp.Symbol("t")
    V = M(name, 2, 3)
    assert sc.diff(t * V, t, layout="numerator") == V
    assert sc.diff(t * V, t, layout="denominator") == V.T
    w = M("w", 3)
    for style in ("chain", "differential"):
        assert sc.derive(sc.sum(sc.sigmoid(V * w)), w, style=style).check().ok
    assert sc.check(sc.sum(sc.tanh(t * V)), t).ok


def test_no_internal_name_in_a_vec_refusal():
    B = M("B", n, m)
    with pytest.raises(UnsupportedError) as err:
        sc.diff(sc.sigmoid(A) * A, A, vec=True)
    assert "seed" not in str(err.value) and "V" not in str(err.value).replace("vec", "")
    with pytest.raises(UnsupportedError) as err:
        sc.diff(sp.HadamardProduct(X, X), X, vec=True)
    assert "seed" not in str(err.value)
    del B


# --------------------------------------------------------------------------- loss reductions

def _bce_value(p, y):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.mark.parametrize("shape", [(6, 1), (1, 6)], ids=["samples as rows", "samples as columns"])
def test_bce_mean_divides_by_the_samples_of_a_vector(shape, rng):
    p, y = M("p", *shape), M("y", *shape)
    pv, yv = rng.uniform(0.1, 0.9, shape), (rng.uniform(size=shape) > 0.5).astype(float)
    got = sc.lambdify([p, y], sc.bce(p, y, reduction="mean"))(pv, yv).item()
    assert got == pytest.approx(_bce_value(pv, yv).mean())


@pytest.mark.parametrize("samples", ["columns", "rows"])
def test_mean_losses_of_a_matrix_divide_by_the_samples_they_are_told(samples, rng):
    K, N = 3, 5
    shape = (K, N) if samples == "columns" else (N, K)
    P, T = M("P", *shape), M("T", *shape)
    pv = rng.uniform(0.1, 0.9, shape)
    tv = (rng.uniform(size=shape) > 0.5).astype(float)
    bce = sc.lambdify([P, T], sc.bce(P, T, reduction="mean", samples=samples))(pv, tv)
    assert bce.item() == pytest.approx(_bce_value(pv, tv).sum() / N)
    ce = sc.lambdify([P, T], sc.cross_entropy(P, T, reduction="mean", samples=samples))(pv, tv)
    assert ce.item() == pytest.approx(-(tv * np.log(pv)).sum() / N)
    onehot = sc.OneHot("T", *shape, axis=0 if samples == "columns" else 1)
    assert sc.cross_entropy(P, onehot, reduction="mean") == \
        sc.cross_entropy(P, onehot, reduction="mean", samples=samples)


def test_a_mean_over_an_unsaid_axis_of_a_matrix_is_refused():
    P, T = M("P", 3, 5), M("T", 3, 5)
    for loss in (sc.bce, sc.cross_entropy):
        with pytest.raises(UnsupportedError, match="samples="):
            loss(P, T, reduction="mean")
        assert loss(P, T) is not None   # the sum needs no axis
    with pytest.raises(ValueError, match="samples"):
        sc.bce(P, T, reduction="mean", samples="cols")


def test_a_column_is_one_distribution_for_cross_entropy(rng):
    p, y = M("p", 4), M("y", 4)
    assert sc.cross_entropy(p, y, reduction="mean") == sc.cross_entropy(p, y)


@pytest.mark.parametrize("batch", ["columns", "rows"])
@pytest.mark.parametrize("loss, last", [
    (lambda: nn.BinaryCrossEntropy(reduction="mean"), nn.Sigmoid()),
    (lambda: nn.CrossEntropy(reduction="mean"), nn.Softmax()),
    (lambda: nn.SquaredError(reduction="mean"), nn.Identity()),
    (lambda: nn.LogisticLoss(reduction="mean"), nn.Identity()),
], ids=["bce", "cross-entropy", "squared error", "logistic"])
def test_network_mean_losses_divide_by_the_samples_in_both_batch_forms(loss, last, batch, rng):
    N, K = 5, 3
    outputs = 1 if isinstance(last, (nn.Sigmoid, nn.Identity)) and not isinstance(loss(), nn.SquaredError) \
        else K
    net = nn.Network([nn.Linear(2, outputs), last], loss=loss(), batch=batch, samples=N)
    mean = net.backprop().numpy_loss()
    net_sum = nn.Network([nn.Linear(2, outputs), last], loss=type(loss())(), batch=batch, samples=N)
    total = net_sum.backprop().numpy_loss()
    params = {"W1": rng.normal(size=(outputs, 2)), "b1": rng.normal(size=(outputs, 1))}
    xs = rng.normal(size=(2, N) if batch == "columns" else (N, 2))
    ys = np.zeros((outputs, N))
    ys[rng.integers(0, outputs, N), np.arange(N)] = 1.0
    if batch == "rows":
        ys = ys.T
    assert mean(params, xs, ys) == pytest.approx(total(params, xs, ys) / N)
