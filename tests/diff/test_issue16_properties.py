"""Properties for the inputs that once gave silent wrong results (issue 16).

Random index sums (repeated indices, powers, functions of an entry, whole and partial ranges,
symbolic and concrete sizes), entries of reductions and products, symbols named like symcalc's
internals, and both batch forms of every loss. Each example either gets a derivative that the
independent check confirms in both layouts, or a typed refusal; the generated code and the
reference evaluator agree on every value. The long runs are behind the ``slow`` marker.
"""
import keyword

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import symcalc as sc
from symcalc import nn
from symcalc.errors import UnsupportedError
from symcalc.numeric.reference import function as reference

from .common import LAYOUTS

n, m = sp.symbols("n m", integer=True, positive=True)
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))
FAST, SLOW = 25, 2600


def _agree(expr, args, sizes, rng):
    """Generated code and the reference evaluator give the same value (or codegen refuses)."""
    concrete = {a: type(a)(a.name, *[sp.sympify(d).xreplace(sizes) for d in a.shape])
                for a in args}
    e = expr.xreplace({**concrete, **sizes}) if sizes else expr
    cargs = [concrete[a] for a in args]
    values = [rng.uniform(0.2, 1.5, tuple(int(d) for d in a.shape)) for a in cargs]
    want = reference(e, cargs)(*values)
    try:
        got = sc.lambdify(cargs, e)(*values)
    except UnsupportedError:
        return
    np.testing.assert_allclose(np.asarray(got, float).reshape(np.shape(want)), want, rtol=1e-9,
                               atol=1e-12, err_msg=str(expr))


def _right_or_refused(expr, wrt, sizes):
    """sc.diff is confirmed by the independent check in both layouts, or refuses with a typed
    error (UnsupportedError; at symbolic sizes a partial range must be refused)."""
    for layout in LAYOUTS:
        try:
            sc.diff(expr, wrt, layout=layout)
        except UnsupportedError:
            return False
        report = sc.check(expr, wrt, layout=layout, sizes=sizes, seed=1)
        assert report.ok, str(report)
    return True


# --------------------------------------------------------------------------- index sums

LEAVES = {"x": (n, 1), "v": (n, 1), "A": (n, n), "X": (n, m)}
SCALAR_FUNCTIONS = [sp.exp, sp.sin, sp.tanh, lambda t: sp.sqrt(t + 2), lambda t: (t + 1)**2]


@st.composite
def index_sums(draw):
    """A Sum of a product of entries of x, v (n x 1), A (n x n), X (n x m), with repeated indices,
    powers, a function of one entry, and whole or partial ranges; symbolic or concrete sizes."""
    concrete = draw(st.booleans())
    sizes = {n: draw(st.integers(2, 4)), m: draw(st.integers(2, 3))}
    dims = sizes if concrete else {}
    leaves = {k: sp.MatrixSymbol(k, *[sp.sympify(d).xreplace(dims) for d in s])
              for k, s in LEAVES.items()}
    i, j = sp.symbols("i j", integer=True)
    idx = [i, j][:draw(st.integers(1, 2))]
    factors, used = [], set()
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(leaves)))
        M = leaves[name]
        rows, cols = M.shape
        a = draw(st.sampled_from(idx + [0]))
        b = 0 if cols == 1 else draw(st.sampled_from(idx + [0]))
        if name == "X" and b in idx:  # X's columns run over m: an index of its own
            b = draw(st.sampled_from([0, 1]))
        entry = M[a, b]
        used |= {a, b} & set(idx)
        kind = draw(st.sampled_from(["entry", "entry", "power", "function"]))
        if kind == "power":
            entry = entry ** draw(st.sampled_from([2, 3, 4, -1, sp.S.Half]))
        elif kind == "function":
            entry = draw(st.sampled_from(SCALAR_FUNCTIONS))(entry)
        factors.append(entry)
    limits = []
    for k in idx:
        N = n.xreplace(dims)
        lo = draw(st.sampled_from([0, 0, 0, 1]))
        hi = draw(st.sampled_from([N - 1, N - 1, N - 2]))
        limits.append((k, lo, hi))
    expr = sp.Sum(sp.Mul(*factors), *limits)
    wrt = leaves[draw(st.sampled_from(sorted(leaves)))]
    return expr, wrt, sizes, concrete, [leaves[k] for k in sorted(leaves)]


def _index_sum_property(case):
    """Right (the check evaluates the sum over its own range, also a partial one) or refused;
    at concrete sizes a sum without a matrix form is written out, so never refused."""
    expr, wrt, sizes, concrete, args = case
    assume(not isinstance(expr, sp.Number))
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        _agree(expr, args, {} if concrete else sizes, rng)
    done = _right_or_refused(expr, wrt, None if concrete else sizes)
    assert done or not concrete, f"refused at concrete sizes: {expr}"
    partial = any(lo != 0 or hi != (sizes[n] if concrete else n) - 1 for _, lo, hi in expr.limits)
    event(f"index sum: {'concrete' if concrete else 'symbolic'} sizes, "
          f"{'partial' if partial else 'whole'} range, {'right' if done else 'refused'}")


@settings(max_examples=FAST, **SETTINGS)
@given(index_sums())
def test_index_sums_are_right_or_refused(case):
    _index_sum_property(case)


@pytest.mark.slow
@settings(max_examples=SLOW, **SETTINGS)
@given(index_sums())
def test_index_sums_are_right_or_refused_long(case):
    _index_sum_property(case)


# --------------------------------------------------------------------------- entries of reductions

Z_PARTS = {  # name -> builder from (x, v, A, X)
    "x": lambda x, v, A, X: x, "A x": lambda x, v, A, X: A * x, "X": lambda x, v, A, X: X,
    "A X": lambda x, v, A, X: A * X, "x∘v": lambda x, v, A, X: sp.HadamardProduct(x, v),
    "x∘x∘x": lambda x, v, A, X: sp.HadamardPower(x, 3), "Xᵀ x": lambda x, v, A, X: X.T * x,
    "A + Aᵀ": lambda x, v, A, X: A + A.T, "x vᵀ": lambda x, v, A, X: x * v.T,
    "A⁻¹ x": lambda x, v, A, X: sp.Inverse(A) * x,
}
ENTRYWISE = [None, sc.sigmoid, sc.tanh, sc.exp, lambda Z: sp.HadamardPower(Z, 2)]
REDUCTIONS = ["sum", "mean", "norm2", "frobenius2", "logsumexp", "softmax", "entry", "gram", "trace"]


@st.composite
def entries(draw):
    """An entry of a reduction, softmax, product or Gram matrix of a small matrix expression, at
    symbolic or concrete sizes, taken to a power or through exp."""
    concrete = draw(st.booleans())
    sizes = {n: draw(st.integers(2, 4)), m: draw(st.integers(2, 3))}
    part = draw(st.sampled_from(sorted(Z_PARTS)))
    if concrete and part == "A⁻¹ x":  # an entry of A⁻¹ at concrete sizes is SymPy's symbolic
        sizes[n] = 2                   # inverse: minutes at 4 x 4, before symcalc is asked
    d = sizes if concrete else {}
    x, v = (sp.MatrixSymbol(k, n.xreplace(d), 1) for k in "xv")
    A, X = sp.MatrixSymbol("A", n.xreplace(d), n.xreplace(d)), sp.MatrixSymbol("X", n.xreplace(d), m.xreplace(d))
    Z = Z_PARTS[part](x, v, A, X)
    f = draw(st.sampled_from(ENTRYWISE))
    if f is not None:
        Z = f(Z)
    r, c = Z.shape
    red = draw(st.sampled_from(REDUCTIONS))
    if red in ("norm2", "logsumexp", "softmax") and c != 1:
        red = draw(st.sampled_from(["frobenius2", "sum", "mean"]))
    if red == "trace" and r != c:
        red = "gram"
    k, l = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    if red == "softmax":
        e = sc.softmax(Z)[k, 0]
    elif red == "entry":
        e = Z[k, l if c != 1 else 0]
    elif red == "gram":
        e = (Z.T * Z)[l if c != 1 else 0, 0]
    elif red == "trace":
        e = sp.Trace(Z)
    else:
        e = getattr(sc, red)(Z)[0, 0]
    e = draw(st.sampled_from([lambda e: e, lambda e: e**2, lambda e: e**3, sp.exp]))(e)
    wrt = draw(st.sampled_from([x, A, X, v]))
    return e, wrt, sizes, concrete, [A, X, v, x]


def _entry_property(case):
    e, wrt, sizes, concrete, args = case
    assume(e.has(wrt))
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        _agree(e, args, {} if concrete else sizes, rng)
    done = _right_or_refused(e, wrt, None if concrete else sizes)
    event(f"entry: {'concrete' if concrete else 'symbolic'} sizes, {'right' if done else 'refused'}")


@settings(max_examples=FAST, **SETTINGS)
@given(entries())
def test_entries_of_reductions_are_right_or_refused(case):
    _entry_property(case)


@pytest.mark.slow
@settings(max_examples=SLOW, **SETTINGS)
@given(entries())
def test_entries_of_reductions_are_right_or_refused_long(case):
    _entry_property(case)


# --------------------------------------------------------------------------- internal-looking names

INTERNAL = ["V_seed", "V", "symcalc_seed", "symcalc_probe", "symcalc_direction", "theta_T", "z",
            "a0", "a1", "e0", "d0", "numpy", "ShapeError", "float", "sigma1", "e1", "p1", "z1",
            "m1", "zmax1", "b1", "lambda_", "Dummy", "_z", "ones", "seed", "probe", "W1", "L", "x"]


@st.composite
def named_expressions(draw):
    names = draw(st.lists(st.sampled_from(INTERNAL), min_size=3, max_size=3, unique=True))
    t = sp.Symbol("t")
    P, Q, w = (sp.MatrixSymbol(names[0], 2, 3), sp.MatrixSymbol(names[1], 3, 2),
               sp.MatrixSymbol(names[2], 3, 1))
    plain = {P: sp.MatrixSymbol("P", 2, 3), Q: sp.MatrixSymbol("Q", 3, 2),
             w: sp.MatrixSymbol("w", 3, 1)}
    shape = draw(st.sampled_from(["t*P", "P w", "σ(P w)", "sum tanh", "P Q", "xAx"]))
    expr, wrt = {
        "t*P": (t * P, t),
        "P w": (P * w, w),
        "σ(P w)": (sc.sigmoid(t * P * w), w),
        "sum tanh": (sc.sum(sc.tanh(P * Q)), Q),
        "P Q": (t * P * Q, t),
        "xAx": (w.T * Q * P * w, w),
    }[shape]
    return expr, wrt, plain


def _named_property(case):
    expr, wrt, plain = case
    event(f"names: {', '.join(sorted(str(k) for k in plain))}")
    for layout in LAYOUTS:
        got = sc.diff(expr, wrt, layout=layout)
        want = sc.diff(expr.xreplace(plain), wrt.xreplace(plain), layout=layout)
        assert got.xreplace(plain) == want, (got, want)
        assert sc.check(expr, wrt, layout=layout).ok


@settings(max_examples=FAST, **SETTINGS)
@given(named_expressions())
def test_names_that_look_internal_change_nothing(case):
    _named_property(case)


@pytest.mark.slow
@settings(max_examples=SLOW, **SETTINGS)
@given(named_expressions())
def test_names_that_look_internal_change_nothing_long(case):
    _named_property(case)


# --------------------------------------------------------------------------- losses, both batch forms

@st.composite
def losses(draw):
    K, N = draw(st.integers(2, 4)), draw(st.integers(2, 5))
    form = draw(st.sampled_from(["columns", "rows"]))
    which = draw(st.sampled_from(["bce", "cross_entropy", "nn_bce", "nn_ce", "nn_logistic",
                                  "nn_squared"]))
    reduction = draw(st.sampled_from(["sum", "mean"]))
    seed = draw(st.integers(0, 2**16))
    return K, N, form, which, reduction, seed


def _numpy_loss(which, P, T):
    if which in ("bce", "nn_bce"):
        return -(T * np.log(P) + (1 - T) * np.log(1 - P)).sum()
    return -(T * np.log(P)).sum()


def _loss_property(case):
    K, N, form, which, reduction, seed = case
    event(f"loss: {which}, samples as {form}, {reduction}")
    rng = np.random.default_rng(seed)
    shape = (K, N) if form == "columns" else (N, K)
    onehot = np.zeros((K, N))
    onehot[rng.integers(0, K, N), np.arange(N)] = 1.0
    T = onehot if form == "columns" else onehot.T
    count = N if reduction == "mean" else 1
    if which in ("bce", "cross_entropy"):
        Pm, Tm = sp.MatrixSymbol("P", *shape), sp.MatrixSymbol("T", *shape)
        L = getattr(sc, which)(Pm, Tm, reduction=reduction, samples=form)
        P = rng.uniform(0.05, 0.95, shape)
        got = np.asarray(sc.lambdify([Pm, Tm], L)(P, T)).item()
        assert got == pytest.approx(_numpy_loss(which, P, T) / count, rel=1e-9)
        Z = sp.MatrixSymbol("Z", *shape)
        probs = sc.sigmoid(Z)
        assert sc.check(getattr(sc, which)(probs, Tm, reduction=reduction, samples=form), Z).ok
        return
    last, loss, outputs = {
        "nn_bce": (nn.Sigmoid(), nn.BinaryCrossEntropy, 1),
        "nn_ce": (nn.Softmax(), nn.CrossEntropy, K),
        "nn_logistic": (nn.Identity(), nn.LogisticLoss, 1),
        "nn_squared": (nn.Identity(), nn.SquaredError, K),
    }[which]
    net = nn.Network([nn.Linear(2, outputs), last], loss=loss(reduction=reduction), batch=form,
                     samples=N)
    f = net.backprop().numpy_loss()
    W, b = rng.normal(size=(outputs, 2)), rng.normal(size=(outputs, 1))
    xs = rng.normal(size=(2, N))
    Zv = W @ xs + b                                  # outputs x N, samples as columns
    Y = onehot if outputs == K else (rng.uniform(size=(1, N)) > 0.5).astype(float)
    if which == "nn_ce":
        want = -(Y * (Zv - Zv.max(0) - np.log(np.exp(Zv - Zv.max(0)).sum(0)))).sum()
    elif which == "nn_bce":
        want = (np.logaddexp(0, Zv) - Y * Zv).sum()
    elif which == "nn_logistic":
        want = (np.logaddexp(0, Zv) - Y * Zv).sum()
    else:
        want = 0.5 * ((Zv - Y) ** 2).sum()
    T_, X_ = (Y, xs) if form == "columns" else (Y.T, xs.T)
    got = f({"W1": W, "b1": b}, X_, T_)
    assert got == pytest.approx(want / count, rel=1e-8)


@settings(max_examples=FAST, **SETTINGS)
@given(losses())
def test_losses_divide_by_the_samples_in_both_batch_forms(case):
    _loss_property(case)


@pytest.mark.slow
@settings(max_examples=SLOW, **SETTINGS)
@given(losses())
def test_losses_divide_by_the_samples_in_both_batch_forms_long(case):
    _loss_property(case)


def test_the_internal_names_are_identifiers_a_user_can_write():
    assert all(name.isidentifier() and not keyword.iskeyword(name) for name in INTERNAL)
