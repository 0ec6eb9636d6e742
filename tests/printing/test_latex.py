"""Golden LaTeX for the expressions lecture notes print, and the notation settings."""
import pytest
import sympy as sp

from sympy.matrices.expressions.matexpr import MatrixElement

import symcalc.functions as F
from symcalc.errors import SymcalcError
from symcalc.printing import Notation, NotationError, latex, partial, shape_latex

n, d, h = sp.symbols("n d h", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
A = sp.MatrixSymbol("A", d, d)
W = sp.MatrixSymbol("W", h, d)
b = sp.MatrixSymbol("b", h, 1)
x = sp.MatrixSymbol("x", d, 1)
z = sp.MatrixSymbol("z", h, 1)
t = sp.MatrixSymbol("t", h, 1)
E = F.ELEMENT
A11, Y11 = sp.MatrixSymbol("a", 1, 1), sp.MatrixSymbol("y", 1, 1)

GOLDEN = [
    # least squares gradient: SymPy stores -X*theta + y; positive terms print first
    (-2 * X.T * (y - X * theta),
     r"-2 \mathbf{X}^{\top} (\mathbf{y} - \mathbf{X} \boldsymbol{\theta})"),
    ((A + A.T) * x, r"(\mathbf{A} + \mathbf{A}^{\top}) \mathbf{x}"),
    (sp.Inverse(A).T, r"\mathbf{A}^{-\top}"),  # SymPy turns it into Inverse(Transpose(A))
    (sp.Inverse(A.T), r"\mathbf{A}^{-\top}"),
    (sp.Transpose(sp.Inverse(A)), r"\mathbf{A}^{-\top}"),  # unevaluated
    (F.sigmoid(W * x + b), r"\sigma(\mathbf{W} \mathbf{x} + \mathbf{b})"),
    (sp.HadamardProduct(z, t), r"\mathbf{z} \odot \mathbf{t}"),
    (F.softmax(z) - t, r"\operatorname{softmax}(\mathbf{z}) - \mathbf{t}"),
    (sp.DiagMatrix(F.elementwise(F.Sigmoid(E) * (1 - F.Sigmoid(E)), z)) * W,
     r"\operatorname{diag}(\sigma(\mathbf{z}) \odot (\mathbf{1} - \sigma(\mathbf{z}))) \mathbf{W}"),
    (F.log(F.sigmoid(z)), r"\log \sigma(\mathbf{z})"),
    (F.exp(z), r"\exp(\mathbf{z})"),
    (F.tanh(W * x), r"\tanh(\mathbf{W} \mathbf{x})"),
    (F.elementwise(1 - sp.tanh(E) ** 2, z), r"\mathbf{1} - \tanh(\mathbf{z})^{\circ 2}"),
    (F.step(z), r"\mathbb{1}[\mathbf{z} > 0]"),
    (F.relu(z), r"\operatorname{ReLU}(\mathbf{z})"),
    (F.leaky_relu(z), r"\operatorname{LeakyReLU}_{{0.01}}(\mathbf{z})"),
    (F.softplus(z), r"\operatorname{softplus}(\mathbf{z})"),
    (z.applyfunc(sp.Lambda(sp.Symbol("u"), sp.Max(0, sp.Symbol("u")))), r"\max(0, \mathbf{z})"),
    (sp.HadamardPower(X * theta - y, 2),
     r"(\mathbf{X} \boldsymbol{\theta} - \mathbf{y})^{\circ 2}"),
    (sp.HadamardPower(z, -1), r"\mathbf{z}^{\circ -1}"),
    # a nested elementwise product needs no parentheses, a matrix product does
    (sp.HadamardProduct(W * x, F.elementwise(F.Sigmoid(E) * (1 - F.Sigmoid(E)), z)),
     r"(\mathbf{W} \mathbf{x}) \odot \sigma(\mathbf{z}) \odot (\mathbf{1} - \sigma(\mathbf{z}))"),
    (F.elementwise(E * sp.exp(E), W * x), r"(\mathbf{W} \mathbf{x}) \odot \exp(\mathbf{W} \mathbf{x})"),
    (F.elementwise(2 - 3 * E, z), r"2 \mathbf{1} - 3 \mathbf{z}"),
    (sp.Trace(A), r"\operatorname{tr}(\mathbf{A})"),
    (sp.Determinant(A), r"\det(\mathbf{A})"),
    (sp.log(sp.Determinant(A)), r"\log \det \mathbf{A}"),
    (sp.KroneckerProduct(A, X), r"\mathbf{A} \otimes \mathbf{X}"),
    (sp.Identity(n), r"\mathbf{I}"),
    (sp.OneMatrix(n, 1), r"\mathbf{1}"),
    (sp.ZeroMatrix(n, d), r"\mathbf{0}"),
    ((X.T * X).I * X.T * y,
     r"(\mathbf{X}^{\top} \mathbf{X})^{-1} \mathbf{X}^{\top} \mathbf{y}"),
    (F.sum(W), r"\operatorname{sum}(\mathbf{W})"),
    (F.mean(W), r"\operatorname{mean}(\mathbf{W})"),
    (F.logsumexp(z), r"\operatorname{logsumexp}(\mathbf{z})"),
    (F.softmax(X, axis=1), r"\operatorname{softmax}_{\text{row}}(\mathbf{X})"),
    (F.logsumexp(X, axis=1), r"\operatorname{logsumexp}_{\text{row}}(\mathbf{X})"),
    (F.logsumexp(X, axis=0), r"\operatorname{logsumexp}_{\text{col}}(\mathbf{X})"),
    (F.sum(X, axis=1), r"\mathbf{X} \mathbf{1}"),
    (F.Threshold(sp.Symbol("a")), r"\mathbb{1}[a \geq 0]"),
    (sp.Max(0, sp.Symbol("a")), r"\max(0, a)"),
    (sp.Rational(1, 2) * F.norm2(z - t), r"\frac{1}{2} \lVert \mathbf{z} - \mathbf{t} \rVert_{2}^{2}"),
    (F.frobenius2(W), r"\lVert \mathbf{W} \rVert_{F}^{2}"),
    (F.cross_entropy(F.softmax(z), t),
     r"-\operatorname{sum}(\mathbf{t} \odot \log \operatorname{softmax}(\mathbf{z}))"),
    (sp.Symbol("alpha") * A * x, r"\alpha \mathbf{A} \mathbf{x}"),
    (-X.T * y, r"-\mathbf{X}^{\top} \mathbf{y}"),
    (-sp.Symbol("alpha") * A * x + x, r"\mathbf{x} - \alpha \mathbf{A} \mathbf{x}"),
    (sp.MatrixSymbol("W1", h, d).T * sp.MatrixSymbol("delta2", h, 1),
     r"\mathbf{W}_{1}^{\top} \boldsymbol{\delta}_{2}"),
    (sp.MatrixSymbol("yhat", n, 1) - y, r"\hat{\mathbf{y}} - \mathbf{y}"),
    (sp.MatrixSymbol("L", 1, 1), "L"),  # a 1 x 1 symbol is a scalar: italic
    (MatrixElement(sp.MatrixSymbol("c", 1, 1), 0, 0), "c"),
    (MatrixElement(A, sp.Symbol("i"), sp.Symbol("k")), "A_{ik}"),
    (MatrixElement(x, sp.Symbol("k"), 0), "x_{k}"),
    (sp.Symbol("y") - sp.Symbol("h"), "y - h"),
    (sp.OneMatrix(1, h), r"\mathbf{1}^{\top}"),  # a row of ones
    (F.elementwise(1 - sp.tanh(E) ** 2, x.T * W.T),  # ones oriented like the argument
     r"\mathbf{1}^{\top} - \tanh(\mathbf{x}^{\top} \mathbf{W}^{\top})^{\circ 2}"),
    (sp.MatrixSymbol("W__o", h, d).T, r"{\mathbf{W}^{o}}^{\top}"),  # no double superscript
    # an entry of a numbered matrix merges the subscripts ({\tilde{a}_{1}}_{k} does not compile)
    (MatrixElement(sp.MatrixSymbol("W1", h, d), sp.Symbol("j"), sp.Symbol("k")), "W_{1,jk}"),
    (MatrixElement(sp.MatrixSymbol("atilde1", h, 1), sp.Symbol("k"), 0), r"\tilde{a}_{1,k}"),
    (MatrixElement(sp.MatrixSymbol("W__o", h, d), sp.Symbol("j"), sp.Symbol("k")), "{W^{o}}{}_{jk}"),
    # 1 x 1 quantities read as numbers: no ⊙, sum, diag or ∘ powers for a scalar
    (sp.HadamardProduct(A11, sp.OneMatrix(1, 1) - A11), "a (1 - a)"),
    (sp.HadamardProduct(A11 - Y11, sp.HadamardPower(sp.HadamardProduct(A11, sp.OneMatrix(1, 1) - A11), -1)),
     r"\frac{a - y}{a (1 - a)}"),
    (-F.sum(sp.HadamardProduct(Y11, F.log(A11))), r"-y \log(a)"),
    (sp.DiagMatrix(sp.HadamardProduct(A11, sp.OneMatrix(1, 1) - A11)), "a (1 - a)"),
    (3 * sp.HadamardPower(A11, 2), "3 a^{2}"),
    (sp.Trace(A11 - Y11), "a - y"),
    (sp.MatrixSymbol("W2", 1, h).T * sp.HadamardProduct(A11, sp.OneMatrix(1, 1) - A11),
     r"\mathbf{W}_{2}^{\top} (a (1 - a))"),
]


@pytest.mark.parametrize("expr, expected", GOLDEN, ids=[g[1][:40] for g in GOLDEN])
def test_golden(expr, expected):
    assert latex(expr) == expected


def test_index_sums_over_whole_dimensions_omit_the_limits():
    i, k = sp.symbols("i k", integer=True)
    assert latex(sp.Sum(MatrixElement(A, i, k) * MatrixElement(x, k, 0), (k, 0, d - 1))) == (
        r"\sum_{k} A_{ik} x_{k}")
    assert latex(sp.Sum(MatrixElement(x, k, 0), (k, 0, 2))) == r"\sum_{k=0}^{2} x_{k}"


def test_tall_content_gets_sized_parentheses():
    s = latex(X.T * (y - X * theta / n))
    assert r"{\left(" in s and r"\right)}" in s


def test_nested_elementwise_functions_print_as_composition():
    # SymPy keeps log(1 - sigmoid(z)) as two nested applications
    assert latex(F.log(sp.OneMatrix(h, 1) - F.sigmoid(z))) == r"\log(\mathbf{1} - \sigma(\mathbf{z}))"


def test_array_prints_entries():
    M = sp.MatrixSymbol("M", 2, 2)
    arr = sp.ImmutableDenseNDimArray([[[[M[0, 0]]], [[M[0, 1]]]], [[[M[1, 0]]], [[M[1, 1]]]]])
    assert latex(arr) == (r"\left[\begin{matrix}\begin{bmatrix}M_{00}\end{bmatrix} & "
                          r"\begin{bmatrix}M_{01}\end{bmatrix} \\ \\[-8pt] \begin{bmatrix}M_{10}"
                          r"\end{bmatrix} & \begin{bmatrix}M_{11}\end{bmatrix}\end{matrix}\right]")


def test_notation_renames_symbols():
    nt = Notation(names={"theta": r"\boldsymbol{\vartheta}", "X": r"\mathbf{\Phi}"})
    assert latex(-2 * X.T * (y - X * theta), nt) == (
        r"-2 \mathbf{\Phi}^{\top} (\mathbf{y} - \mathbf{\Phi} \boldsymbol{\vartheta})")


def test_renamed_symbol_with_superscript_is_grouped_before_transpose():
    nt = Notation(names={"W": r"\mathbf{W}^{[1]}"})
    assert latex(W.T, nt) == r"{\mathbf{W}^{[1]}}^{\top}"


def test_plain_notation_and_transpose_mark():
    nt = Notation(bold=False, transpose="T", hadamard=r"\circ")
    assert latex(-2 * X.T * (y - X * theta), nt) == r"-2 X^{T} (y - X \theta)"
    assert latex(sp.HadamardProduct(z, t), nt) == r"z \circ t"
    assert latex(sp.Identity(n), nt) == "I"


def test_scalar_names_too():
    lam = sp.Symbol("lam")
    assert latex(lam * A, Notation(names={"lam": r"\lambda"})) == r"\lambda \mathbf{A}"


def test_markdown_notation_avoids_blackboard_one():
    # KaTeX and MathJax fonts have no blackboard digits
    assert latex(F.step(z), Notation().for_markdown()) == r"\mathbb{I}[\mathbf{z} > 0]"
    assert Notation(indicator=r"\mathbf{1}").for_markdown().indicator == r"\mathbf{1}"


def test_unknown_symbol_in_notation_is_an_error():
    nt = Notation(names={"thetta": r"\boldsymbol{\theta}"})
    with pytest.raises(NotationError) as info:
        nt.validate(-2 * X.T * (y - X * theta))
    message = str(info.value)
    assert "'thetta'" in message and "did you mean 'theta'" in message
    assert "X, d, n, theta, y" in message
    assert isinstance(info.value, SymcalcError)


def test_validate_accepts_known_names_and_sizes():
    nt = Notation(names={"theta": r"\boldsymbol{\theta}", "d": "p"})
    assert nt.validate(X * theta) is nt


def test_notation_rejects_non_string_latex():
    with pytest.raises(NotationError):
        Notation(names={"theta": 3})


def test_shape_latex():
    assert shape_latex((d, 1)) == r"\in \mathbb{R}^{d \times 1}"
    assert shape_latex((1, 1)) == r"\in \mathbb{R}"
    assert shape_latex((h + 1, n)) == r"\in \mathbb{R}^{h + 1 \times n}".replace("h + 1", "(h + 1)")
    assert shape_latex((n, d, h, 1)) == r"\in \mathbb{R}^{n \times d \times h \times 1}"


def test_partial():
    L = sp.Symbol("L")
    assert partial(L, W) == r"\frac{\partial L}{\partial \mathbf{W}}"
    assert partial(A * x, x) == r"\frac{\partial (\mathbf{A} \mathbf{x})}{\partial \mathbf{x}}"
    nt = Notation(names={"theta": r"\boldsymbol{\vartheta}"})
    assert partial(L, theta, nt) == r"\frac{\partial L}{\partial \boldsymbol{\vartheta}}"
    assert partial("L", r"\mathbf{z}^{[2]}") == r"\frac{\partial L}{\partial \mathbf{z}^{[2]}}"
