"""Plain text: readable, positive terms first, no Lambda noise."""
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.printing import text

n, d, h = sp.symbols("n d h", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
A = sp.MatrixSymbol("A", d, d)
W = sp.MatrixSymbol("W", h, d)
b = sp.MatrixSymbol("b", h, 1)
x = sp.MatrixSymbol("x", d, 1)
z = sp.MatrixSymbol("z", h, 1)
E = F.ELEMENT
A11, Y11 = sp.MatrixSymbol("a", 1, 1), sp.MatrixSymbol("y", 1, 1)

GOLDEN = [
    (-2 * X.T * (y - X * theta), "-2*X.T*(y - X*theta)"),
    (F.sigmoid(W * x + b), "sigmoid(W*x + b)"),
    ((A + A.T) * x, "(A + A.T)*x"),
    (x.T, "x.T"),
    (A.I, "A^-1"),
    (A.I.T, "A^-T"),
    ((X.T * X).I * X.T * y, "(X.T*X)^-1*X.T*y"),
    (sp.HadamardProduct(z, b), "z ⊙ b"),
    (sp.HadamardPower(z, 2), "z^∘2"),
    (F.log(F.sigmoid(z)), "log(sigmoid(z))"),
    (F.softmax(z) - b, "softmax(z) - b"),
    (F.softmax(X, axis=1), "softmax(X, axis=1)"),
    (F.logsumexp(X, axis=1).T * y, "logsumexp(X, axis=1).T*y"),
    (F.threshold(z), "threshold(z)"),
    (sp.Max(0, sp.Symbol("a")), "max(0, a)"),
    (sp.DiagMatrix(F.elementwise(F.Sigmoid(E) * (1 - F.Sigmoid(E)), z)) * W,
     "diag(sigmoid(z) ⊙ (1 - sigmoid(z)))*W"),
    (sp.log(sp.Determinant(A)), "log(det(A))"),
    (sp.Trace(A * A.T), "tr(A*A.T)"),
    (sp.Rational(1, 2) * F.norm2(z - b), "(1/2)*norm2(z - b)"),
    (F.step(z), "step(z)"),
    (sp.KroneckerProduct(A, X), "A ⊗ X"),
    (2 * sp.Symbol("lam") * theta - 2 * X.T * (y - X * theta), "2*lam*theta - 2*X.T*(y - X*theta)"),
    (sp.OneMatrix(1, h), "1.T"),
    (sp.MatPow(A, -2), "A^-2"),
    # 1 x 1 quantities read as numbers
    (sp.HadamardProduct(A11 - Y11, sp.HadamardPower(sp.HadamardProduct(A11, sp.OneMatrix(1, 1) - A11), -1)),
     "(a - y)/(a*(1 - a))"),
    (-F.sum(sp.HadamardProduct(sp.Identity(1) - Y11, F.log(A11))), "-(1 - y)*log(a)"),
    (sp.DiagMatrix(sp.HadamardProduct(A11, sp.OneMatrix(1, 1) - A11)), "a*(1 - a)"),
    (sp.Determinant(A) ** 2, "det(A)^2"),
    (-sp.Symbol("alpha") * A * x + x, "x - alpha*A*x"),
]


@pytest.mark.parametrize("expr, expected", GOLDEN, ids=[g[1] for g in GOLDEN])
def test_golden(expr, expected):
    assert text(expr) == expected


def test_ascii_operators():
    assert text(sp.HadamardProduct(z, b), ascii=True) == "z .* b"
    assert text(sp.HadamardPower(z, 2), ascii=True) == "z.^2"


def test_no_lambda_noise():
    for expr, _ in GOLDEN:
        assert "Lambda" not in text(expr) and "_z" not in text(expr)
