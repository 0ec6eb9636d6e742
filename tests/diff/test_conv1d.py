"""One-dimensional convolution, sc.conv1d: Y = Σⱼ Sⱼ X Wⱼ (symcalc/convolution.py).

The forward pass is compared with the convolution written by its definition in loops here
(Σⱼ wⱼ z_{i−ℓ+j−1}, and NumPy's ``correlate`` for one channel); gradients with respect to the input
and to every tap against this package's oracle (explicit SymPy matrices from the shift matrix's
entries, finite differences) and against ``sc.check`` (the reference evaluator), in both layouts,
at stride 1 and 2, padding 0 and ℓ, one and several channels; symbolic sizes are printed and
checked at concrete ones. The generated code must agree with the reference without building a
T x T matrix.
"""
import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc.errors import ShapeError, UnsupportedError
from symcalc.numeric.reference import function as reference

from . import oracle
from .common import LAYOUTS, assert_derivative

T, C, D = sp.symbols("T C D", integer=True, positive=True)
X = sp.MatrixSymbol("X", T, C)
x = sp.MatrixSymbol("x", T, 1)
K = 3
TAPS = [sp.MatrixSymbol(f"W{j}", C, D) for j in range(1, K + 1)]
w = sp.symbols(f"w1:{K + 1}", real=True)  # one channel: a scalar per tap

#: (stride, padding, multi-channel)
CONFIGS = [(s, p, multi) for s in (1, 2) for p in (0, "same") for multi in (True, False)]


def cid(config):
    s, p, multi = config
    return f"stride{s}-pad{p}-{'multi' if multi else 'single'}"


def build(stride, padding, multi):
    """(Y, input, [taps]) of a convolution with symbolic sizes."""
    if multi:
        return sc.conv1d(X, TAPS, stride=stride, padding=padding), X, TAPS
    return sc.conv1d(x, w, stride=stride, padding=padding), x, list(w)


def by_definition(Z, kernel, stride, padding):
    """(conv(Z))ᵢ = Σⱼ Z_{s i + j − p} Wⱼ (rows and taps from 0), zero rows outside: the loop the notes write."""
    n, k = Z.shape[0], len(kernel)
    rows = (n + 2 * padding - k) // stride + 1
    out = np.zeros((rows, np.atleast_2d(kernel[0]).shape[1]))
    for i in range(rows):
        for j in range(k):
            t = stride * i + j - padding
            if 0 <= t < n:
                out[i] += Z[t] @ np.atleast_2d(kernel[j])
    return out


def values(rng, n, multi, c=2, d=3):
    if multi:
        return {X: rng.standard_normal((n, c)), **{W: rng.standard_normal((c, d)) for W in TAPS}}
    return {x: rng.standard_normal((n, 1)), **{v: float(rng.standard_normal()) for v in w}}


def pad_of(padding):
    return (K - 1) // 2 if padding == "same" else padding


# --------------------------------------------------------------------------- forward

@pytest.mark.parametrize("config", CONFIGS, ids=cid)
@pytest.mark.parametrize("n", [7, 8])
def test_forward_is_the_convolution(config, n, rng):
    """The reference evaluator and the generated code give Σⱼ wⱼ z_{i−ℓ+j−1}; the symbolic length
    ⌊(T + 2p − k)/s⌋ + 1 is the loops' length at T = n."""
    s, p, multi = config
    Y, Z, kernel = build(*config)
    vals = values(rng, n, multi)
    want = by_definition(vals[Z], [vals[W] for W in kernel], s, pad_of(p))
    assert int(Y.shape[0].subs(T, n)) == want.shape[0]
    assert Y.shape[1] == (D if multi else 1)
    args = list(vals)
    ref = reference(Y, args)(*vals.values())
    gen = sc.lambdify(args, Y)(*vals.values())
    np.testing.assert_allclose(ref, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gen, want, rtol=1e-12, atol=1e-12)
    if not multi:  # one channel: NumPy's correlation of the zero-padded signal, every s-th entry
        q = pad_of(p)
        z = np.pad(vals[x][:, 0], q)
        np.testing.assert_allclose(want[:, 0], np.correlate(z, [vals[v] for v in w], "valid")[::s])


def test_same_padding_keeps_the_length_at_stride_one():
    Y = sc.conv1d(X, TAPS)
    assert Y.shape == (T, D)
    assert sc.conv1d(X, TAPS, padding=0).shape == (T - 2, D)
    assert sc.conv1d(X, TAPS, stride=2).shape == (sp.ceiling(T / 2), D)  # ⌊(T − 1)/2⌋ + 1
    assert sc.conv1d(X, TAPS, stride=2, padding=0).shape == (sp.ceiling(T / 2) - 1, D)


def test_printed_as_the_notes_write_it():
    """Y = S₁ X W₁ + S₂ X W₂ + S₃ X W₃; one channel y = w₁ S₁ x + w₂ S₂ x + w₃ S₃ x (= Q x)."""
    Y = sc.conv1d(X, TAPS)
    assert sc.text(Y) == "S_1*X*W1 + S_2*X*W2 + S_3*X*W3"
    assert sc.latex(Y) == (r"\mathbf{S}_{1} \mathbf{X} \mathbf{W}_{1} + \mathbf{S}_{2} \mathbf{X} "
                           r"\mathbf{W}_{2} + \mathbf{S}_{3} \mathbf{X} \mathbf{W}_{3}")
    assert sc.text(sc.conv1d(x, w)) == "w1*S_1*x + w2*S_2*x + w3*S_3*x"
    assert sp.latex(Y.args[0].args[0]) == "S_{1}"  # SymPy's own printer


# --------------------------------------------------------------------------- backward

G = sp.MatrixSymbol("G", T, D)


def test_backward_is_correlation_and_full_convolution():
    """With upstream gradient G (L = tr(Gᵀ Y)): ∂L/∂Wⱼ = (Sⱼ X)ᵀ G, the correlation of the input
    with G; ∂L/∂X = Σⱼ Sⱼᵀ G Wⱼᵀ, the full convolution of G with the flipped kernel."""
    L = sp.Trace(G.T * sc.conv1d(X, TAPS))
    for j, W in enumerate(TAPS, start=1):
        assert sc.text(sc.diff(L, W)) == f"(S_{j}*X).T*G"
        assert sc.latex(sc.diff(L, W)) == r"(\mathbf{S}_{%d} \mathbf{X})^{\top} \mathbf{G}" % j
        assert sc.text(sc.diff(L, W, layout="numerator")) == f"G.T*S_{j}*X"
    terms = sorted(sc.text(sc.diff(L, X)).split(" + "))
    assert terms == [f"S_{j}.T*G*W{j}.T" for j in (1, 2, 3)]


def test_single_channel_backward():
    """One channel: ∂L/∂x = Qᵀ g with Q = Σⱼ wⱼ Sⱼ, and ∂L/∂wⱼ = gᵀ Sⱼ x = (Sⱼ x)ᵀ g."""
    g = sp.MatrixSymbol("g", T, 1)
    L = g.T * sc.conv1d(x, w)
    assert sc.text(sc.diff(L, w[1])) == "g.T*S_2*x"
    grad = sc.diff(L, x)
    assert sc.text(grad) == "(w1*S_1.T + w2*S_2.T + w3*S_3.T)*g"  # Qᵀ g, the banded Q transposed


def _loss(Y, multi):
    """A scalar that weighs every output entry differently, through a nonlinearity."""
    target = sp.MatrixSymbol("R", *Y.shape)
    return sc.frobenius2(sc.tanh(Y) - target)


ORACLE_SIZES = {"stride1": {T: 7, C: 2, D: 3}, "stride2": {T: 8, C: 3, D: 2}}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("config", CONFIGS, ids=cid)
def test_gradients_match_finite_differences(config, layout):
    """Every input and every tap, against the tests' own oracle (explicit SymPy matrices from the
    shift matrix's entries) and sc.check (the reference evaluator), in both layouts."""
    s, p, multi = config
    Y, Z, kernel = build(*config)
    L = _loss(Y, multi)
    sizes = ORACLE_SIZES[f"stride{s}"]
    for v in [Z, *kernel]:
        result = sc.diff(L, v, layout=layout)
        assert_derivative(result, L, v, layout=layout, sizes=sizes)
        report = sc.check(L, v, layout=layout, sizes={"T": 9, "C": 2, "D": 4}, seed=1)
        assert report.ok, report


def test_vector_kernel_gives_one_gradient():
    """A kernel given as a k-vector w: ∂L/∂w is the k-vector of correlations gᵀ Sⱼ x."""
    wv = sp.MatrixSymbol("w", K, 1)
    L = _loss(sc.conv1d(x, wv, stride=2), False)
    for layout in LAYOUTS:
        result = sc.diff(L, wv, layout=layout)
        assert result.shape == ((K, 1) if layout == "denominator" else (1, K))
        assert_derivative(result, L, wv, layout=layout, sizes={T: 8})


def test_even_kernel_and_wide_stride(rng):
    """k = 4 (padding given), stride 3: the length and the gradients still hold."""
    taps = [sp.MatrixSymbol(f"V{j}", C, D) for j in range(1, 5)]
    Y = sc.conv1d(X, taps, stride=3, padding=2)
    vals = {X: rng.standard_normal((10, 2)), **{V: rng.standard_normal((2, 3)) for V in taps}}
    want = by_definition(vals[X], [vals[V] for V in taps], 3, 2)
    np.testing.assert_allclose(sc.lambdify(list(vals), Y)(*vals.values()), want, atol=1e-12)
    L = _loss(Y, True)
    for v in (X, taps[3]):
        for layout in LAYOUTS:
            assert_derivative(sc.diff(L, v, layout=layout), L, v, layout=layout, sizes={T: 10, C: 2, D: 3})


def test_two_layers_share_nothing_dense(rng):
    """A second convolution of the first's output (stride 2 then 1): gradients by the first layer's
    taps pass through both, and the generated code builds no identity or T x T matrix."""
    V = [sp.MatrixSymbol(f"V{j}", D, 2) for j in (1, 2, 3)]
    H = sc.conv1d(sc.relu(sc.conv1d(X, TAPS, stride=2, name="1")), V, name="2")
    L = _loss(H, True)
    assert_derivative(sc.diff(L, TAPS[0]), L, TAPS[0], layout="denominator", sizes={T: 9, C: 2, D: 3})
    grads = [sc.diff(L, v) for v in (X, TAPS[0], V[2])]
    code = sc.codegen([L, *grads], [X, *TAPS, *V, sp.MatrixSymbol("R", *H.shape)])
    assert "numpy.eye" not in code and "numpy.pad" in code
    vals = [rng.standard_normal(s) for s in [(9, 2)] + [(2, 3)] * 3 + [(3, 2)] * 3 + [(5, 2)]]
    args = [X, *TAPS, *V, sp.MatrixSymbol("R", *H.shape)]
    got = sc.lambdify(args, [L, *grads])(*vals)
    want = [reference(e, args)(*vals) for e in [L, *grads]]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- generated code

@pytest.mark.parametrize("config", CONFIGS, ids=cid)
def test_generated_backward_agrees_with_the_reference(config, rng):
    """Forward and every gradient, generated code against the reference evaluator; Sⱼ X is a
    strided slice of the padded input, Sⱼᵀ G a strided scatter: no dense shift matrix."""
    s, p, multi = config
    Y, Z, kernel = build(*config)
    L = _loss(Y, multi)
    exprs = [L] + [sc.diff(L, v) for v in [Z, *kernel]]
    R = sp.MatrixSymbol("R", *Y.shape)
    args = [Z, *[W for W in kernel if isinstance(W, sp.MatrixSymbol)], *[v for v in kernel if not
                                                                          isinstance(v, sp.MatrixSymbol)], R]
    code = sc.codegen(exprs, args)
    assert "numpy.eye" not in code
    assert ("numpy.pad" in code) == (pad_of(p) > 0)
    assert re.search(r"\[\d+:(-\d+)?(:2)?\]", code)  # the taps' strided slices
    n = 9
    rows = (n + 2 * pad_of(p) - K) // s + 1
    c, d = (2, 3) if multi else (1, 1)
    shapes = {Z: (n, c), R: (rows, d), **{W: (c, d) for W in TAPS}}
    vals = [rng.standard_normal(shapes[a]) if a in shapes else float(rng.standard_normal()) for a in args]
    got = sc.lambdify(args, exprs)(*vals)
    for e, a in zip(exprs, got):
        np.testing.assert_allclose(a, reference(e, args)(*vals), rtol=1e-10, atol=1e-12)


def test_a_shift_matrix_alone_is_dense_and_right():
    """Sⱼ outside a product (no operand to slice) is the dense 0/1 matrix."""
    for n, k, j, s, p in [(4, 3, 1, 2, 1), (6, 3, 3, 1, 0), (5, 2, 2, 2, 1)]:
        S = sc.Shift(n, k, j, s, p)
        dense = np.array(S.as_explicit(), dtype=float)
        np.testing.assert_array_equal(sc.lambdify([], S)(), dense)
        np.testing.assert_array_equal(sc.lambdify([], S.T)(), dense.T)


# --------------------------------------------------------------------------- the shift matrix

@pytest.mark.parametrize("n,k,j,s,p", [(5, 3, 1, 1, 1), (6, 3, 3, 2, 1), (7, 4, 2, 3, 2), (4, 1, 1, 1, 0)])
def test_shift_matrix_entries(n, k, j, s, p):
    """(Sⱼ)ᵢₜ = 1 when t = s i + j − 1 − p: the same from SymPy's entries, the reference evaluator
    and the generated code, and Sⱼ X picks exactly the rows tap j reads."""
    S = sc.Shift(n, k, j, s, p)
    rows = (n + 2 * p - k) // s + 1
    assert S.shape == (rows, n)
    want = np.zeros((rows, n))
    for i in range(rows):
        if 0 <= s * i + j - 1 - p < n:
            want[i, s * i + j - 1 - p] = 1
    np.testing.assert_array_equal(np.array(S.as_explicit(), dtype=float), want)
    np.testing.assert_array_equal(reference(S, [])(), want)
    Z = sp.MatrixSymbol("Z", n, 2)
    z = np.random.default_rng(0).standard_normal((n, 2))
    np.testing.assert_allclose(sc.lambdify([Z], S * Z)(z), want @ z)
    g = sp.MatrixSymbol("g", rows, 2)
    gv = np.random.default_rng(1).standard_normal((rows, 2))
    np.testing.assert_allclose(sc.lambdify([g], S.T * g)(gv), want.T @ gv)
    np.testing.assert_allclose(sc.lambdify([Z], Z.T * S.T)(z), z.T @ want.T)
    np.testing.assert_allclose(sc.lambdify([g], g.T * S)(gv), gv.T @ want)


def test_errors_name_what_would_work():
    with pytest.raises(ShapeError, match="odd"):
        sc.conv1d(X, TAPS[:2])  # padding='same' of an even kernel
    with pytest.raises(ShapeError, match="C_in"):
        sc.conv1d(X, [TAPS[0], sp.MatrixSymbol("B", D, D), TAPS[2]])
    with pytest.raises(ShapeError, match="all matrices"):
        sc.conv1d(X, [TAPS[0], w[0], TAPS[2]])
    with pytest.raises(UnsupportedError, match="concrete integer"):
        sc.conv1d(x, sp.MatrixSymbol("w", T, 1))
    with pytest.raises(ShapeError, match="stride"):
        sc.conv1d(X, TAPS, stride=0)
    with pytest.raises(ShapeError, match="padding"):
        sc.conv1d(X, TAPS, padding="full")
    with pytest.raises(ShapeError, match="padding"):
        sc.conv1d(X, TAPS, padding=sp.Symbol("p"))
    with pytest.raises(ShapeError, match="longer"):
        sc.conv1d(sp.MatrixSymbol("Z", 2, 2), [sp.MatrixSymbol(f"U{j}", 2, 2) for j in range(5)], padding=1)
    with pytest.raises(ShapeError, match="T x C_in"):
        sc.conv1d(w[0], TAPS)
    with pytest.raises(ShapeError, match="list of k matrices"):
        sc.conv1d(X, TAPS[0])


# --------------------------------------------------------------------------- derivations

@pytest.mark.parametrize("style", ["chain", "differential"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_derivation_steps_hold(style, layout):
    """Every step (the shift matrices' entries among them) holds at random values."""
    Y = sc.conv1d(X, TAPS, stride=2)
    L = _loss(Y, True)
    for v in (X, TAPS[1]):
        d = sc.derive(L, v, layout=layout, style=style)
        assert d.check(), d.check()
        assert any(s.rule.startswith("shift matrices") for s in d.steps)


def test_derivation_prints_the_correlation():
    d = sc.derive(sc.sum(sc.tanh(sc.conv1d(X, TAPS))), TAPS[0])
    assert r"(\mathbf{S}_{1} \mathbf{X})^{\top} \frac{\partial L}{\partial \mathbf{Z}}" in d.latex()
    assert r"(\mathbf{S}_{1})_{it} &= \mathbb{1}[t = i - 1]" in d.latex()
    assert "S_1[i, t] = 1[t = i - 1]" in str(d)


@pytest.mark.latex
def test_derivation_compiles_without_overfull_boxes(tmp_path):
    """Two named convolutions (stride 2, then 1) in the chain style, one in the differential style:
    each derivation compiles with no overfull box (looked at as PNG when written)."""
    if not (shutil.which("latexmk") and shutil.which("pdflatex")):
        pytest.skip("latexmk not installed")
    V = [sp.MatrixSymbol(f"V{j}", D, 2) for j in (1, 2, 3)]
    two = _loss(sc.conv1d(sc.relu(sc.conv1d(X, TAPS, stride=2, name="1")), V, name="2"), True)
    one = _loss(sc.conv1d(X, TAPS, stride=2), True)
    cases = [(two, X, "chain", "denominator"), (two, TAPS[0], "chain", "numerator"),
             (one, X, "differential", "denominator"), (one, TAPS[1], "differential", "numerator")]
    for k, (L, v, style, layout) in enumerate(cases):
        tex = tmp_path / f"conv{k}.tex"
        sc.derive(L, v, style=style, layout=layout).write_tex(tex, compile=True)
        log = tex.with_suffix(".log").read_text(errors="replace")
        assert "Overfull" not in log, (style, layout, v)


def test_named_convolutions_print_apart():
    """Two convolutions of different strides in one model: S⁽¹⁾ⱼ and S⁽²⁾ⱼ, each defined once."""
    V = [sp.MatrixSymbol(f"V{j}", D, 2) for j in (1, 2, 3)]
    H = sc.conv1d(sc.relu(sc.conv1d(X, TAPS, stride=2, name="1")), V, name="2")
    assert sc.text(H).startswith("S_1^(2)*relu(S_1^(1)*X*W1")
    assert r"\mathbf{S}_{1}^{(1)}" in sc.latex(H)
    d = sc.derive(_loss(H, True), TAPS[0])
    assert len([s for s in d.steps if s.rule.startswith("shift matrices")]) == 2
    assert d.check()
    with pytest.raises(ShapeError, match="name"):
        sc.conv1d(X, TAPS, name="a b")


def test_parsed_as_the_command_line_writes_it():
    """conv1d(X, W1, W2, W3, stride=2) in text: the taps are the arguments after the input."""
    from symcalc.errors import ParseError
    from symcalc.parse import parse
    shapes = {"X": ("n", "C"), "W1": ("C", "D"), "W2": ("C", "D"), "W3": ("C", "D")}
    n = sp.Symbol("n", integer=True, positive=True)
    got = parse("conv1d(X, W1, W2, W3, stride=2, padding=0)", shapes)
    Xn = sp.MatrixSymbol("X", n, C)
    assert got == sc.conv1d(Xn, TAPS, stride=2, padding=0)
    assert parse("conv1d(X, W1, W2, W3, padding='valid')", shapes).shape == (n - 2, D)
    for bad in ("conv1d(X, W1, W2, W3, stride=k)", "conv1d(X)", "conv1d(X, W1, W2, W3, padding='full')",
                "conv1d(X, W1, W2, W3, axis=1)"):
        with pytest.raises(ParseError, match="conv1d"):
            parse(bad, shapes)
    with pytest.raises(ShapeError, match="tap 3"):
        parse("conv1d(X, W1, W2, X)", shapes)
