"""Logistic regression: L(w) = −Σ [y log σ(Xw) + (1 − y) log(1 − σ(Xw))], gradient and Hessian.

There is no closed form (the gradient is not affine in w; symcalc says so), so the script runs a
few Newton steps w ← w − H⁻¹g with the generated NumPy gradient and Hessian, after checking both
against finite differences in both layouts. Exits 1 if a check fails.

    python examples/logistic_regression.py
"""
import sys

import numpy as np
import sympy as sp

import symcalc as sc
from symcalc.printing import text

n, d = sp.symbols("n d", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
w = sp.MatrixSymbol("w", d, 1)
L = sc.bce(sc.sigmoid(X * w), y)                     # binary cross-entropy on probabilities σ(Xw)

failures = []


def report(what, ok, detail=""):
    print(f"  [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


derivation = sc.derive(L, w)
print(derivation)
print()

g = sc.gradient(L, w)
H = sc.hessian(L, w)
print("Results")
print(f"  gradient = {text(g)}")
print(f"  Hessian  = {text(H)}")
try:
    sc.solve_stationary(L, w)
    print("  closed form: unexpectedly found one")
except sc.UnsupportedError as e:
    print(f"  closed form: none ({str(e).split(';')[0]})")
print()

print("Checks")
for layout in ("denominator", "numerator"):
    r = sc.check(L, w, layout=layout, seed=7)
    report(f"gradient, {layout} layout, vs finite differences", r.ok,
           f"max relative error {r.max_rel_error:.2e} at {r.sizes}")
r = sc.check(g, w, layout="numerator", derivative=H, seed=8)
report("Hessian vs finite differences of the gradient", r.ok, f"max relative error {r.max_rel_error:.2e}")
report("every step of the derivation holds at random values", bool(derivation.check(seed=9)))
p = sc.sigmoid(X * w)
textbook_g = X.T * (p - y)
textbook_H = X.T * sp.DiagMatrix(sp.HadamardProduct(p, sp.OneMatrix(n, 1) - p)) * X
report("the textbook gradient X^T (sigmoid(Xw) - y) is right", sc.verify(textbook_g, L, w).ok)
report("the textbook Hessian X^T diag(p (1 - p)) X is right", sc.verify(textbook_H, g, w, layout="numerator").ok)

# Newton's method with the generated NumPy code (y in {0, 1}, data not separable).
loss_grad_hess = sc.lambdify([X, y, w], [L, g, H])
rng = np.random.default_rng(0)
Xv = rng.standard_normal((200, 3))
yv = (rng.random((200, 1)) < 1 / (1 + np.exp(-Xv @ np.array([[1.0], [-2.0], [0.5]])))).astype(float)
wv = np.zeros((3, 1))
print("  Newton's method on 200 samples, 3 features:")
for step in range(6):
    loss, grad, hess = loss_grad_hess(Xv, yv, wv)
    print(f"    step {step}: loss {float(np.squeeze(loss)):.6f}, |gradient| {np.linalg.norm(grad):.2e}")
    wv = wv - np.linalg.solve(hess, grad)
_, grad, _ = loss_grad_hess(Xv, yv, wv)
report("Newton's method reaches a stationary point", np.linalg.norm(grad) < 1e-8,
       f"|gradient| {np.linalg.norm(grad):.1e}, w = {np.round(wv.ravel(), 3)}")

sys.exit(1 if failures else 0)
