"""The lecture notes' worked examples (../shared/seeds), reproduced to at least 4 significant digits.

Where a seed rounds intermediate values its last printed digit can differ from the exact value;
the tests assert the exact value and say so.
"""
import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc import nn
from symcalc.simplify import hadamard

from .helpers import central_differences, compile_exprs, draw


# --------------------------------------------------------------------------- CPE 486: 1-2-3-1 sigmoid network

CPE_PARAMS = {
    "W1": [[0.1], [0.1]], "b1": [[0.1], [0.2]],
    "W2": [[0.2, 0.1], [0.3, 0.2], [0.1, 0.3]], "b2": [[0.3], [0.1], [0.2]],
    "W3": [[0.4, 0.2, 0.6]], "b3": [[0.5]],
}


@pytest.fixture(scope="module")
def cpe():
    net = nn.Network([nn.Linear(1, 2), nn.Sigmoid(), nn.Linear(2, 3), nn.Sigmoid(),
                      nn.Linear(3, 1), nn.Sigmoid()], loss=nn.BinaryCrossEntropy())
    return net.backprop()


def test_cpe486_forward_loss_and_gradients(cpe):
    x, y = np.array([[2.0]]), np.array([[1.0]])
    v = cpe.evaluate(CPE_PARAMS, x, y)
    np.testing.assert_allclose(v["z1"], [[0.3], [0.4]], rtol=1e-12)
    np.testing.assert_allclose(v["a1"], [[0.574443], [0.598688]], atol=5e-7)
    np.testing.assert_allclose(v["z2"], [[0.474757], [0.392070], [0.437051]], atol=5e-7)
    np.testing.assert_allclose(v["z3"], [[1.230493]], atol=5e-7)     # slides: 1.2305
    np.testing.assert_allclose(v["a3"], [[0.773905]], atol=5e-7)     # ŷ; slides: 0.7739
    np.testing.assert_allclose(v["L"], [[0.256306]], atol=5e-7)      # slides: 0.2563
    np.testing.assert_allclose(v["delta3"], [[-0.226095]], atol=5e-7)   # ∂L/∂z⁽³⁾ = ŷ − y
    np.testing.assert_allclose(v["dW3"][0, 0], -0.139390, atol=5e-7)  # ∂L/∂w₁⁽³⁾; slides: −0.1393
    # slides: −0.0214, −0.0109, −0.0323 and −0.00264, −0.00337
    np.testing.assert_allclose(v["delta2"], [[-0.0213819], [-0.0108812], [-0.0323449]], atol=5e-8)
    np.testing.assert_allclose(v["delta1"], [[-0.00263409], [-0.00336795]], atol=5e-9)
    # slides: −0.0123, −0.0128 / −0.0063, −0.0065 / −0.0186, −0.0194
    np.testing.assert_allclose(v["dW2"], [[-0.0122827, -0.0128011], [-0.00625063, -0.00651444],
                                          [-0.0185803, -0.0193645]], atol=5e-8)
    # ∂L/∂w₁₁⁽¹⁾: the slides print −0.00528 (= 2 × a rounded −0.00264); exact is −0.005268
    np.testing.assert_allclose(v["dW1"][0, 0], -0.00526819, atol=5e-9)

    fwd, bwd = cpe.numpy()
    np.testing.assert_allclose(fwd(CPE_PARAMS, x), [[0.773905]], atol=5e-7)
    grads = bwd(CPE_PARAMS, x, y)
    assert sum(g.size for g in grads.values()) == 17
    for name, g in grads.items():
        np.testing.assert_allclose(g, v["d" + name], rtol=1e-12)

    # one gradient step with η = 0.1: loss 0.256306 -> 0.245460 (slides: 0.2455)
    eta = 0.1
    new = {k: np.asarray(p) - eta * grads[k] for k, p in CPE_PARAMS.items()}
    loss = cpe.numpy_loss()
    assert loss(CPE_PARAMS, x, y) == pytest.approx(0.256306, abs=5e-7)
    assert loss(new, x, y) == pytest.approx(0.245460, abs=5e-7)
    np.testing.assert_allclose(fwd(new, x), [[0.782345]], atol=5e-7)   # slides: 0.7823
    np.testing.assert_allclose(new["W3"], [[0.413939, 0.213493, 0.613737]], atol=5e-7)  # slides: 0.4139
    np.testing.assert_allclose(new["W1"][0, 0], 0.1005268, atol=5e-8)  # slides: 0.1005

    print("\nCPE 486 1-2-3-1 network: all 17 gradients and the weights after one step (η = 0.1)")
    for name in grads:
        for idx in np.ndindex(grads[name].shape):
            print(f"  dL/d{name}{list(idx)} = {grads[name][idx]: .6f}   new {name}{list(idx)} = "
                  f"{new[name][idx]: .6f}")


def test_cpe486_derivation_checks(cpe):
    d = cpe.derivation
    assert d.check().ok
    text = str(d)
    assert "delta3" in text and "Backward pass" in text


# --------------------------------------------------------------------------- CMU recitation 5: intercepts, ReLU

def test_cmu_recitation_intercept_relu_network():
    net = nn.Network([nn.Linear(2, 2, intercept=True), nn.ReLU(), nn.Linear(2, 1, intercept=True)],
                     loss=nn.SquaredError())
    bp = net.backprop()
    assert [p.name for p in bp.parameters] == ["W1", "W2"]        # α and β, bias in column 0
    alpha = [[2, 1, 0], [0, 2, 0]]
    beta = [[0, 1, 2]]
    P = {"W1": alpha, "W2": beta}
    v = bp.evaluate(P, [[1.0], [2.0]], [[3.0]])
    np.testing.assert_allclose(v["xtilde"], [[1], [1], [2]])      # x₀ = 1 prepended
    np.testing.assert_allclose(v["z1"], [[3], [2]])                # the notes' a
    np.testing.assert_allclose(v["a1"], [[3], [2]])                # the notes' z = ReLU(a)
    np.testing.assert_allclose(v["atilde1"], [[1], [3], [2]])     # z₀ = 1 prepended
    np.testing.assert_allclose(v["z2"], [[7]])                     # ŷ = βᵀz
    np.testing.assert_allclose(v["L"], [[8]])                      # ℓ = ½(ŷ − y)²
    np.testing.assert_allclose(v["dW2"], [[4, 12, 8]])             # ∂ℓ/∂β = (ŷ − y) z
    np.testing.assert_allclose(v["dW1"], [[4, 4, 8], [8, 8, 16]])  # ∂ℓ/∂α = δ xᵀ
    # the δ recursion skips the intercept column: W2[:, 1:]ᵀ δ2
    assert bp.deltas[1] == hadamard(bp.network.stages[1].W[:, 1:].T * bp.network.stages[1].delta,
                                    sc.step(bp.network.stages[0].z))
    num = net.backprop("numerator").evaluate(P, [[1.0], [2.0]], [[3.0]])
    np.testing.assert_allclose(num["dW1"], np.array([[4, 4, 8], [8, 8, 16]]).T)


# --------------------------------------------------------------------------- CS229 Algorithm 3, symbolically

def test_cs229_algorithm3_symbolic():
    d, m = sp.symbols("d m", integer=True, positive=True)
    net = nn.Network([nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1)], loss=nn.SquaredError())
    bp = net.backprop()
    W1, b1, W2, b2 = bp.parameters
    x, y = bp.x, bp.y
    z1, a1 = sp.MatrixSymbol("z1", m, 1), sp.MatrixSymbol("a1", m, 1)
    o = sp.MatrixSymbol("z2", 1, 1)                       # o = W2 a + b2 (no activation)
    d1, d2 = sp.MatrixSymbol("delta1", m, 1), sp.MatrixSymbol("delta2", 1, 1)
    assert bp.deltas[2] == o - y                          # δ[2] = o − y
    # δ[1] = (W[2]ᵀ δ[2]) ⊙ 1[z > 0]; CS229 writes 1{z ≥ 0}, which differs only at z = 0 (measure zero)
    assert bp.deltas[1] == sp.HadamardProduct(W2.T * d2, sc.step(z1))
    assert bp.gradients == {W2: d2 * a1.T, b2: d2, W1: d1 * x.T, b1: d1}
    num = net.backprop("numerator")
    assert num.gradients == {W2: a1 * d2.T, b2: d2.T, W1: x * d1.T, b1: d1.T}
    assert num.deltas[1] == sp.HadamardProduct(d2.T * W2, sp.Transpose(sc.step(z1)))
    # Algorithm 4 in matrix form (samples as columns): ∂J/∂W[k] = Δ[k] A[k−1]ᵀ, ∂J/∂b[k] = Δ[k] 1
    n = sp.Symbol("n", integer=True, positive=True)
    batch = nn.Network([nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1)], loss=nn.SquaredError(),
                       batch="columns", samples=n).backprop()
    D1, X = sp.MatrixSymbol("Delta1", m, n), batch.x
    assert batch.gradients[batch.parameters[0]] == D1 * X.T
    assert batch.gradients[batch.parameters[1]] == D1 * sp.OneMatrix(n, 1)


# --------------------------------------------------------------------------- NYU notes, samples as rows

def _check_numbers(bp, seed=0):
    rng = np.random.default_rng(seed)
    vals = draw(bp, rng)
    args = bp.parameters + [bp.x, bp.y]
    values = [vals[a] for a in args]
    ours = compile_exprs([bp.expand(bp.gradients[p]) for p in bp.parameters], args)(*values)
    loss = compile_exprs(bp.loss_expr, args)
    for i, p in enumerate(bp.parameters):
        np.testing.assert_allclose(ours[i], central_differences(loss, values, i), rtol=1e-5, atol=1e-7)
    return vals, ours


def test_nyu_softmax_cross_entropy_relu_all_steps():
    net = nn.Network([nn.Linear(3, 4, name="H"), nn.ReLU(), nn.Linear(4, 5, name="O"), nn.Softmax()],
                     loss=nn.CrossEntropy(), batch="rows", samples=6)
    bp = net.backprop()
    WH, bH, WO, bO = bp.parameters
    X, Y = bp.x, bp.y
    ZH, UH, P = (sp.MatrixSymbol(n, 6, k) for n, k in (("Z_H", 4), ("A_H", 4), ("A_O", 5)))
    DO, DH = sp.MatrixSymbol("Delta_O", 6, 5), sp.MatrixSymbol("Delta_H", 6, 4)
    ones = sp.OneMatrix(6, 1)
    assert bp.deltas[2] == P - Y                                     # ∂L/∂z_ij^O = softmax − r_ij
    assert bp.gradients[WO] == DO.T * UH                             # Σ_i ∂L/∂z_ij^O u_ik^H
    assert bp.gradients[bO] == DO.T * ones                           # Σ_i ∂L/∂z_ij^O
    assert bp.deltas[1] == sp.HadamardProduct(DO * WO, sc.step(ZH))  # (∂L/∂U^H) ⊙ 1[Z^H > 0]
    assert bp.gradients[WH] == DH.T * X
    assert bp.gradients[bH] == DH.T * ones
    vals, ours = _check_numbers(bp)
    # eq. (18): log Σ exp(z) − Σ r z gives the same loss as −Σ r log softmax(z) for one-hot r
    Z = vals[X] @ vals[WH].T + vals[bH].T
    Zo = np.maximum(Z, 0) @ vals[WO].T + vals[bO].T
    eq18 = np.sum(np.log(np.exp(Zo).sum(axis=1)) - (vals[Y] * Zo).sum(axis=1))
    args = bp.parameters + [X, Y]
    assert compile_exprs(bp.loss_expr, args)(*[vals[a] for a in args])[0, 0] == pytest.approx(eq18)


def test_nyu_exp_model_squared_error():
    # z_i = W x_i + b, u_i = exp(z_i), ŷ_i = αᵀu_i, L = Σ (y_i − ŷ_i)²
    net = nn.Network([nn.Linear(3, 4), nn.Exp(), nn.Linear(4, 1, name="alpha", bias=False)],
                     loss=nn.SquaredError(scale=1), batch="rows", samples=5)
    bp = net.backprop()
    W, b, alpha = bp.parameters                     # alpha is 1 x M: the notes' αᵀ
    X, Y = bp.x, bp.y
    U, Yhat = sp.MatrixSymbol("A1", 5, 4), sp.MatrixSymbol("Z_alpha", 5, 1)
    D2, D1 = sp.MatrixSymbol("Delta_alpha", 5, 1), sp.MatrixSymbol("Delta1", 5, 4)
    assert bp.deltas[2] == sp.MatMul(2, Yhat - Y)                 # ∂L/∂ŷ_i = 2(ŷ_i − y_i)
    assert bp.gradients[alpha] == D2.T * U                  # ∂L/∂α_j = Σ_i ∂L/∂ŷ_i u_ij
    assert bp.deltas[1] == sp.HadamardProduct(D2 * alpha, U)   # ∂L/∂z_ij = ∂L/∂ŷ_i α_j exp(z_ij)
    # ∂L/∂W_jk = Σ_i ∂L/∂z_ij x_ik (the notes print u_ik here, a typo: z = W x + b involves x)
    assert bp.gradients[W] == D1.T * X
    assert bp.gradients[b] == D1.T * sp.OneMatrix(5, 1)
    vals, ours = _check_numbers(bp, seed=1)
    # the notes' sums, written with NumPy
    Z = vals[X] @ vals[W].T + vals[b].T
    Uv = np.exp(Z)
    dyhat = 2 * (Uv @ vals[alpha].T - vals[Y])
    dZ = (dyhat @ vals[alpha]) * Uv
    np.testing.assert_allclose(ours[2], (dyhat.T @ Uv))
    np.testing.assert_allclose(ours[0], dZ.T @ vals[X])
    np.testing.assert_allclose(ours[1], dZ.sum(axis=0, keepdims=True).T)
