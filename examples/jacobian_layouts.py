"""The layout table, row by row: each kind of derivative in numerator and denominator layout.

x is n×1, y is m×1, X is p×q, Y is m×n (DESIGN §2). For every row the script prints both results
with their shapes, checks each against central finite differences, and checks that the two layouts
are transposes of each other. The last rows show the vec (Kronecker) form and the 4-way array of a
matrix-by-matrix derivative, and the chain rule's order in each layout, with the derivation of
σ(Ax) written out in both. Exits 1 if a check fails.

    python examples/jacobian_layouts.py
"""
import sys

import sympy as sp

import symcalc as sc
from symcalc.printing import text

m, n, p, q = sp.symbols("m n p q", integer=True, positive=True)
t = sp.Symbol("t", real=True)
A, B, C = (sp.MatrixSymbol(name, m, n) for name in "ABC")
a = sp.MatrixSymbol("a", m, 1)
x = sp.MatrixSymbol("x", n, 1)
X = sp.MatrixSymbol("X", p, q)
u, v = sp.MatrixSymbol("u", p, 1), sp.MatrixSymbol("v", q, 1)
P, Q = sp.MatrixSymbol("P", m, p), sp.MatrixSymbol("Q", q, n)

ROWS = [
    ("scalar by scalar", sp.sin(t) * t**2, t, {}),
    ("scalar by vector", (A * x).T * (A * x), x, {}),
    ("vector by scalar", a * t**2, t, {}),
    ("vector by vector", A * x, x, {}),
    ("scalar by matrix", u.T * X * v, X, {}),
    ("matrix by scalar", t * B + t**2 * C, t, {}),
    ("matrix by matrix, vec form", P * X * Q, X, {"vec": True}),
    ("chain rule: sigmoid(A x)", sc.sigmoid(A * x), x, {}),
]

failures = []


def report(what, ok, detail=""):
    print(f"    [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


def shape(r):
    return " x ".join(str(s) for s in r.shape) if hasattr(r, "shape") and r.shape else "scalar"


for title, expr, wrt, options in ROWS:
    print(f"{title}:  d({text(expr)})/d{wrt}")
    results = {}
    for layout in ("numerator", "denominator"):
        results[layout] = sc.diff(expr, wrt, layout=layout, **options)
        print(f"  {layout:11s}  {shape(results[layout]):10s}  {text(results[layout])}")
    for layout in ("numerator", "denominator"):
        r = sc.check(expr, wrt, layout=layout, seed=21, **options)
        report(f"{layout} vs finite differences", r.ok, f"max relative error {r.max_rel_error:.1e}")
    num, den = results["numerator"], results["denominator"]
    same = num == den if not hasattr(num, "shape") else sc.textbook(num.T) == den
    if not same and hasattr(num, "shape"):
        same = bool(sc.check(expr, wrt, layout="denominator", derivative=num.T, seed=22))
    report("the two layouts are transposes of each other", same)
    print()

# The chain rule's order, written out: numerator layout multiplies from the output to the input,
# denominator layout from the input to the output.
for layout in ("numerator", "denominator"):
    derivation = sc.derive(sc.sigmoid(A * x), x, layout=layout)
    print(derivation)
    report("every step of the derivation holds", bool(derivation.check(seed=24)))
    print()

# Matrix by matrix without vec: a 4-way array, which exists for concrete sizes only.
P2, X2, Q2 = sp.MatrixSymbol("P", 2, 3), sp.MatrixSymbol("X", 3, 4), sp.MatrixSymbol("Q", 4, 5)
print("matrix by matrix, array form:  d(P X Q)/dX with P 2x3, X 3x4, Q 4x5")
for layout in ("numerator", "denominator"):
    T = sc.diff(P2 * X2 * Q2, X2, layout=layout)
    print(f"  {layout:11s}  array of shape {T.shape}   [{'i,j,k,l' if layout == 'numerator' else 'k,l,i,j'}]"
          f" = dY_ij/dX_kl;  entry {(0, 1, 2, 3) if layout == 'numerator' else (2, 3, 0, 1)}"
          f" = {T[(0, 1, 2, 3) if layout == 'numerator' else (2, 3, 0, 1)]}")
    r = sc.check(P2 * X2 * Q2, X2, layout=layout, seed=23)
    report(f"{layout} array vs finite differences", r.ok, f"max relative error {r.max_rel_error:.1e}")
try:
    sc.diff(P * X * Q, X)
    report("symbolic sizes without vec=True are refused", False)
except sc.UnsupportedError as e:
    report("symbolic sizes without vec=True are refused", True, str(e).split(";")[0])

sys.exit(1 if failures else 0)
