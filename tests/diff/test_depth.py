"""Depth: the gradient of an L-layer sigmoid MLP wrt its first weight matrix.

Right at every depth (finite differences where the gradient is large enough to see, a NumPy
backpropagation written here at every depth up to 32) and O(L) in size as a DAG (the
cheap-gradient principle): the number of distinct sub-expressions grows linearly in L.
"""
import numpy as np
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.diff import diff

from . import oracle
from .common import LAYOUTS

d, h = sp.symbols("d h", integer=True, positive=True)
SIZES = {d: 3, h: 2}


def mlp(L):
    """Squared loss of x -> sigmoid(W_L ... sigmoid(W_1 x)); returns (loss, [W_1..W_L], x, y)."""
    x, y = sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("y", h, 1)
    Ws = [sp.MatrixSymbol(f"W{k}", h, d if k == 1 else h) for k in range(1, L + 1)]
    a = x
    for W in Ws:
        a = F.sigmoid(W * a)
    r = a - y
    return r.T * r, Ws, x, y


def distinct_subexpressions(e):
    """len(set(sp.preorder_traversal(e))), without walking shared sub-trees more than once."""
    seen, stack = set(), [e]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, sp.Basic):
            stack.extend(node.args)
    return len(seen)


def backprop_W1(values, Ws, x, y):
    """The gradient wrt W_1 by hand-written NumPy backpropagation (denominator layout)."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    acts, zs = [values[x]], []
    for W in Ws:
        zs.append(values[W] @ acts[-1])
        acts.append(sig(zs[-1]))
    delta = 2 * (acts[-1] - values[y]) * acts[-1] * (1 - acts[-1])
    for k in range(len(Ws) - 1, 0, -1):
        delta = (values[Ws[k]].T @ delta) * acts[k] * (1 - acts[k])
    return delta @ acts[0].T


@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_shallow_against_finite_differences(L, layout):
    loss, Ws, x, y = mlp(L)
    g = diff(loss, Ws[0], layout=layout)
    oracle.check(g, loss, Ws[0], layout=layout, sizes=SIZES, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("L", [1, 2, 4, 8, 16, 32])
def test_deep_against_backpropagation(L):
    loss, Ws, x, y = mlp(L)
    g = diff(loss, Ws[0])
    gc = oracle.concrete(g, SIZES)
    point = oracle.make_point(oracle.concrete(loss, SIZES), seed=L)
    values = {s.name: v for s, v in point.values.items()}
    sym = lambda e: sp.MatrixSymbol(e.name, *oracle.concrete(e, SIZES).shape)  # noqa: E731
    by_sym = {sym(e): values[e.name] for e in [*Ws, x, y]}
    want = backprop_W1(by_sym, [sym(W) for W in Ws], sym(x), sym(y))
    got = oracle.evaluate(gc, point)
    assert got.shape == want.shape == (2, 3)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-300), f"L={L}: {got} vs {want}"
    assert np.abs(want).max() > 0


def test_size_grows_linearly():
    sizes = {}
    for L in (4, 8, 16, 32):
        loss, Ws, _, _ = mlp(L)
        sizes[L] = distinct_subexpressions(diff(loss, Ws[0]))
    assert sizes[8] / sizes[4] < 2.3, sizes
    assert sizes[16] / sizes[8] < 2.3, sizes
    assert sizes[32] / sizes[16] < 2.3, sizes
    per_layer = [sizes[L] / L for L in sizes]
    assert max(per_layer) < 40, sizes  # a handful of nodes per layer, not a blow-up
