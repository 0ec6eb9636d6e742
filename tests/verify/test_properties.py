"""Properties: symcalc's own derivatives verify in both layouts, and known corruptions of them are
diagnosed as what they are (a factor, a sign, the other layout)."""
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.diff import diff
from symcalc.simplify import transpose
from symcalc.numeric.verify import verify

n, d, m = sp.symbols("n d m", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
w = sp.MatrixSymbol("w", d, 1)
x = sp.MatrixSymbol("x", n, 1)
A = sp.MatrixSymbol("A", n, n)
B = sp.MatrixSymbol("B", m, n)
C = sp.MatrixSymbol("C", d, m)

CASES = {
    "least squares": (F.norm2(y - X * w), w),
    "logistic": (F.bce(F.sigmoid(X * w), y), w),
    "quadratic form": (x.T * A * x, x),
    "log det": (sp.log(sp.det(A)), A),
    "trace of a product": (sp.Trace(B * A * B.T), B),
    "linear map": (B * x, x),
    "sigmoid layer": (F.sigmoid(B * x), x),
    "bilinear": (x.T * B.T * C.T * w, C),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_engine_results_verify_and_corruptions_are_diagnosed(name, layout):
    expr, wrt = CASES[name]
    D = diff(expr, wrt, layout=layout)
    assert verify(D, expr, wrt, layout=layout).ok
    v = verify(3 * D, expr, wrt, layout=layout)
    assert v.diagnosis == "factor" and v.factor == 3
    assert verify(-D, expr, wrt, layout=layout).factor == -1
    v = verify(transpose(D), expr, wrt, layout=layout)
    other = "numerator" if layout == "denominator" else "denominator"
    assert v.diagnosis == "transpose" and f"{other} layout's answer" in v.explanation
    assert v.counterexample is not None and v.counterexample.sizes
