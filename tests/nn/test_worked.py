"""Worked numbers of a network: the seeds' two worked examples, exactly, and the formatting."""
import numpy as np
import pytest

from symcalc import nn
from symcalc.cli import main
from symcalc.errors import ShapeError

#: CPE 486/586 slides: one input x = 2.0, label 1, intercepts in column 0, sigmoid everywhere
SLIDES = {"W1": [[0.1, 0.1], [0.2, 0.1]],
          "W2": [[0.3, 0.2, 0.1], [0.1, 0.3, 0.2], [0.2, 0.1, 0.3]],
          "W3": [[0.5, 0.4, 0.2, 0.6]]}


def slides_network():
    return nn.Network([nn.Linear(1, 2, intercept=True), nn.Sigmoid(), nn.Linear(2, 3, intercept=True),
                       nn.Sigmoid(), nn.Linear(3, 1, intercept=True), nn.Sigmoid()],
                      loss=nn.BinaryCrossEntropy())


def recitation_network():
    """CMU recitation 5: x = [x1, x2] with x0 = 1, two ReLU units with z0 = 1, ŷ = β z, ½(ŷ − y)²."""
    return nn.Network([nn.Linear(2, 2, intercept=True), nn.ReLU(), nn.Linear(2, 1, intercept=True)],
                      loss="squared_error")


def rows(ex, section):
    from symcalc.printing import text
    return {r.text or text(r.lhs): r.value for r in ex.rows if r.section == section}


def test_slides_1231_network_and_its_gradient_step():
    ex = slides_network().backprop().worked(SLIDES, 2.0, 1.0, lr=0.1, digits=6)
    assert ex.number(ex.new_loss) == "0.245460"        # the slides print 0.2455
    assert ex.number(ex.loss) == "0.256306"            # and 0.2563
    fwd = rows(ex, "Forward pass")
    assert ex.number(fwd["z3"].item()) == "1.23049"    # 1.2305 on the slides
    np.testing.assert_allclose(fwd["a2"].ravel(), [0.616509, 0.596781, 0.607556], atol=5e-7)
    back = rows(ex, "Backward pass")
    np.testing.assert_allclose(back["delta3"].item(), -0.226095, atol=5e-7)
    # the slides' step 3: ∂L/∂a[2] = δ3 · w[3] = [-0.0904, -0.0452, -0.1357]
    np.testing.assert_allclose(back["dL/da2"].ravel(), [-0.090438, -0.045219, -0.135657], atol=5e-7)
    np.testing.assert_allclose(ex.gradients["W1"], [[-0.00263409, -0.00526819], [-0.00336795, -0.00673591]],
                               atol=5e-9)
    # the slides' updated output bias 0.5226, and a loss lower after the step
    assert ex.number(ex.new_params["W3"][0, 0]) == "0.522610"
    assert ex.new_loss < ex.loss
    assert ex.check() < 1e-8


def test_recitation_relu_network_exactly():
    ex = recitation_network().backprop().worked({"W1": [[2, 1, 0], [0, 2, 0]], "W2": [0, 1, 2]},
                                                [1, 2], 3)
    grads = ex.gradients
    assert grads["W2"].tolist() == [[4.0, 12.0, 8.0]]        # ∂ℓ/∂β = [4, 12, 8]
    assert grads["W1"][0, 1] == 4.0                          # ∂ℓ/∂α₁,₁ = 4
    text = str(ex)
    assert "dL/dW2 = [4, 12, 8]" in text and "L = 8" in text and "z1 = [3; 2]" in text


def test_trailing_zeros_are_kept():
    ex = recitation_network().backprop().worked({"W1": [[2, 1, 0], [0, 2, 0]], "W2": [0, 1, 2]},
                                                [1, 2], 3, digits=4)
    assert ex.number(1.23) == "1.230" and ex.number(-0.8) == "-0.8000" and ex.number(1.2e-5) == "1.200e-05"
    assert ex.value_latex(np.array([[1.2e-5]])) == r"1.200 \times 10^{-5}"
    assert "W1_new = [1.600, 0.6000, -0.8000; -0.8000, 1.200, -1.600]" in str(ex)
    tex = ex.latex()
    assert r"\frac{\partial L}{\partial \mathbf{a}_{1}}" in tex and r"{L}^{\text{new}}" in tex


def test_numerator_layout_gives_the_same_numbers_transposed():
    params = {"W1": [[2, 1, 0], [0, 2, 0]], "W2": [0, 1, 2]}
    den = recitation_network().backprop().worked(params, [1, 2], 3)
    num = recitation_network().backprop("numerator").worked(params, [1, 2], 3)
    assert num.new_loss == den.new_loss
    for name in params:
        np.testing.assert_array_equal(num.gradients[name], den.gradients[name])


def test_worked_numbers_need_integer_sizes_and_the_right_shapes():
    import sympy as sp
    d = sp.Symbol("d", integer=True, positive=True)
    net = nn.Network([nn.Linear(d, 1)], loss="squared_error")
    with pytest.raises(ShapeError, match="integer sizes"):
        net.backprop().worked({"W1": [[1]], "b1": [[0]]}, [1], 1)
    with pytest.raises(ShapeError, match="W1 is 2 x 3"):
        recitation_network().backprop().worked({"W1": [[2, 1], [0, 2]], "W2": [0, 1, 2]}, [1, 2], 3)
    with pytest.raises(ShapeError, match="no value for the parameter W2"):
        recitation_network().backprop().worked({"W1": [[2, 1, 0], [0, 2, 0]]}, [1, 2], 3)


def test_cli_at(capsys):
    code = main(["net", "linear(2,2,intercept) relu linear(2,1,intercept)", "--loss", "squared_error",
                 "--at", "x=[1,2],y=3,W1=[2 1 0; 0 2 0],W2=[0,1,2]"])
    out = capsys.readouterr().out
    assert code == 0 and "dL/dW2 = [4, 12, 8]" in out and "Worked numbers" in out
    code = main(["net", "linear(2,2,intercept) relu linear(2,1,intercept)", "--loss", "squared_error",
                 "--at", "x=[1,2],W1=[[2,1,0],[0,2,0]],W2=[0,1,2],v=1"])
    err = capsys.readouterr().err
    assert code == 2 and "missing y" in err and "no v" in err
