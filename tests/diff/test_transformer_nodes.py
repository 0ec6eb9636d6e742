"""Layer normalisation and the causal softmax (issue 13): gradients through each node against finite
differences of the input evaluated by its definition (symcalc.numeric.reference), in both layouts and
both sample axes, with ε = 0, a number and a symbol; generated code against the reference; the
derivations check step by step; shapes and errors."""
import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc import functions as F
from symcalc.numeric import reference
from symcalc.parse import parse

n, d, k, dv = sp.symbols("n d k d_v", integer=True, positive=True)
eps = sp.Symbol("epsilon", positive=True)
LAYOUTS = ("denominator", "numerator")
SIZES = [{n: 3, d: 5, k: 2, dv: 4}, {n: 4, d: 3, k: 5, dv: 2}]  # rectangular: squares hide transposes

X = sp.MatrixSymbol("X", n, k)
W = sp.MatrixSymbol("W", k, d)
C = sp.MatrixSymbol("C", n, d)


def _check(L, wrt, layout, sizes):
    report = sc.check(L, wrt, layout=layout, sizes=sizes)
    assert report.ok, (wrt, layout, report.max_rel_error)
    assert report.max_rel_error < 1e-6


# ---------------------------------------------------------------------- layer normalisation

def ln_loss(axis, e):
    """tr(Cᵀ LN(XW)) with the samples as rows (axis 1) or the same model transposed (axis 0)."""
    if axis == 1:
        return sp.Trace(C.T * sc.layer_norm(X * W, axis=1, eps=e))
    return sp.Trace(C * sc.layer_norm(W.T * X.T, axis=0, eps=e))


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("e", [0, sp.Rational(1, 10), eps], ids=["eps0", "eps_number", "eps_symbol"])
@pytest.mark.parametrize("axis", [1, 0])
def test_layer_norm_gradients(axis, e, layout, sizes):
    L = ln_loss(axis, e)
    for wrt in (X, W) + ((eps,) if e == eps else ()):
        _check(L, wrt, layout, sizes)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layer_norm_of_one_sample_and_its_jacobian(layout):
    x, c = sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("c", d, 1)
    _check(c.T * sc.layer_norm(x, eps=eps), x, layout, {d: 5})
    r = sp.MatrixSymbol("r", 1, d)
    _check(sp.Trace(r * sc.layer_norm(r, eps=eps).T), r, layout, {d: 4})
    # the textbook Jacobian (1/s)(I − 11ᵀ/d − x̂x̂ᵀ/d), symmetric: the same in both layouts
    J = sc.jacobian(sc.layer_norm(x, eps=eps), x, layout=layout)
    rng = np.random.default_rng(1)
    xv, ev = rng.standard_normal((5, 1)), 0.3
    xh = (xv - xv.mean()) / np.sqrt(xv.var() + ev)
    want = (np.eye(5) - np.ones((5, 5)) / 5 - xh @ xh.T / 5) / np.sqrt(xv.var() + ev)
    got = sc.lambdify([x, eps], J)(xv, ev)
    assert np.allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_std_gradients(layout):
    for axis in (0, 1):
        u = sp.MatrixSymbol("u", n, 1) if axis == 1 else sp.MatrixSymbol("u", 1, d)
        Z = X * W
        L = sp.Trace(u.T * sc.std(Z, axis=1, eps=eps)) if axis == 1 else sp.Trace(sc.std(Z, axis=0, eps=eps) * u.T)
        for wrt in (W, eps):
            _check(L, wrt, layout, SIZES[0])


def test_layer_norm_gradient_reads_like_the_textbook():
    g = sc.diff(sp.Trace(C.T * sc.layer_norm(X * W, axis=1)), X)
    text = sc.text(g)
    assert text.startswith("diag(std(X*W, axis=1))^-1*(C - ")
    assert "HadamardPower" not in sp.srepr(g) and text.count("layer_norm") == 2
    assert text.count("std(") == 1


def test_layer_norm_values():
    """The reference evaluator, the generated code and the node's own entries agree with NumPy's
    textbook layer norm (population variance, ε inside the root)."""
    Z = sp.MatrixSymbol("Z", 3, 4)
    v = np.random.default_rng(0).standard_normal((3, 4))
    for axis in (0, 1):
        mu, var = v.mean(axis=axis, keepdims=True), v.var(axis=axis, keepdims=True)
        want = (v - mu) / np.sqrt(var + 0.5)
        node = sc.layer_norm(Z, axis=axis, eps=sp.Rational(1, 2))
        assert np.allclose(reference.evaluate(node, {Z: v}), want)
        assert np.allclose(sc.lambdify([Z], node)(v), want)
        entries = node.as_explicit().xreplace({Z[i, j]: v[i, j] for i in range(3) for j in range(4)})
        assert np.allclose(np.array(entries.evalf(), dtype=float), want)
        assert np.allclose(sc.lambdify([Z], sc.std(Z, axis=axis, eps=sp.Rational(1, 2)))(v),
                           np.sqrt(var + 0.5))
    big = 1e8 + v  # two passes: no cancellation in E[x²] − μ²
    assert np.allclose(sc.lambdify([Z], sc.layer_norm(Z, axis=1))(big),
                       (big - big.mean(1, keepdims=True)) / big.std(1, keepdims=True), atol=1e-6)


def test_layer_norm_transposes():
    Z = sp.MatrixSymbol("Z", n, d)
    from symcalc.simplify import transpose
    assert transpose(sc.layer_norm(Z, axis=1, eps=eps)) == F.LayerNorm(Z.T, 0, eps)
    assert transpose(sc.std(Z, axis=1)) == F.Std(Z.T, 0)


def test_layer_norm_shapes_and_errors():
    Z = sp.MatrixSymbol("Z", n, d)
    assert sc.layer_norm(Z, axis=1).shape == (n, d)
    assert sc.std(Z, axis=1).shape == (n, 1) and sc.std(Z, axis=0).shape == (1, d)
    assert sc.layer_norm(sp.MatrixSymbol("x", d, 1)).axis == 0
    assert sc.layer_norm(sp.MatrixSymbol("r", 1, d)).axis == 1
    with pytest.raises(sc.ShapeError, match="say which axis"):
        sc.layer_norm(Z)
    with pytest.raises(ValueError, match="non-negative"):
        sc.layer_norm(Z, axis=1, eps=-1)
    with pytest.raises(sc.ShapeError, match="eps is a scalar"):
        sc.layer_norm(Z, axis=1, eps=Z)
    with pytest.raises(ValueError, match="axis is 0"):
        sc.layer_norm(Z, axis=2)


# ---------------------------------------------------------------------- causal attention

WQ, WK = sp.MatrixSymbol("W_Q", k, d), sp.MatrixSymbol("W_K", k, d)
WV = sp.MatrixSymbol("W_V", k, dv)
CA = sp.MatrixSymbol("C", n, dv)


def attention_loss(axis, causal):
    """tr(Cᵀ softmax(X W_Q W_Kᵀ Xᵀ/√d, causal) X W_V), tokens as rows; axis 0 is the same attention
    with the scores transposed (each column a query)."""
    S = X * WQ * WK.T * X.T / sp.sqrt(d)
    if axis == 1:
        return sp.Trace(CA.T * sc.softmax(S, axis=1, causal=causal) * X * WV)
    return sp.Trace(CA * WV.T * X.T * sc.softmax(S.T, axis=0, causal=causal))


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("axis", [1, 0])
def test_attention_gradients(axis, causal, layout, sizes):
    L = attention_loss(axis, causal)
    for wrt in (WQ, WK, WV, X):
        _check(L, wrt, layout, sizes)


def test_causal_softmax_values():
    S = sp.MatrixSymbol("S", 4, 4)
    v = np.random.default_rng(2).standard_normal((4, 4)) * 30  # large scores: stable forms needed
    A = sc.softmax(S, axis=1, causal=True)
    want = np.zeros((4, 4))
    for i in range(4):
        e = np.exp(v[i, :i + 1] - v[i, :i + 1].max())
        want[i, :i + 1] = e / e.sum()
    assert np.allclose(reference.evaluate(A, {S: v}), want)
    assert np.allclose(sc.lambdify([S], A)(v), want)
    assert np.allclose(sc.lambdify([S], sc.softmax(S, axis=0, causal=True))(v.T), want.T)
    with np.errstate(all="raise"):  # masked entries: exactly 0, log −inf, no warning
        logA = sc.lambdify([S], sc.log(A))(v)
    assert np.isneginf(logA[np.triu_indices(4, 1)]).all()
    assert np.allclose(logA[np.tril_indices(4)], np.log(want[np.tril_indices(4)]))
    small = sp.MatrixSymbol("T", 3, 3)
    entries = sc.softmax(small, axis=1, causal=True).as_explicit()
    t = np.random.default_rng(3).standard_normal((3, 3))
    got = np.array(entries.xreplace({small[i, j]: t[i, j] for i in range(3) for j in range(3)}).evalf(), dtype=float)
    assert np.allclose(got, reference.evaluate(sc.softmax(small, axis=1, causal=True), {small: t}))


def test_causal_softmax_errors_and_printing():
    with pytest.raises(sc.ShapeError, match="square"):
        sc.softmax(sp.MatrixSymbol("Z", n, d), axis=1, causal=True)
    S = sp.MatrixSymbol("S", n, n)
    A = sc.softmax(S, axis=1, causal=True)
    assert sc.text(A) == "softmax(S, axis=1, causal=True)"
    assert sc.latex(A) == r"\operatorname{softmax}_{\text{row, causal}}(\mathbf{S})"
    assert sc.text(sc.layer_norm(S, axis=1, eps=eps)) == "layer_norm(S, axis=1, eps=epsilon)"
    assert sc.latex(sc.layer_norm(S, axis=0, eps=eps)) == r"\operatorname{LN}_{\text{col}}(\mathbf{S};\, \epsilon)"
    shapes = {"S": ("n", "n"), "X": ("n", "d")}
    for e in (A, sc.layer_norm(sp.MatrixSymbol("X", n, d), axis=1, eps=eps), sc.std(sp.MatrixSymbol("X", n, d), axis=0)):
        back = parse(sc.text(e), shapes, scalars=["epsilon"])  # the text reads back (epsilon: a real scalar)
        assert type(back) is type(e) and sc.text(back) == sc.text(e)


# ---------------------------------------------------------------------- derivations

def _derive_checked(L, wrt, layout, style):
    D = sc.derive(L, wrt, layout=layout, style=style)
    report = D.check()
    assert report.ok, [(r.step.rule, r.message) for r in report.results if not r.ok]
    return D


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layer_norm_derivations(layout):
    x, Wx, c = sp.MatrixSymbol("x", k, 1), sp.MatrixSymbol("W", d, k), sp.MatrixSymbol("c", d, 1)
    D = _derive_checked(c.T * sc.layer_norm(Wx * x, eps=eps), Wx, layout, "chain")
    tex = D.latex()
    assert r"\mathbf{1} \mathbf{1}^{\top}" in tex and r"\hat{\mathbf{z}} \hat{\mathbf{z}}^{\top}" in tex
    V = sp.MatrixSymbol("V", k, d)
    for style in ("chain", "differential"):
        D = _derive_checked(sc.frobenius2(sc.layer_norm(X * V, axis=1, eps=eps) - C), V, layout, style)
    assert r"\hat{\mathbf{Z}} &= \operatorname{LN}_{\text{row}}" in D.latex()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_causal_attention_derivation(layout):
    for wrt in (WQ, WV):
        D = _derive_checked(attention_loss(1, True), wrt, layout, "chain")
    assert r"\operatorname{softmax}_{\text{row, causal}}" in D.latex()


@pytest.mark.latex
def test_derivations_compile_without_overfull_boxes(tmp_path):
    import shutil
    if not (shutil.which("latexmk") and shutil.which("pdflatex")):
        pytest.skip("latexmk not installed")
    x, Wx, c = sp.MatrixSymbol("x", k, 1), sp.MatrixSymbol("W", d, k), sp.MatrixSymbol("c", d, 1)
    V = sp.MatrixSymbol("V", k, d)
    cases = [(c.T * sc.layer_norm(Wx * x, eps=eps), Wx, "chain"),
             (sc.frobenius2(sc.layer_norm(X * V, axis=1, eps=eps) - C), V, "chain"),
             (sc.frobenius2(sc.layer_norm(V.T * X.T, axis=0) - C.T), V, "differential"),
             (attention_loss(1, True), WQ, "chain")]
    for i, (L, wrt, style) in enumerate(cases):
        for layout in LAYOUTS:
            pdf = sc.derive(L, wrt, layout=layout, style=style).write_tex(tmp_path / f"d{i}{layout}.tex", compile=True)
            log = pdf.with_suffix(".log").read_text(errors="ignore")
            assert pdf.is_file() and "Overfull" not in log, (i, layout)
