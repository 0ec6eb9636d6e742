"""A residual stream a_k = a_{k−1} + tanh(W_k a_{k−1}) is named once per layer (issue 14): the
derivation grows linearly with depth instead of writing the stream out at every use (2^L)."""
import sympy as sp

import symcalc as sc

n = sp.Symbol("n", integer=True, positive=True)


def residual(L):
    x = sp.MatrixSymbol("x", n, 1)
    a, Ws = x, [sp.MatrixSymbol(f"W{k}", n, n) for k in range(1, L + 1)]
    for W in Ws:
        a = a + sc.tanh(W * a)
    return sc.norm2(a), Ws


def test_each_sum_of_the_stream_is_one_intermediate():
    loss, Ws = residual(3)
    d = sc.derive(loss, Ws[0])
    bodies = [s.rhs for s in d.steps if s.section == "Intermediate variables"]
    assert len(bodies) == 5 and all(sc.text(b).count("tanh") <= 1 for b in bodies), bodies
    assert d.check().ok


def test_the_derivation_grows_linearly_with_depth():
    (l8, W8), (l16, W16) = residual(8), residual(16)
    d8, d16 = sc.derive(l8, W8[0]), sc.derive(l16, W16[0])
    assert len(d16.steps) <= 2 * len(d8.steps)
    assert len(d16.latex()) <= 2.2 * len(d8.latex())   # a tree written out would grow 256-fold


def test_a_middle_layer_in_both_layouts():
    loss, Ws = residual(4)
    for layout in ("denominator", "numerator"):
        assert sc.derive(loss, Ws[1], layout=layout).check().ok
