"""The example derivations the tests share: name -> (expression, variable, style, sizes)."""
import sympy as sp

import symcalc as sc

n, d, h, K, m = sp.symbols("n d h K m", integer=True, positive=True)


def examples():
    X = sp.MatrixSymbol("X", n, d)
    y = sp.MatrixSymbol("y", n, 1)
    theta = sp.MatrixSymbol("theta", d, 1)
    A = sp.MatrixSymbol("A", n, n)
    x = sp.MatrixSymbol("x", n, 1)
    C = sp.MatrixSymbol("C", n, n)
    B = sp.MatrixSymbol("B", d, n)
    S = sp.MatrixSymbol("S", n, n)
    w = sp.MatrixSymbol("w", d, 1)
    b = sp.Symbol("b")
    W = sp.MatrixSymbol("W", K, d)
    xd = sp.MatrixSymbol("x", d, 1)
    yk = sc.OneHot("y", K, 1)
    W1 = sp.MatrixSymbol("W1", h, d)
    b1 = sp.MatrixSymbol("b1", h, 1)
    W2 = sp.MatrixSymbol("W2", 1, h)
    b2 = sp.MatrixSymbol("b2", 1, 1)
    y1 = sp.MatrixSymbol("y", 1, 1)
    Am = sp.MatrixSymbol("A", m, n)
    small = {"n": 3, "d": 2, "h": 3, "K": 3, "m": 4}
    return {
        "least_squares": ((y - X * theta).T * (y - X * theta), theta, small | {"n": 4}),
        "quadratic_form": (x.T * A * x, x, small),
        "trace_AXB": (sp.Trace(C * X * B), X, small),
        "log_det": (sp.log(sp.det(S)), S, small),
        "logistic": (sc.bce(sc.sigmoid(X * w + b * sp.OneMatrix(n, 1)), y), w, small),
        "softmax_ce": (sc.cross_entropy(sc.softmax(W * xd), yk), W, small),
        "mlp": (sc.bce(sc.sigmoid(W2 * sc.sigmoid(W1 * xd + b1) + b2), y1), W1, small),
        "Ax": (Am * x, x, small),
    }


#: (example, style) pairs the golden, step and compile tests cover, in both layouts.
CASES = [
    ("least_squares", "chain"), ("least_squares", "differential"),
    ("quadratic_form", "chain"), ("quadratic_form", "index"),
    ("trace_AXB", "chain"), ("trace_AXB", "differential"),
    ("log_det", "chain"), ("log_det", "differential"),
    ("logistic", "chain"), ("logistic", "differential"),
    ("softmax_ce", "chain"), ("softmax_ce", "differential"),
    ("mlp", "chain"), ("mlp", "differential"),
    ("Ax", "index"), ("Ax", "chain"),
]
