"""Notation presets and the options behind them, pinned to the seeds' own formula shapes."""
import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc import nn
from symcalc.cli import main

d, m, K = sp.symbols("d m K", integer=True, positive=True)


def lines(net, layout="denominator"):
    return net.backprop(layout).derivation.latex().splitlines()


def line(ls, start):
    return next(l for l in ls if l.startswith(start))


def test_cs229_two_layer_relu_network():
    """CS229 Algorithm 3: ∂J/∂W^{[2]} = δ^{[2]} a^{[1]ᵀ}, δ^{[1]} = (W^{[2]ᵀ} δ^{[2]}) ⊙ 1{z^{[1]} ≥ 0}."""
    net = nn.Network([nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1)], loss="squared_error", convention="cs229")
    ls = lines(net)
    assert r"\frac{\partial J}{\partial W^{[2]}} &= \delta^{[2]} {a^{[1]}}^{\top}" in "\n".join(ls)
    assert r"\frac{\partial J}{\partial W^{[1]}} &= \delta^{[1]} x^{\top}" in "\n".join(ls)
    assert line(ls, r"\delta^{[1]} &=").startswith(
        r"\delta^{[1]} &= ({W^{[2]}}^{\top} \delta^{[2]}) \odot \mathbb{1}[z^{[1]} \geq 0]")
    assert line(ls, "J &=").startswith(r"J &= \frac{1}{2} \lVert z^{[2]} - y \rVert_{2}^{2}")
    # the rule column uses the same superscripts and letter as the main column
    assert r"so $\partial J/\partial W^{[k]} = \delta^{[k]} {a^{[k-1]}}^{\top}$" in "\n".join(ls)
    assert "W_{" not in "\n".join(ls)


def test_cs229_samples_as_rows_is_row_major():
    """CS229 §4: Z^{[1]} = X W^{[1]} + b^{[1]} with W^{[1]} ∈ ℝ^{d×m}: no transposed weights."""
    net = nn.Network([nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1)], loss="squared_error",
                     convention="cs229", batch="rows")
    assert net.parameters[0].shape == (d, m)
    ls = lines(net)
    assert line(ls, "Z^{[1]} &=").startswith(r"Z^{[1]} &= X W^{[1]} + 1 {b^{[1]}}^{\top}")
    assert line(ls, r"\frac{\partial J}{\partial W^{[1]}}").startswith(
        r"\frac{\partial J}{\partial W^{[1]}} &= X^{\top} \Delta^{[1]}")
    assert net.backprop().derivation.check().ok


def test_cmu_folded_bias_sigmoid_network_maximises_j():
    """CMU lecture 13, case 2: a = α x, z = σ(a), b = β z, ŷ = σ(b), J = y log ŷ + (1 − y) log(1 − ŷ)."""
    net = nn.Network([nn.Linear(2, 3, intercept=True), nn.Sigmoid(), nn.Linear(3, 1, intercept=True),
                      nn.Sigmoid()], loss="log_likelihood", convention="cmu")
    ls = lines(net)
    text = "\n".join(ls)
    assert line(ls, "a &=").startswith(r"a &= \tilde{\alpha} \tilde{x}")
    assert line(ls, "b &=").startswith(r"b &= \tilde{\beta} \tilde{z}")
    assert r"J &= (1 - y) \log(1 - \hat{y}) + y \log(\hat{y})" in text
    assert r"\delta^{(b)} &= y - \hat{y}" in text                     # dJ/db = y* − y
    assert r"$\tilde{\alpha}$ $= [\,b^{(1)}\;$ $\alpha$ $\,]$" in text  # W̃ = [b W], with a sentence
    assert r"\frac{\partial a}{\partial x} &= \alpha^{\top}" in text   # not NumPy slicing
    assert "[:, 1:]" not in text and net.backprop().derivation.check().ok
    ex = net.backprop().worked({"W1": np.full((3, 3), 0.1), "W2": [[0.2, 0.1, -0.1, 0.3]]}, [1, 2], 1)
    assert ex.ascent and ex.new_loss > ex.loss                      # a step up the likelihood


def test_nyu_samples_as_rows_with_h_and_o():
    """NYU (10a-b): Z^H = X [W^H]ᵀ + B^H, U^H = g_act(Z^H); (20): L = ‖Z^O − Y‖² without ½."""
    net = nn.Network([nn.Linear(d, m), nn.Tanh(), nn.Linear(m, 1)], loss="squared_error", convention="nyu")
    assert net.batch == "rows" and net.loss.scale == 1
    ls = lines(net)
    assert line(ls, r"\mathbf{Z}^{\mathrm{H}} &=").startswith(
        r"\mathbf{Z}^{\mathrm{H}} &= \mathbf{X} {\mathbf{W}^{\mathrm{H}}}^{\top} + \mathbf{1} {\mathbf{b}^{\mathrm{H}}}^{\top}")
    assert line(ls, "L &=").startswith(r"L &= \lVert \mathbf{Z}^{\mathrm{O}} - \mathbf{Y} \rVert")
    assert net.backprop().derivation.check().ok


@pytest.mark.parametrize("batch", [None, "columns", "rows"])
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_in_out_weights_are_right(batch, layout):
    """z = Wᵀa + b (W in × out), also with a folded bias: gradients agree with the whole loss."""
    net = nn.Network([nn.Linear(3, 4, intercept=True), nn.Sigmoid(), nn.Linear(4, 2)], loss="squared_error",
                     batch=batch, samples=None if batch is None else 5, weights="in_out")
    bp = net.backprop(layout)
    assert bp.parameters[0].shape == (4, 4) and bp.parameters[1].shape == (4, 2)
    assert bp.derivation.check().ok
    for p in bp.parameters:
        assert sc.check(bp.loss_expr, p, layout=layout, derivative=bp.expand(bp.gradients[p])).ok


def test_relu_at_zero_and_squared_error_scale():
    net = nn.Network([nn.Linear(2, 2), nn.ReLU(at_zero=1), nn.Linear(2, 1)], loss="squared_error(1)")
    assert net.loss.scale == 1
    params = {"W1": [[1, 0], [0, 1]], "b1": [0, 0], "W2": [[1, 1]], "b2": [0]}
    ex = net.backprop().worked(params, [0, 1], 0)   # z1 = [0, 1]: unit 1 sits at the kink
    assert ex.gradients["b1"].ravel().tolist() == [2.0, 2.0]       # ReLU'(0) = 1: 1{z >= 0}
    default = nn.Network([nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)], loss="squared_error(1)")
    assert default.backprop().worked(params, [0, 1], 0).gradients["b1"].ravel().tolist() == [0.0, 2.0]


def test_cli_notation_options(capsys):
    assert main(["net", "linear(d,m) relu linear(m,1)", "--loss", "squared_error", "--notation", "cs229",
                 "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert r"\frac{\partial J}{\partial W^{[2]}} &= \delta^{[2]} {a^{[1]}}^{\top}" in out
    assert main(["net", "linear(d,m) relu linear(m,1)", "--loss", "squared_error(1)", "--index", "super",
                 "--objective", r"\ell", "--tex", r"W1=\Theta", "--weights", "in_out", "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert r"\frac{\partial \ell}{\partial \Theta}" in out and r"\ell &= \lVert" in out
