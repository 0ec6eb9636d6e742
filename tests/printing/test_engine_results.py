"""Whatever the engine returns prints in symcalc's notation: no SymPy defaults leak through."""
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.diff import diff
from symcalc.printing import latex, text
from symcalc.printing.common import is_negative

n, d, h = sp.symbols("n d h", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
A = sp.MatrixSymbol("A", d, d)
B = sp.MatrixSymbol("B", d, d)
Z = sp.MatrixSymbol("Z", d, d)
x = sp.MatrixSymbol("x", d, 1)
W = sp.MatrixSymbol("W", h, d)
b = sp.MatrixSymbol("b", h, 1)
t = sp.MatrixSymbol("t", h, 1)

CASES = {
    "least squares": ((y - X * theta).T * (y - X * theta), theta),
    "quadratic form": (x.T * A * x, x),
    "trace": (sp.Trace(A * Z * B), Z),
    "log det": (sp.log(sp.Determinant(Z)), Z),
    "logistic": (F.bce(F.sigmoid(X * theta), y), theta),
    "softmax cross-entropy": (F.cross_entropy(F.softmax(W * x + b), t), b),
    "sigmoid layer": (F.sum(F.sigmoid(W * x + b)), W),
    "relu layer": (F.norm2(F.relu(W * x)), W),
    "tanh layer": (F.sum(F.tanh(W * x)), x),
    "jacobian": (F.sigmoid(W * x), x),
    "mse": (F.mse(X * theta, y), theta),
    "logsumexp": (F.logsumexp(W * x), x),
    "softmax by rows": (y.T * F.softmax(X, axis=1) * theta, X),
    "logsumexp by rows": (F.sum(F.logsumexp(X, axis=1)), X),
    "abstract activation": (F.sum((W * x).applyfunc(sp.Function("sigma"))), W),
}

# SymPy's own spellings that symcalc's notation replaces
LEAKS = [r"\mapsto", r"\circ}", r"^{T}", r"\operatorname{DiagMatrix}", r"\operatorname{Sigmoid}",
         r"\operatorname{EntrySum}", r"\mathbb{I}", r"\left|{"]


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_results_print_in_notation(name, layout):
    expr, wrt = CASES[name]
    result = diff(expr, wrt, layout=layout)
    tex, plain = latex(result), text(result)
    for leak in LEAKS:
        assert leak not in tex, (name, tex)
    for node in sp.preorder_traversal(result):  # y - X theta, never -X theta + y
        if isinstance(node, sp.MatAdd) and not all(is_negative(a) for a in node.args):
            assert not latex(node).startswith("-"), latex(node)
    assert "Lambda" not in plain and "_z" not in plain and "HadamardProduct" not in plain
    assert tex.count("{") == tex.count("}") and tex.count("(") == tex.count(")")
