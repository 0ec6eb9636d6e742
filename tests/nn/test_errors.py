"""Bad networks fail loudly, naming the layers, sizes and what would work."""
import numpy as np
import pytest
import sympy as sp

from symcalc import nn
from symcalc.errors import LayoutError, ShapeError, UnsupportedError


def test_size_mismatch_names_both_layers():
    with pytest.raises(ShapeError, match=r"layer 3 \(Linear\(3, 1\)\) takes 3 inputs.*layer 2 "
                                         r"\(Sigmoid\(\).*layer 1 \(Linear\(1, 2\)\)\) gives 2 outputs"):
        nn.Network([nn.Linear(1, 2), nn.Sigmoid(), nn.Linear(3, 1)], loss=nn.SquaredError())
    d, h, k = sp.symbols("d h k", integer=True, positive=True)
    with pytest.raises(ShapeError, match="takes k inputs.*gives h outputs"):
        nn.Network([nn.Linear(d, h), nn.ReLU(), nn.Linear(k, 1)], loss=nn.SquaredError())


def test_unknown_activation_and_loss_list_the_supported_ones():
    with pytest.raises(UnsupportedError, match="unknown layer 'swish'.*relu.*sigmoid.*softmax"):
        nn.Network([nn.Linear(2, 2), "swish"], loss=nn.SquaredError())
    with pytest.raises(UnsupportedError, match="unknown loss 'hinge'.*SquaredError.*CrossEntropy"):
        nn.Network([nn.Linear(2, 2)], loss="hinge")
    net = nn.Network([nn.Linear(2, 3), "relu", nn.Linear(3, 1), "sigmoid"], loss="bce")
    assert isinstance(net.stages[0].activation, nn.ReLU)


@pytest.mark.parametrize("last, loss, words", [
    (nn.Sigmoid, nn.CrossEntropy, "CrossEntropy needs probabilities from a Softmax output"),
    (None, nn.CrossEntropy, "CrossEntropy needs probabilities"),
    (nn.ReLU, nn.BinaryCrossEntropy, "BinaryCrossEntropy needs probabilities from a Sigmoid"),
    (nn.Sigmoid, nn.LogisticLoss, "LogisticLoss needs logits"),
])
def test_loss_that_does_not_fit_the_output(last, loss, words):
    layers = [nn.Linear(2, 3)] + ([last()] if last else [])
    with pytest.raises(UnsupportedError, match=words):
        nn.Network(layers, loss=loss())


def test_structure_errors():
    with pytest.raises(UnsupportedError, match="before any Linear"):
        nn.Network([nn.ReLU(), nn.Linear(2, 2)], loss=nn.SquaredError())
    with pytest.raises(UnsupportedError, match="follows another activation"):
        nn.Network([nn.Linear(2, 2), nn.ReLU(), nn.Tanh()], loss=nn.SquaredError())
    with pytest.raises(UnsupportedError, match="batch is None"):
        nn.Network([nn.Linear(2, 2)], loss=nn.SquaredError(), batch="samples")
    with pytest.raises(LayoutError):
        nn.Network([nn.Linear(2, 2)], loss=nn.SquaredError()).backprop("mixed")
    with pytest.raises(ShapeError, match="positive integer"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="ASCII letters"):
        nn.Linear(2, 2, name="α")          # names become Python identifiers in generated code
    with pytest.raises(ValueError, match="share a name"):
        nn.Network([nn.Linear(2, 2, name="h"), nn.Linear(2, 2, name="h")], loss=nn.SquaredError())
    with pytest.raises(UnsupportedError, match="samples=4 is a batch size, but batch is None"):
        nn.Network([nn.Linear(2, 2)], loss=nn.SquaredError(), samples=4)
    with pytest.raises(UnsupportedError, match="softmax over one unit is the constant 1"):
        nn.Network([nn.Linear(2, 1), nn.Softmax()], loss=nn.CrossEntropy())
    with pytest.raises(ShapeError) as err:  # a Linear right after a Linear: "after" only when it says more
        nn.Network([nn.Linear(3, 2), nn.Linear(3, 2)], loss=nn.SquaredError())
    assert "after" not in str(err.value)


def test_generated_functions_check_their_inputs():
    bp = nn.Network([nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)], loss=nn.SquaredError(),
                    batch="columns").backprop()
    fwd, bwd = bp.numpy()
    P = {"W1": np.ones((2, 3)), "b1": np.ones((2, 1)), "W2": np.ones((1, 2)), "b2": np.ones((1, 1))}
    assert fwd(P, np.ones((3, 7))).shape == (1, 7)                   # any batch size n
    with pytest.raises(ShapeError):
        fwd(P, np.ones((4, 7)))                                      # 4 features, not 3
    with pytest.raises(ShapeError):
        fwd(P, np.ones(3))                                           # 1-D is refused, not broadcast
    with pytest.raises(ShapeError):
        bwd(P, np.ones((3, 7)), np.ones((1, 6)))                     # 6 targets for 7 samples
    with pytest.raises(KeyError, match="W2"):
        fwd({"W1": P["W1"], "b1": P["b1"]}, np.ones((3, 7)))


@pytest.mark.parametrize("batch", [None, "columns", "rows"])
def test_cross_entropy_refuses_targets_that_are_not_one_hot(batch):
    """δ = a − y holds only when each sample's target sums to one; other targets are refused in
    every form (samples as rows once got a silently wrong gradient)."""
    bp = nn.Network([nn.Linear(3, 4), nn.Softmax()], loss=nn.CrossEntropy(), batch=batch,
                    samples=5 if batch else None).backprop()
    _, bwd = bp.numpy()
    P = {"W1": np.ones((4, 3)), "b1": np.ones((4, 1))}
    x = np.ones({None: (3, 1), "columns": (3, 5), "rows": (5, 3)}[batch])
    y = np.full({None: (4, 1), "columns": (4, 5), "rows": (5, 4)}[batch], 0.5)
    with pytest.raises(ValueError, match="one-hot"):
        bwd(P, x, y)
    hot = np.zeros_like(y)
    if batch == "rows":
        hot[:, 0] = 1
    else:
        hot[0, :] = 1
    assert all(np.all(np.isfinite(g)) for g in bwd(P, x, hot).values())


def test_generated_functions_with_symbolic_sizes_take_any_sizes():
    d, h, n = sp.symbols("d h n", integer=True, positive=True)
    sym = nn.Network([nn.Linear(d, h), nn.Sigmoid(), nn.Linear(h, 1), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy(), batch="rows", samples=n).backprop()
    con = nn.Network([nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy(), batch="rows", samples=5).backprop()
    rng = np.random.default_rng(0)
    P = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=(3, 1)),
         "W2": rng.normal(size=(1, 3)), "b2": rng.normal(size=(1, 1))}
    X, Y = rng.normal(size=(5, 4)), (rng.random((5, 1)) < 0.5).astype(float)
    a, b = sym.numpy()[1](P, X, Y), con.numpy()[1](P, X, Y)
    for k in P:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-13)
    with pytest.raises(ShapeError):
        sym.numpy()[1](P, X, Y[:4])                 # n bound to 5 by X, 4 by Y
