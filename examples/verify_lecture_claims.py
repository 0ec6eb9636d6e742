"""Checking the derivatives a set of lecture notes claims, right and wrong ones.

Each claim is tested by symcalc.verify: compared with symcalc's own derivative and, deciding,
with central finite differences at random rectangular sizes. A wrong claim comes back with what is
wrong (a missing factor, a transpose from the other layout, symmetry assumed, wrong entries) and a
counterexample. The script knows which claims are wrong, and exits 1 if a verdict differs from it.

    python examples/verify_lecture_claims.py
"""
import sys

import sympy as sp

import symcalc as sc
from symcalc.printing import text

n, d, N = sp.symbols("n d N", integer=True, positive=True)
X, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1)
theta, w = sp.MatrixSymbol("theta", d, 1), sp.MatrixSymbol("w", d, 1)
A, B, x = sp.MatrixSymbol("A", n, d), sp.MatrixSymbol("B", d, n), sp.MatrixSymbol("x", d, 1)
S, M = sc.SymmetricMatrix("S", d), sp.MatrixSymbol("M", d, d)
s, K = sp.Symbol("s", real=True), sp.Symbol("K", integer=True, positive=True)
z, t = sp.MatrixSymbol("z", K, 1), sc.OneHot("t", K, 1)
r = y - X * theta

# (what the notes say, claim, expression, variable, layout, the verdict we expect, its diagnosis)
CLAIMS = [
    ("least squares: dL/dtheta = -2 X^T (y - X theta)",
     -2 * X.T * r, sc.norm2(r), theta, "denominator", "correct", None),
    ("least squares, a factor dropped: dL/dtheta = -X^T (y - X theta)",
     -X.T * r, sc.norm2(r), theta, "denominator", "wrong", "factor"),
    ("mean squared error, 1/n forgotten: d(||r||^2 / n)/dtheta = -2 X^T r",
     -2 * X.T * r, sc.norm2(r) / n, theta, "denominator", "wrong", "factor"),
    ("quadratic form: d(x^T M x)/dx = 2 M x  (M not symmetric)",
     2 * M * x, x.T * M * x, x, "denominator", "wrong", "symmetric"),
    ("quadratic form: d(x^T S x)/dx = 2 S x  (S declared symmetric)",
     2 * S * x, x.T * S * x, x, "denominator", "correct", None),
    ("linear map in numerator layout: d(A x)/dx = A^T",
     A.T, A * x, x, "numerator", "wrong", "transpose"),
    ("log-determinant: d log det M / dM = M^-1",
     M.inverse(), sp.log(sp.det(M)), M, "denominator", "wrong", "transpose"),
    ("trace of a product: d tr(B A)/dA = B^T",
     B.T, sp.Trace(B * A), A, "denominator", "correct", None),
    ("sigmoid: sigma'(s) = sigma(s) (1 + sigma(s))",
     sc.sigmoid(s) * (1 + sc.sigmoid(s)), sc.sigmoid(s), s, "denominator", "wrong", "entries"),
    ("logistic regression: dL/dw = X^T (sigma(X w) - y)",
     X.T * (sc.sigmoid(X * w) - y), sc.bce(sc.sigmoid(X * w), y), w, "denominator", "correct", None),
    ("softmax cross-entropy: dL/dz = t - softmax(z)",
     t - sc.softmax(z), sc.cross_entropy(sc.softmax(z), t), z, "denominator", "wrong", "factor"),
]

failures = []
for number, (words, claim, expr, wrt, layout, status, diagnosis) in enumerate(CLAIMS, start=1):
    verdict = sc.verify(claim, expr, wrt, layout=layout)
    print(f"{number:2d}. {words}")
    print(f"    claim {text(claim)}, {layout} layout: {verdict.status.upper()}")
    if not verdict.ok:
        print(f"    {verdict.explanation}")
        if verdict.counterexample is not None and verdict.counterexample.entry is not None:
            print(f"    counterexample at sizes {verdict.counterexample.sizes}")
    if (verdict.status, verdict.diagnosis if status == "wrong" else None) != (status, diagnosis):
        print(f"    UNEXPECTED: expected {status} ({diagnosis}), got {verdict.status} ({verdict.diagnosis})")
        failures.append(words)
    print()

# An index-notation claim from batch notes (samples as rows, Z = X W^T + 1 b^T, u = exp(Z)):
# "dz_ij/dW_jk = u_ik" -- the right value is X_ik.
i, j, k = sp.symbols("i j k", integer=True)
Xb, W, b = sp.MatrixSymbol("X", N, d), sp.MatrixSymbol("W", d, d), sp.MatrixSymbol("b", d, 1)
Z = Xb * W.T + sp.OneMatrix(N, 1) * b.T
u = sp.IndexedBase("u")
print(f"{len(CLAIMS) + 1:2d}. batch layer, index form: dz_ij/dW_jk = u_ik  with u = exp(Z)")
verdict = sc.verify_entrywise(u[i, k], Z, W, of=(i, j), by=(j, k), where={u: sc.exp(Z)})
print(f"    {verdict.status.upper()}: {verdict.explanation}")
if verdict.status != "wrong":
    failures.append("index claim")
right = sc.verify_entrywise(sp.IndexedBase("X")[i, k], Z, W, of=(i, j), by=(j, k))
print(f"    the corrected claim dz_ij/dW_jk = X_ik: {right.status.upper()}")
if not right.ok:
    failures.append("corrected index claim")

print(f"\n{len(CLAIMS) + 2} claims checked; {len(failures)} verdicts differ from the expected ones")
sys.exit(1 if failures else 0)
