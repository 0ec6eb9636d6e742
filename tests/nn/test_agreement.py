"""backprop == symcalc.diff of the whole loss == central finite differences, on random networks.

Random depth 1-6, widths 1-4, activations mixed per layer, every loss, one sample and both batch
forms, both layouts. The default run draws a handful of networks; ``-m slow`` draws many more.
"""
import numpy as np
import pytest
import sympy as sp

from symcalc import nn
from symcalc.diff import diff

from .helpers import central_differences, compile_exprs, draw

HIDDEN = [nn.Sigmoid, nn.Tanh, nn.ReLU, lambda: nn.LeakyReLU(0.1), nn.Softplus, nn.Exp, nn.Softmax, None]
OUTPUTS = [  # (last activation, loss)
    (nn.Sigmoid, nn.BinaryCrossEntropy),
    (None, nn.LogisticLoss),
    (nn.Softmax, nn.CrossEntropy),
    (None, nn.SquaredError),
    (nn.Tanh, lambda: nn.SquaredError(scale=1)),
    (nn.Sigmoid, nn.MeanSquaredError),
    (nn.Softmax, nn.SquaredError),                # softmax backward without the fused form
    (None, lambda: nn.SquaredError(reduction="mean")),
    (nn.Sigmoid, lambda: nn.BinaryCrossEntropy(reduction="mean")),
    (nn.Softmax, lambda: nn.CrossEntropy(reduction="mean")),
]


def random_network(rng, batch):
    depth = int(rng.integers(1, 7))
    widths = [int(w) for w in rng.integers(1, 5, size=depth + 1)]
    last, loss = OUTPUTS[int(rng.integers(len(OUTPUTS)))]
    if last is nn.Softmax:
        widths[-1] = max(widths[-1], 2)
    layers = []
    for k in range(depth):
        layers.append(nn.Linear(widths[k], widths[k + 1], intercept=bool(rng.random() < 0.2)))
        act = last if k == depth - 1 else HIDDEN[int(rng.integers(len(HIDDEN)))]
        if act is not None:
            layers.append(act())
    samples = int(rng.integers(2, 5)) if batch else None
    return nn.Network(layers, loss=loss(), batch=batch, samples=samples)


def agree(net, layout, seed):
    bp = net.backprop(layout)
    rng = np.random.default_rng(seed)
    vals = draw(bp, rng)
    args = bp.parameters + [bp.x, bp.y]
    values = [vals[a] for a in args]
    wrts = bp.parameters + [bp.x]                     # the input gradient ∂L/∂x too
    ours = compile_exprs([bp.expand(bp.gradients[p]) for p in bp.parameters]
                         + [bp.expand(bp.input_gradient)], args)(*values)
    # the engine takes no block matrices: an intercept's [1; a] is written e 1ᵀ + S a for it
    engine = compile_exprs([diff(bp.expand(bp.loss, blocks=False), p, layout=layout)
                            for p in wrts], args)(*values)
    loss = compile_exprs(bp.loss_expr, args)
    for i, p in enumerate(wrts):
        fd = central_differences(loss, values, i)
        if layout == "numerator":
            fd = fd.T
        assert ours[i].shape == fd.shape, (p, ours[i].shape, fd.shape)
        np.testing.assert_allclose(ours[i], engine[i], rtol=1e-9, atol=1e-12, err_msg=f"{net} {p} vs diff")
        np.testing.assert_allclose(ours[i], fd, rtol=1e-5, atol=1e-6, err_msg=f"{net} {p} vs FD")


@pytest.mark.parametrize("batch", [None, "columns", "rows"])
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("seed", range(3))
def test_random_networks(batch, layout, seed):
    rng = np.random.default_rng(1000 * seed + 7 * len(str(batch)) + len(layout))
    agree(random_network(rng, batch), layout, seed)


@pytest.mark.slow
@pytest.mark.parametrize("batch", [None, "columns", "rows"])
@pytest.mark.parametrize("seed", range(40))
def test_random_networks_many(batch, seed):
    rng = np.random.default_rng(seed + 12345)
    net = random_network(rng, batch)
    agree(net, "denominator", seed)
    agree(net, "numerator", seed)


def test_symbolic_sizes_gradient_shapes():
    d, h, k, n = sp.symbols("d h k n", integer=True, positive=True)
    for batch in (None, "columns", "rows"):
        net = nn.Network([nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k), nn.Softmax()],
                         loss=nn.CrossEntropy(), batch=batch, samples=n if batch else None)
        for layout in ("denominator", "numerator"):
            bp = net.backprop(layout)
            for p, g in bp.gradients.items():
                want = p.shape if layout == "denominator" else p.shape[::-1]
                assert g.shape == want, (batch, layout, p, g.shape)


def test_chain_of_local_jacobians_is_delta():
    """The product of local Jacobians in the layout's order equals δ[k] (one sample)."""
    net = nn.Network([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, intercept=True), nn.Softplus(),
                      nn.Linear(2, 3), nn.Softmax()], loss=nn.CrossEntropy())
    for layout in ("denominator", "numerator"):
        bp = net.backprop(layout)
        rng = np.random.default_rng(3)
        vals = draw(bp, rng)
        args = bp.parameters + [bp.x, bp.y]
        for k in [0] + list(bp.deltas):
            chain = bp.expand(bp.chain(k))
            delta = bp.expand(bp.deltas[k] if k else bp.input_gradient)
            a, b = compile_exprs([chain, delta], args)(*[vals[s] for s in args])
            rows = bp.network.stages[k - 1].z.rows if k else bp.x.rows
            assert a.shape == b.shape == ((1, rows) if layout == "numerator" else (rows, 1))
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_numpy_of_a_network_deeper_than_the_recursion_limit_allows():
    """120 layers: code generation once hit Python's recursion limit (and grew quadratically);
    the generated gradient still agrees with differences of the generated loss."""
    depth = 120
    layers = []
    for k in range(depth):
        layers += [nn.Linear(3, 3 if k < depth - 1 else 1),
                   nn.Tanh() if k < depth - 1 else nn.Sigmoid()]
    bp = nn.Network(layers, loss=nn.BinaryCrossEntropy(), batch="columns", samples=4).backprop()
    _, bwd = bp.numpy()
    loss = bp.numpy_loss()
    rng = np.random.default_rng(0)
    params = {p.name: rng.normal(scale=1.2, size=tuple(int(s) for s in p.shape)) for p in bp.parameters}
    x, y = rng.normal(size=(3, 4)), rng.integers(0, 2, size=(1, 4)).astype(float)
    g = bwd(params, x, y)
    for name in ("W1", "W60", "b120"):
        P, h = params[name], 1e-6
        for idx in [(0, 0), (P.shape[0] - 1, P.shape[1] - 1)]:
            up, down = P.copy(), P.copy()
            up[idx] += h
            down[idx] -= h
            fd = (loss({**params, name: up}, x, y) - loss({**params, name: down}, x, y)) / (2 * h)
            assert g[name][idx] == pytest.approx(fd, rel=1e-4, abs=1e-9), (name, idx)


@pytest.mark.parametrize("batch", [None, "columns", "rows"])
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_hard_threshold_layer(batch, layout):
    """NYU (2): a perceptron layer 1[z ≥ 0] passes no gradient (its slope is 0 almost everywhere)."""
    net = nn.Network([nn.Linear(3, 2), nn.Threshold(), nn.Linear(2, 1), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy(), batch=batch, samples=3 if batch else None)
    agree(net, layout, 0)
    bp = net.backprop(layout)
    assert isinstance(bp.deltas[1], sp.ZeroMatrix)
    assert "threshold" in str(bp.derivation)
