"""Loss values at extreme logits (issue 16): the generated code evaluates them in the stable forms
the gradients use (log-softmax, −log(1 + e^{∓u})), so they are finite where the loss is."""
import warnings

import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc import nn

LOGITS = np.array([[1000.0], [0.0], [-1000.0]])


def _quiet(f, *args):
    """f(*args) with NumPy's overflow, log of 0 and 0 · ∞ errors (underflow to 0 is exact enough)."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        return f(*args)


@pytest.mark.parametrize("target, loss", [(0, 0.0), (1, 1000.0), (2, 2000.0)])
def test_cross_entropy_of_softmax_at_extreme_logits(target, loss):
    z, y = sp.MatrixSymbol("z", 3, 1), sp.MatrixSymbol("y", 3, 1)
    f = sc.lambdify([z, y], sc.cross_entropy(sc.softmax(z), y))
    Y = np.eye(3)[:, [target]]
    assert _quiet(f, LOGITS, Y).item() == pytest.approx(loss)
    g = sc.lambdify([z, y], sc.diff(sc.cross_entropy(sc.softmax(z), y), z))
    np.testing.assert_allclose(_quiet(g, LOGITS, Y), np.eye(3)[:, [0]] - Y, atol=1e-12)


@pytest.mark.parametrize("batch", [None, "columns", "rows"])
def test_network_softmax_cross_entropy_at_extreme_logits(batch):
    kwargs = {} if batch is None else {"batch": batch, "samples": 1}
    net = nn.Network([nn.Linear(1, 3), nn.Softmax()], loss=nn.CrossEntropy(), **kwargs)
    f = net.backprop().numpy_loss()
    params = {"W1": LOGITS.copy(), "b1": np.zeros((3, 1))}
    if batch == "rows":
        params = {"W1": LOGITS.copy(), "b1": np.zeros((3, 1))}
    x = np.ones((1, 1))
    Y = np.array([[1.0], [0.0], [0.0]])
    assert _quiet(f, params, x, Y.T if batch == "rows" else Y) == pytest.approx(0.0, abs=1e-12)
    Y = np.array([[0.0], [0.0], [1.0]])
    assert _quiet(f, params, x, Y.T if batch == "rows" else Y) == pytest.approx(2000.0)


@pytest.mark.parametrize("z, y, loss", [(1000.0, 0.0, 1000.0), (-1000.0, 1.0, 1000.0),
                                        (1000.0, 1.0, 0.0), (-1000.0, 0.0, 0.0)])
def test_network_sigmoid_binary_cross_entropy_at_extreme_logits(z, y, loss):
    net = nn.Network([nn.Linear(1, 1), nn.Sigmoid()], loss=nn.BinaryCrossEntropy())
    f = net.backprop().numpy_loss()
    got = _quiet(f, {"W1": np.array([[z]]), "b1": np.zeros((1, 1))}, np.ones((1, 1)), np.array([[y]]))
    assert got == pytest.approx(loss, abs=1e-12)


def test_bce_of_sigmoid_at_extreme_logits():
    z, y = sp.MatrixSymbol("z", 2, 1), sp.MatrixSymbol("y", 2, 1)
    f = sc.lambdify([z, y], sc.bce(sc.sigmoid(z), y))
    got = _quiet(f, np.array([[1000.0], [-1000.0]]), np.array([[0.0], [1.0]]))
    assert got.item() == pytest.approx(2000.0)


def test_row_softmax_cross_entropy_is_taken_along_the_rows():
    """Samples as rows: log softmax(Z, axis=1) normalises each row (it once normalised columns)."""
    Z, Y = sp.MatrixSymbol("Z", 2, 3), sp.MatrixSymbol("Y", 2, 3)
    f = sc.lambdify([Z, Y], sc.cross_entropy(sc.softmax(Z, axis=1), Y, samples="rows"))
    z = np.array([[1000.0, 0.0, -1000.0], [0.5, 2.0, -1.0]])
    y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    shifted = z - z.max(axis=1, keepdims=True)
    want = -(y * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))).sum()
    assert _quiet(f, z, y).item() == pytest.approx(want)
