"""Least squares: L(θ) = ‖y − Xθ‖², its gradient, its Hessian and its closed form.

Prints the chain-rule derivation, then checks every result with numbers: the gradient in both
layouts and the Hessian against central finite differences, and the closed form (XᵀX)⁻¹Xᵀy
against np.linalg.lstsq. Exits with status 1 if any check fails.

    python examples/least_squares.py
"""
import sys

import numpy as np
import sympy as sp

import symcalc as sc
from symcalc.printing import text

n, d = sp.symbols("n d", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
L = (y - X * theta).T * (y - X * theta)

failures = []


def report(what, ok, detail=""):
    print(f"  [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


derivation = sc.derive(L, theta, layout="denominator")
print(derivation)
print()

print("Results")
g = sc.diff(L, theta)                                   # denominator layout: the shape of theta
g_num = sc.diff(L, theta, layout="numerator")           # numerator layout: a row
H = sc.hessian(L, theta)
print(f"  dL/dtheta (denominator) = {text(g)}   shape {g.shape}")
print(f"  dL/dtheta (numerator)   = {text(g_num)}   shape {g_num.shape}")
print(f"  Hessian                 = {text(H)}   shape {H.shape}")
cf = sc.solve_stationary(L, theta)
print(f"  stationary point        = {text(cf.solution)}  ({cf.nature})")
print()

print("Checks")
for layout in ("denominator", "numerator"):
    r = sc.check(L, theta, layout=layout, seed=1)
    report(f"gradient, {layout} layout, vs finite differences", r.ok,
           f"max relative error {r.max_rel_error:.2e} at {r.sizes}")
r = sc.check(g, theta, layout="numerator", derivative=H, seed=2)
report("Hessian = d(gradient)/dtheta vs finite differences", r.ok,
       f"max relative error {r.max_rel_error:.2e} at {r.sizes}")
report("every step of the derivation holds at random values", bool(derivation.check(seed=3)))

solution = sc.lambdify([X, y], cf.solution)               # NumPy: solves X^T X theta = X^T y
rng = np.random.default_rng(0)
Xv, yv = rng.standard_normal((50, 4)), rng.standard_normal((50, 1))
ours = solution(Xv, yv)
lstsq = np.linalg.lstsq(Xv, yv, rcond=None)[0]
err = np.max(np.abs(ours - lstsq))
report("closed form vs np.linalg.lstsq (n=50, d=4)", err < 1e-10, f"max difference {err:.1e}")
report("closed form: the objective's own gradient vanishes there", cf.check.ok,
       f"relative residual {cf.check.gradient_residual:.1e}")

sys.exit(1 if failures else 0)
