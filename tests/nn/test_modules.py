"""Networks as graphs of modules (symcalc.nn.modules, symcalc.nn.adjoint): every gradient, in both
layouts, against central finite differences of the loss evaluated from the forward definitions by
the reference evaluator; the derivation's steps; the generated NumPy against the same differences."""
import numpy as np
import pytest
import sympy as sp

from symcalc import nn
from symcalc.errors import ShapeError, UnsupportedError
from symcalc.numeric.reference import function as reference

from .helpers import central_differences

T, d, dk, h, V = sp.symbols("T d d_k h V", integer=True, positive=True)
SIZES = {T: 4, d: 3, dk: 2, h: 5, V: 6}


def attention(causal=False):
    model = nn.Model(batch="rows", samples=T)
    X = model.input("X", d)
    return model.output(nn.Linear(d, 2)(nn.SelfAttention(d, dk, causal=causal)(X)), "squared_error")


def residual_mlp():
    model = nn.Model(batch="rows", samples=T)
    X = model.input("X", d)
    H = X + nn.SelfAttention(d, dk)(X)
    return model.output(nn.Linear(d, 2)(H + nn.MLP(d, h)(H)), "squared_error")


def shared_weight():
    """One Linear used on two inputs and a tanh branch that rejoins: its gradient sums two uses."""
    model = nn.Model(batch="columns", samples=T)
    X = model.input("X", d)
    layer = nn.Linear(d, d)
    H = layer(X)
    return model.output(nn.Linear(d, 1)(layer(nn.Tanh()(H)) + H), "squared_error")


def embedding_softmax():
    model = nn.Model(batch="rows", samples=T)
    X = model.tokens("X", V)
    H = nn.Embedding(V, d)(X)
    out = nn.Softmax()(nn.Linear(d, V)(H + nn.SelfAttention(d, dk)(H)))
    return model.output(out, "cross_entropy")


def one_sample():
    return nn.Model.sequential([nn.Residual(nn.Linear(d, d), nn.Sigmoid()), nn.Linear(d, 1)],
                               width=d, batch="columns", samples=1)


def layer_norm(batch="rows", eps=sp.Rational(1, 10)):
    model = nn.Model(batch=batch, samples=T)
    X = model.input("X", d)
    return model.output(nn.Linear(d, 2)(nn.LayerNorm(d, eps=eps)(nn.Linear(d, d)(X))), "squared_error")


def convolution(stride=1, channels=2):
    """Two convolutions (the second strided), ReLU between, a linear head: CS229's Conv1D."""
    model = nn.Model(batch="rows", samples=T)
    X = model.input("X", channels)
    H = nn.ReLU()(nn.Conv1D(channels, 3, kernel=3)(X))
    H = nn.Conv1D(3, channels, kernel=3, stride=stride, padding=1)(H)
    return model.output(nn.Linear(channels, 1)(H), "squared_error")


def transformer(blocks=2):
    """Embedding, pre-LN blocks (causal), a linear head, softmax cross-entropy on rows."""
    model = nn.Model(batch="rows", samples=T)
    H = nn.Embedding(V, d)(model.tokens("X", V))
    for _ in range(blocks):
        H = nn.TransformerBlock(d, dk, h, causal=True)(H)
    return model.output(nn.Softmax()(nn.Linear(d, V)(H)), "cross_entropy")


MODELS = {"attention": attention, "causal attention": lambda: attention(causal=True),
          "layer norm rows": layer_norm, "layer norm columns": lambda: layer_norm("columns"),
          "layer norm eps 0": lambda: layer_norm(eps=0), "transformer": transformer,
          "one block": lambda: transformer(1), "conv1d": convolution,
          "conv1d strided one channel": lambda: convolution(stride=2, channels=1), "residual mlp": residual_mlp, "shared weight": shared_weight,
          "embedding softmax": embedding_softmax, "one sample": one_sample}


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("name", list(MODELS))
def test_gradients_match_finite_differences(name, layout):
    bp = MODELS[name]().backprop(layout)
    reports = bp.check(sizes=SIZES, seed=1)
    assert set(reports) == set(bp.variables)
    bad = {v.name: str(r) for v, r in reports.items() if not r.ok}
    assert not bad, bad


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("name", ["attention", "shared weight", "layer norm rows", "one block",
                                  "conv1d"])
def test_derivation_steps_hold(name, layout):
    report = MODELS[name]().backprop(layout).derivation.check(sizes=SIZES, seed=2)
    assert report.ok, str(report)


def _values(model, rng):
    vals = {}
    for p in model.parameters:
        vals[p] = 0.5 * rng.normal(size=tuple(int(s.xreplace(SIZES)) for s in p.shape))
    for x in model.inputs + [model.target]:
        shape = tuple(int(sp.sympify(s).xreplace(SIZES)) for s in x.shape)
        if getattr(x, "is_one_hot", False) or type(x).__name__ == "OneHot":
            axis = 1 if model.batch == "rows" else 0
            hot = np.eye(shape[axis])[rng.integers(shape[axis], size=shape[1 - axis])]
            vals[x] = hot if axis == 1 else hot.T
        else:
            vals[x] = rng.normal(size=shape)
    return vals


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("name", ["residual mlp", "embedding softmax", "causal attention",
                                  "layer norm columns", "conv1d strided one channel"])
def test_generated_numpy_matches_finite_differences(name, layout):
    model = MODELS[name]()
    bp = model.backprop(layout)
    fwd, bwd = bp.numpy()
    vals = _values(model, np.random.default_rng(3))
    args = model.parameters + model.inputs + [model.target]
    loss = reference(bp.loss_expr, args, sizes=SIZES)
    params = {p.name: vals[p] for p in model.parameters}
    data = [vals[x] for x in model.inputs] + [vals[model.target]]
    got = bwd(params, *data)
    values = [vals[a] for a in args]
    for i, v in enumerate(bp.variables):
        fd = central_differences(lambda *a: float(np.asarray(loss(*a)).reshape(())), values, args.index(v))
        want = fd.T if layout == "numerator" else fd
        np.testing.assert_allclose(got[v.name], want, rtol=1e-6, atol=1e-7)
    assert np.asarray(fwd(params, *data[:-1])).shape == tuple(int(s.xreplace(SIZES)) for s in model.output_value.symbol.shape)


def test_skip_connection_adds_adjoints_and_shared_weight_sums():
    bp = shared_weight().backprop("denominator")
    W = bp.model.parameters[0]
    g = bp.gradients[W]
    assert isinstance(g, sp.MatAdd) and len(g.args) == 2  # two uses of one Linear
    assert "sum over the uses" in bp.derivation.latex()


def test_errors_name_the_value_and_its_shape():
    model = nn.Model(batch="rows", samples=T)
    X = model.input("X", d)
    with pytest.raises(ShapeError, match=r"takes h features, but its input X has d"):
        nn.Linear(h, 2)(X)
    with pytest.raises(ShapeError, match="skip connection needs one width"):
        X + nn.Linear(d, h)(X)
    cols = nn.Model(batch="columns")
    with pytest.raises(UnsupportedError, match="tokens as rows"):
        nn.SelfAttention(d, dk)(cols.input("X", d))
    with pytest.raises(UnsupportedError, match="before backprop"):
        model.backprop()


def test_sequential_network_api_unchanged():
    net = nn.Network([nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)], loss="squared_error")
    assert net.backprop().gradients  # the list API builds stages as before


# --------------------------------------------------------------------------- random graphs of modules

from hypothesis import given, settings, strategies as st  # noqa: E402

_BLOCKS = ["linear", "tanh", "sigmoid", "relu", "layer_norm", "attention", "causal", "residual_mlp",
           "conv", "branch"]


def _build(choices, batch):
    """A model from a list of block names: every block keeps the width d (so any order is valid);
    "branch" sends a value through two Linear layers and adds them, "residual_mlp" skips an MLP."""
    model = nn.Model(batch=batch, samples=T)
    x = model.input("X", d)
    for c in choices:
        if batch == "columns" and c in ("attention", "causal", "conv"):
            c = "tanh"
        if c == "linear":
            x = nn.Linear(d, d)(x)
        elif c in ("tanh", "sigmoid", "relu"):
            x = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}[c]()(x)
        elif c == "layer_norm":
            x = nn.LayerNorm(d, eps=sp.Rational(1, 10))(x)
        elif c in ("attention", "causal"):
            x = nn.SelfAttention(d, dk, causal=c == "causal")(x)
        elif c == "residual_mlp":
            x = nn.Residual(nn.MLP(d, h))(x)
        elif c == "conv":
            x = nn.Conv1D(d, d, kernel=3)(x)
        else:
            x = nn.Linear(d, d)(x) + nn.Linear(d, d, bias=False)(x)
    return model.output(nn.Linear(d, 1)(x), "squared_error")


@settings(max_examples=12)
@given(st.lists(st.sampled_from(_BLOCKS), min_size=1, max_size=3),
       st.sampled_from(["rows", "columns"]), st.sampled_from(["denominator", "numerator"]))
def test_random_graphs_of_modules_match_finite_differences(choices, batch, layout):
    bp = _build(choices, batch).backprop(layout)
    reports = bp.check(sizes={T: 4, d: 3, dk: 2, h: 2}, seed=5)
    bad = {v.name: str(r) for v, r in reports.items() if not r.ok}
    assert not bad, (choices, batch, layout, bad)


@pytest.mark.slow
@settings(max_examples=300)
@given(st.lists(st.sampled_from(_BLOCKS), min_size=1, max_size=5),
       st.sampled_from(["rows", "columns"]), st.sampled_from(["denominator", "numerator"]))
def test_random_graphs_of_modules_long_run(choices, batch, layout):
    test_random_graphs_of_modules_match_finite_differences.hypothesis.inner_test(choices, batch, layout)
