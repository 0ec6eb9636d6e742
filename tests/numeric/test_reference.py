"""The reference evaluator, and checks that do not share the engine's rewrites (issue 16).

The numeric checks evaluate the *input* by ``symcalc.numeric.reference``, which imports nothing
from the engine or the code generator. The mutation tests below break a rule or a rewrite on
purpose and require every check to notice.
"""
import importlib

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symcalc as sc
from symcalc.errors import ShapeError, UnsupportedError
from symcalc.numeric.reference import evaluate, function

from .oracle import explicit_value
from .test_properties import LEAVES, SETTINGS, SIZES, matrix
from .test_properties import evaluate as oracle

# modules by path: ``symcalc.diff`` is also the name of a function
engine = importlib.import_module("symcalc.diff.engine")
rules = importlib.import_module("symcalc.diff.rules")
codegen = importlib.import_module("symcalc.numeric.codegen")

n, m = sp.symbols("n m", integer=True, positive=True)
i, j = sp.symbols("i j", integer=True)
x = sp.MatrixSymbol("x", n, 1)
v = sp.MatrixSymbol("v", n, 1)
A = sp.MatrixSymbol("A", n, n)
X = sp.MatrixSymbol("X", n, m)


def _values(rng, *symbols, sizes):
    return {s: rng.normal(size=tuple(int(sp.sympify(d).xreplace(sizes)) for d in s.shape))
            for s in symbols}


# --------------------------------------------------------------------------- the evaluator itself

@settings(max_examples=100, **SETTINGS)
@given(st.sampled_from([(m, n), (n, 1), (n, n), (1, m)]).flatmap(lambda s: matrix(s)))
def test_reference_agrees_with_sympy_on_random_expressions(expr):
    rng = np.random.default_rng(0)
    args = sorted(LEAVES.values(), key=lambda s: s.name)
    vals = {a: 0.8 * rng.normal(size=tuple(int(sp.sympify(d).subs(SIZES)) for d in a.shape))
            for a in args}
    try:
        want = oracle(expr, vals, SIZES)
    except Exception:  # noqa: BLE001 - SymPy cannot build some forms (see test_properties)
        return
    got = evaluate(expr, vals, SIZES)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=str(expr))


@pytest.mark.parametrize("expr", [
    sp.Sum(x[i, 0]**4, (i, 0, n - 1)),
    sp.Sum(x[i, 0]**2, (i, 0, n - 2)),
    sp.Sum(x[i, 0] * v[i, 0], (i, 1, n - 1)),
    sp.Sum(A[i, i], (i, 0, n - 2)),
    sp.Sum(A[i, j] * x[j, 0], (j, 0, n - 1), (i, 0, n - 1)),
    sp.Sum(x[i, 0], (i, 3, 1)),                          # SymPy's convention for a reversed range
    sc.sum(sp.HadamardPower(x, 4))[0, 0],
    sc.logsumexp(x)[0, 0],
])
def test_index_sums_by_their_range(expr, rng):
    sizes = {n: 4, m: 3}
    vals = _values(rng, x, v, A, sizes=sizes)
    np.testing.assert_allclose(evaluate(expr, vals, sizes), explicit_value(expr, vals, sizes),
                               rtol=1e-12, err_msg=str(expr))


def test_an_inner_range_may_depend_on_an_outer_index(rng):
    vals = _values(rng, A, sizes={n: 4})
    triangle = sp.Sum(A[i, j], (j, 0, i), (i, 0, n - 1))
    assert evaluate(triangle, vals, {n: 4}) == pytest.approx(np.tril(vals[A]).sum())


def test_a_shared_node_is_evaluated_once_per_call():
    z = x
    for _ in range(60):  # 2^60 paths, 180 distinct nodes (MatAdd(...): `+` would walk every path)
        z = sp.MatAdd(sc.tanh(z), sc.sigmoid(z))
    f = function(sc.sum(z), [x], sizes={n: 3})
    assert len(f.plan.order) < 400
    assert np.isfinite(f(np.ones((3, 1)))).all()


def test_out_of_range_entries_and_wrong_shapes_are_errors():
    with pytest.raises(ShapeError, match="outside"):
        evaluate(sp.Sum(x[i, 0], (i, 0, 4)), {x: np.ones((3, 1))})
    with pytest.raises(ShapeError, match="shape"):
        evaluate(sp.MatrixSymbol("y", 3, 1).T * sp.MatrixSymbol("y", 3, 1),
                 {sp.MatrixSymbol("y", 3, 1): np.ones((2, 1))})
    with pytest.raises(UnsupportedError, match="undefined function, which has no numbers"):
        evaluate(sp.Function("f")(x[0, 0]), {x: np.ones((3, 1))})


# --------------------------------------------------------------------------- mutation tests

def _broken_sums(monkeypatch):
    """Index sums rewritten wrongly (twice their value) in the engine and in the generated code,
    as when the engine and the checks shared diff/indices.py."""
    original = engine.sum_to_matrix

    def broken(s):
        return 2 * original(s)

    monkeypatch.setattr(engine, "sum_to_matrix", broken)
    monkeypatch.setattr(codegen, "sum_to_matrix", broken)


SUM_EXPR = sp.Sum(x[i, 0] * A[i, j] * x[j, 0], (i, 0, n - 1), (j, 0, n - 1))


def test_check_catches_a_broken_rewrite(monkeypatch):
    assert sc.check(SUM_EXPR, x).ok
    _broken_sums(monkeypatch)
    report = sc.check(SUM_EXPR, x)
    assert not report.ok, str(report)


def test_verify_is_not_fooled_by_a_broken_rewrite(monkeypatch):
    right, wrong = (A + A.T) * x, 2 * (A + A.T) * x
    _broken_sums(monkeypatch)
    assert sc.diff(SUM_EXPR, x) == wrong   # the engine is now wrong ...
    assert sc.verify(right, SUM_EXPR, x).ok   # ... and verify still knows the right answer
    assert not sc.verify(wrong, SUM_EXPR, x).ok


def _broken_power_rule(monkeypatch):
    """∂(A^{∘p}) = G ⊙ A^{∘(p−1)}: the factor p dropped."""
    good = rules.RULES[sp.HadamardPower]

    def contributions(node, G):
        return [(c, s * sp.Rational(1, 1) / node.exp) for c, s in good.contributions(node, G)]

    monkeypatch.setitem(rules.RULES, sp.HadamardPower,
                        rules.Rule(good.name, good.identity, contributions))


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_check_verify_and_derivation_catch_a_broken_rule(monkeypatch, layout):
    L = sc.sum(sp.HadamardPower(X, 3))
    assert sc.check(L, X, layout=layout).ok
    claim = sc.diff(L, X, layout=layout)
    _broken_power_rule(monkeypatch)
    assert not sc.check(L, X, layout=layout).ok
    assert sc.verify(claim, L, X, layout=layout).ok
    assert not sc.verify(sc.diff(L, X, layout=layout), L, X, layout=layout).ok
    assert not sc.derive(L, X, layout=layout).check().ok


@pytest.mark.parametrize("axis", [0, 1])
def test_reductions_along_an_axis_are_evaluated_along_it(axis):
    """softmax(Z, axis=1) and logsumexp(Z, axis=1) of samples as rows: each row, not each column."""
    Z = sp.MatrixSymbol("Z", 3, 4)
    z = np.random.default_rng(1).standard_normal((3, 4))
    s = evaluate(sc.softmax(Z, axis=axis), {Z: z})
    assert np.allclose(s, np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True))
    lse = evaluate(sc.logsumexp(Z, axis=axis), {Z: z})
    assert np.allclose(lse, np.log(np.exp(z).sum(axis=axis, keepdims=True)))


def test_threshold_blocks_and_slices_by_their_definitions():
    Z = sp.MatrixSymbol("Z", 2, 3)
    z = np.array([[0.0, -1.0, 2.0], [3.0, -0.5, 0.0]])
    assert np.array_equal(evaluate(sc.threshold(Z), {Z: z}), (z >= 0).astype(float))
    assert np.array_equal(evaluate(sp.BlockMatrix([[Z, 2 * Z]]), {Z: z}), np.hstack([z, 2 * z]))
    assert np.array_equal(evaluate(Z[:, 1:], {Z: z}), z[:, 1:])


def test_row_softmax_network_steps_hold():
    """δ = A − Y of softmax cross-entropy with samples as rows passes the step check (the check
    once evaluated each row softmax down the columns)."""
    from symcalc import nn
    d, h, K = sp.symbols("d h K", integer=True, positive=True)
    net = nn.Network([nn.Linear(d, h), nn.ReLU(), nn.Linear(h, K), nn.Softmax()],
                     loss="cross_entropy", batch="rows")
    assert net.backprop().derivation.check().ok
