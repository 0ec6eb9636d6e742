"""Ridge regression: L(θ) = ‖y − Xθ‖² + λ‖θ‖², derived in the differential style.

Prints the derivation (dL = … dθ, identification, closed form), then checks the gradient and the
Hessian against finite differences and the closed form (XᵀX + λI)⁻¹Xᵀy against np.linalg.lstsq on
the augmented problem [X; √λ I] θ ≈ [y; 0], which has the same minimiser. Exits 1 if a check fails.

    python examples/ridge.py
"""
import sys

import numpy as np
import sympy as sp

import symcalc as sc
from symcalc.printing import text

n, d = sp.symbols("n d", integer=True, positive=True)
lam = sp.Symbol("lam", positive=True)            # positive: the closed form is then a proven minimum
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
L = sc.norm2(y - X * theta) + lam * sc.norm2(theta)

failures = []


def report(what, ok, detail=""):
    print(f"  [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


derivation = sc.derive(L, theta, style="differential")
print(derivation)
print()

g = sc.gradient(L, theta)
H = sc.hessian(L, theta)
cf = sc.solve_stationary(L, theta)
print("Results")
print(f"  gradient        = {text(g)}")
print(f"  Hessian         = {text(H)}")
print(f"  closed form     = {text(cf.solution)}")
print(f"  nature          = {cf.nature}: {cf.reason}")
for c in cf.conditions:
    print(f"  condition       = {c.text}")
print()

print("Checks")
for layout in ("denominator", "numerator"):
    r = sc.check(L, theta, layout=layout, seed=4)
    report(f"gradient, {layout} layout, vs finite differences", r.ok,
           f"max relative error {r.max_rel_error:.2e} at {r.sizes}")
r = sc.check(g, theta, layout="numerator", derivative=H, seed=5)
report("Hessian vs finite differences of the gradient", r.ok, f"max relative error {r.max_rel_error:.2e}")
report("every step of the derivation holds at random values", bool(derivation.check(seed=6)))

solution = sc.lambdify([X, y, lam], cf.solution)
rng = np.random.default_rng(0)
Xv, yv, lv = rng.standard_normal((30, 5)), rng.standard_normal((30, 1)), 0.7
augmented_X = np.vstack([Xv, np.sqrt(lv) * np.eye(5)])
augmented_y = np.vstack([yv, np.zeros((5, 1))])
lstsq = np.linalg.lstsq(augmented_X, augmented_y, rcond=None)[0]
err = np.max(np.abs(solution(Xv, yv, lv) - lstsq))
report("closed form vs np.linalg.lstsq of [X; sqrt(lam) I] (n=30, d=5, lam=0.7)", err < 1e-10,
       f"max difference {err:.1e}")
report("closed form: symcalc's own check (gradient residual, solve, lstsq)", cf.check.ok,
       f"gradient residual {cf.check.gradient_residual:.1e}")

sys.exit(1 if failures else 0)
