"""Block matrices and column slices: the folded bias [1; x] and the weight W[:, 1:] that acts on x.

Every case is checked against the independent oracle (central differences of the input made
explicit) in both layouts at two rectangular size configurations, as tests/diff/test_rules.py does.
"""
import pytest
import sympy as sp

import symcalc as sc
import symcalc.functions as F
from symcalc import nn
from symcalc.diff import diff
from symcalc.diff.blocks import submatrix
from symcalc.errors import UnsupportedError

from .common import LAYOUTS, SIZES, M, assert_derivative, m, n, p


def ones(r, c):
    return sp.OneMatrix(r, c)


CASES = {
    # z = W [1; x]: the intercept in column 0 of W (CMU recitation 5, lecture 13 case 2)
    "u'W[1;x] by W": lambda: (M("u", m).T * M("W", m, n + 1) * sp.BlockMatrix([[ones(1, 1)], [M("x", n)]]),
                              M("W", m, n + 1)),
    "u'W[1;x] by x": lambda: (M("u", m).T * M("W", m, n + 1) * sp.BlockMatrix([[ones(1, 1)], [M("x", n)]]),
                              M("x", n)),
    "sigmoid layer with intercept by x": lambda: (
        M("u", m).T * F.sigmoid(M("W", m, n + 1) * sp.BlockMatrix([[ones(1, 1)], [M("x", n)]])), M("x", n)),
    # samples as rows: [1 X] W^T
    "rows [1 X] by X": lambda: (
        sc.sum(F.tanh(sp.BlockMatrix([[ones(p, 1), M("X", p, n)]]) * M("W", m, n + 1).T)), M("X", p, n)),
    "rows [1 X] by W": lambda: (
        sc.sum(F.tanh(sp.BlockMatrix([[ones(p, 1), M("X", p, n)]]) * M("W", m, n + 1).T)), M("W", m, n + 1)),
    # a block of two variables, and a 2 x 2 grid of blocks
    "[x; y] both blocks vary": lambda: (
        sc.norm2(M("A", m, n + p) * sp.BlockMatrix([[M("x", n)], [M("y", p)]])), M("y", p)),
    "2 x 2 blocks": lambda: (
        sp.Trace(M("C", n + m, m + n) * sp.BlockMatrix([[M("X", m, n), M("B", m, m)],
                                                        [M("D", n, n), M("X", m, n).T]])), M("X", m, n)),
    # column and row slices
    "u'W[:, 1:]x by W": lambda: (M("u", m).T * M("W", m, n + 1)[:, 1:] * M("x", n), M("W", m, n + 1)),
    "slice in a nonlinearity": lambda: (
        sc.sum(F.sigmoid(M("W", m, n + 1)[:, 1:] * M("x", n))), M("W", m, n + 1)),
    "row slice X[1:, :]": lambda: (sc.frobenius2(M("X", m + 1, n)[1:, :] * M("B", n, p)), M("X", m + 1, n)),
    "inner slice X[1:m+1, 2:n+2]": lambda: (
        sp.Trace(M("A", n, m) * M("X", m + 2, n + 3)[1:m + 1, 2:n + 2]), M("X", m + 2, n + 3)),
}


@pytest.mark.parametrize("config", sorted(SIZES))
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_block_and_slice_rules(name, layout, config):
    expr, wrt = CASES[name]()
    result = diff(expr, wrt, layout=layout)
    assert_derivative(result, expr, wrt, layout=layout, sizes=SIZES[config])


def test_textbook_share_of_the_folded_input():
    """∂(uᵀ W [1; x])/∂x is W[:, 1:]ᵀ u: the block's share is pushed into the product."""
    W, x, u = M("W", m, n + 1), M("x", n), M("u", m)
    g = sc.gradient(u.T * W * sp.BlockMatrix([[ones(1, 1)], [x]]), x)
    assert g == W[:, 1:].T * u


def test_submatrix_pushes_into_structure():
    W, d, B = M("W", m, n + 1), M("d", m), M("B", n, 2)
    assert submatrix(W.T * d, (1, n + 1), (0, 1)) == W[:, 1:].T * d
    blocks = sp.BlockMatrix([[ones(1, 2)], [B]])
    assert submatrix(blocks, (1, n + 1), (0, 2)) == B
    assert submatrix(W, (0, m), (0, n + 1)) == W


def test_strided_slice_is_refused():
    X = M("X", 6, 4)
    with pytest.raises(UnsupportedError, match="step"):
        diff(sc.sum(X[::2, :]), X)


@pytest.mark.parametrize("batch", [None, "columns", "rows"])
def test_intercept_network_loss_differentiates(batch):
    """sc.gradient and sc.check of an intercept network's loss, by every parameter and the input."""
    net = nn.Network([nn.Linear(3, 2, intercept=True), nn.Tanh(), nn.Linear(2, 1, intercept=True)],
                     loss="squared_error", batch=batch, samples=None if batch is None else 4)
    bp = net.backprop()
    for wrt in [bp.x, *bp.parameters]:
        assert sc.check(bp.loss_expr, wrt).ok
        assert sc.check(bp.loss_expr, wrt, layout="numerator").ok
    g = sc.gradient(bp.loss_expr, bp.parameters[0])
    assert g.shape == bp.parameters[0].shape
