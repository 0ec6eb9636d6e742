"""The 1-2-3-1 sigmoid network of the lecture slides, with its numbers.

One feature x = 2.0, label y = 1, sigmoid everywhere, binary cross-entropy. Layer 1: biases (0.1,
0.2), weights (0.1, 0.1). Layer 2: biases (0.3, 0.1, 0.2), weight rows (0.2, 0.1), (0.3, 0.2),
(0.1, 0.3). Output: bias 0.5, weights (0.4, 0.2, 0.6). The script prints the symbolic
backpropagation, every forward value, all 17 gradients, one gradient step with η = 0.1 and the new
loss, and checks them against the exact values (the slides round ∂L/∂w₁₁⁽¹⁾ to −0.00528; the exact
value is −0.005268) and against finite differences. Exits 1 if a check fails.

    python examples/sigmoid_1231_network.py
"""
import sys

import numpy as np

from symcalc import nn

net = nn.Network(
    [nn.Linear(1, 2), nn.Sigmoid(), nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()],
    loss=nn.BinaryCrossEntropy(),
)
bp = net.backprop(layout="denominator")
params = {
    "W1": np.array([[0.1], [0.1]]), "b1": np.array([[0.1], [0.2]]),
    "W2": np.array([[0.2, 0.1], [0.3, 0.2], [0.1, 0.3]]), "b2": np.array([[0.3], [0.1], [0.2]]),
    "W3": np.array([[0.4, 0.2, 0.6]]), "b3": np.array([[0.5]]),
}
x, y = np.array([[2.0]]), np.array([[1.0]])

failures = []


def report(what, ok, detail=""):
    print(f"  [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


print(bp.derivation)
print()

values = bp.evaluate(params, x, y)        # z1, a1, …, L, the δ's and the gradients dW1, db1, …
print("Forward pass")
for name in ("z1", "a1", "z2", "a2", "z3", "a3", "L"):
    print(f"  {name:3s} = {np.round(values[name].ravel(), 6)}")
print("Backward pass")
for name in ("delta3", "delta2", "delta1"):
    print(f"  {name} = {np.round(values[name].ravel(), 6)}")

_, backward = bp.numpy()
grads = backward(params, x, y)
print("Gradients (17 numbers)")
count = 0
for name, g in grads.items():
    for idx in np.ndindex(*g.shape):
        label = f"d{name}[{idx[0] + 1},{idx[1] + 1}]" if name.startswith("W") else f"d{name}[{idx[0] + 1}]"
        print(f"  {label:10s} = {g[idx]: .6f}")
        count += 1

eta = 0.1
updated = {name: params[name] - eta * grads[name] for name in params}
print(f"Updated parameters (eta = {eta})")
for name, v in updated.items():
    print(f"  {name} = {np.round(v, 6).tolist()}")
loss = bp.numpy_loss()
new_loss = loss(updated, x, y)
print(f"  new loss = {new_loss:.6f}")
print()

print("Checks (exact values, 6 decimals)")
expected = [
    ("yhat = a3", values["a3"][0, 0], 0.773905),
    ("loss", values["L"][0, 0], 0.256306),
    ("dL/dz3", values["delta3"][0, 0], -0.226095),
    ("dL/dw1 (output layer)", grads["W3"][0, 0], -0.139390),
    ("dL/dw11 (layer 1; slides print -0.00528)", grads["W1"][0, 0], -0.005268),
    ("loss after one step", new_loss, 0.245460),
]
for what, got, want in expected:
    report(what, abs(got - want) < 5e-7, f"{got:.6f} (expected {want:.6f})")
report("17 gradients", count == 17, str(count))
worst = 0.0
for name in params:
    for idx in np.ndindex(*params[name].shape):
        plus = {**params, name: params[name].copy()}
        minus = {**params, name: params[name].copy()}
        plus[name][idx] += 1e-6
        minus[name][idx] -= 1e-6
        worst = max(worst, abs((loss(plus, x, y) - loss(minus, x, y)) / 2e-6 - grads[name][idx]))
report("all 17 gradients vs finite differences", worst < 1e-8, f"max difference {worst:.1e}")

sys.exit(1 if failures else 0)
