"""Softmax cross-entropy: L = −Σ y ⊙ log softmax(W x + b), with y one-hot.

The engine's gradients (δ = softmax(z) − y at the output), the softmax Jacobian diag(s) − s sᵀ, why
the one-hot declaration matters (without it the gradient is s 1ᵀy − y), a wrong-sign claim caught by
verify, and a ReLU network with a softmax output built with symcalc.nn, its generated backward pass
checked against finite differences. Exits 1 if a check fails.

    python examples/softmax_cross_entropy.py
"""
import sys

import numpy as np
import sympy as sp

import symcalc as sc
from symcalc import nn
from symcalc.printing import text

K, d, h = sp.symbols("K d h", integer=True, positive=True)
W = sp.MatrixSymbol("W", K, d)
b = sp.MatrixSymbol("b", K, 1)
x = sp.MatrixSymbol("x", d, 1)
z = sp.MatrixSymbol("z", K, 1)
y = sc.OneHot("y", K, 1)                    # declared one-hot: 1ᵀy = 1
L = sc.cross_entropy(sc.softmax(W * x + b), y)

failures = []


def report(what, ok, detail=""):
    print(f"  [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


print(sc.derive(L, W, style="differential"))
print()

print("Results")
for wrt in (W, b, x):
    print(f"  dL/d{wrt} = {text(sc.diff(L, wrt))}")
J = sc.jacobian(sc.softmax(z), z)
print(f"  d softmax(z)/dz (numerator) = {text(J)}")
plain_y = sp.MatrixSymbol("y", K, 1)         # not declared one-hot
print(f"  with y not declared one-hot: dL/dz = "
      f"{text(sc.diff(sc.cross_entropy(sc.softmax(z), plain_y), z))}")
print()

print("Checks")
for wrt in (W, b, x):
    for layout in ("denominator", "numerator"):
        r = sc.check(L, wrt, layout=layout, seed=11)
        report(f"dL/d{wrt}, {layout} layout, vs finite differences", r.ok,
               f"max relative error {r.max_rel_error:.1e}")
r = sc.check(sc.softmax(z), z, layout="numerator", seed=12)
report("softmax Jacobian vs finite differences", r.ok, f"max relative error {r.max_rel_error:.1e}")
Lz = sc.cross_entropy(sc.softmax(z), y)
report("claim dL/dz = softmax(z) - y is correct", sc.verify(sc.softmax(z) - y, Lz, z).ok)
wrong = sc.verify(y - sc.softmax(z), Lz, z)
report("claim dL/dz = y - softmax(z) is caught as wrong", not wrong.ok and wrong.diagnosis == "factor",
       wrong.explanation.split(":")[0])

# A network: x -> relu(W1 x + b1) -> softmax(W2 a1 + b2), cross-entropy, samples as columns.
net = nn.Network([nn.Linear(d, h, name="1"), nn.ReLU(), nn.Linear(h, K, name="2"), nn.Softmax()],
                 loss=nn.CrossEntropy(), batch="columns")
bp = net.backprop()
print()
print("Network (samples as columns):")
for p, g in bp.gradients.items():
    print(f"  dL/d{p} = {text(g)}")
print(f"  output delta = {text(bp.deltas[2])}")
sizes = {"d": 4, "h": 3, "K": 3, "n": 6}
rng = np.random.default_rng(1)
params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal((3, 1)),
          "W2": rng.standard_normal((3, 3)), "b2": rng.standard_normal((3, 1))}
X = rng.standard_normal((4, 6))
Y = np.eye(3)[:, rng.integers(3, size=6)]     # one-hot columns
_, backward = bp.numpy()
loss = bp.numpy_loss()
grads = backward(params, X, Y)
worst = 0.0
for name, g in grads.items():
    for idx in np.ndindex(*g.shape):
        plus = {**params, name: params[name].copy()}
        minus = {**params, name: params[name].copy()}
        plus[name][idx] += 1e-6
        minus[name][idx] -= 1e-6
        fd = (loss(plus, X, Y) - loss(minus, X, Y)) / 2e-6
        worst = max(worst, abs(fd - g[idx]))
report("network backward pass vs finite differences", worst < 1e-6, f"max difference {worst:.1e}")

sys.exit(1 if failures else 0)
