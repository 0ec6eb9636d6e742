"""Standalone documents, align blocks, Markdown math, compiling (marked ``latex``)."""
import os

import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.printing import (
    LatexError, Notation, align, compile_pdf, have_latex, latex, markdown_math, partial,
    picture_graph, shape_latex, standalone,
)

n, d, h = sp.symbols("n d h", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
A = sp.MatrixSymbol("A", d, d)
x = sp.MatrixSymbol("x", d, 1)
W1 = sp.MatrixSymbol("W1", h, d)
b1 = sp.MatrixSymbol("b1", h, 1)
W2 = sp.MatrixSymbol("W2", 1, h)
b2 = sp.MatrixSymbol("b2", 1, 1)
t = sp.MatrixSymbol("t", 1, 1)
z = sp.MatrixSymbol("z", h, 1)
E = F.ELEMENT

needs_latex = pytest.mark.skipif(
    not have_latex() and not os.environ.get("CI"),
    reason="latexmk/pdflatex not installed (CI installs them and then this test must run)")


def test_standalone_uses_only_base_and_recommended_packages():
    doc = standalone(align([("L", "u^{\\top} u")]), title="Least squares")
    assert doc.startswith("\\documentclass")
    assert "\\begin{document}" in doc and doc.rstrip().endswith("\\end{document}")
    assert "lmodern" not in doc and "fontenc" not in doc and "tikz" not in doc
    assert "\\section*{Least squares}" in doc


def test_align_rows():
    block = align([("L", "u^{\\top} u", "definition"), "u &= y - X\\theta"])
    assert block == ("\\begin{align*}\nL &= u^{\\top} u && \\text{definition} \\\\\n"
                     "u &= y - X\\theta\n\\end{align*}")
    with pytest.raises(ValueError):
        align([])


def test_markdown_math_turns_align_into_aligned():
    md = markdown_math(align([("L", "u^{\\top} u"), ("u", "y - X\\theta")]))
    assert md.startswith("$$\n\\begin{aligned}") and md.endswith("\\end{aligned}\n$$")
    assert "align*" not in md and "\n\n" not in md


def test_markdown_math_single_equation_and_several_blocks():
    assert markdown_math("x^2") == "$$\nx^2\n$$"
    two = align([("a", "b")]) + "\n\ntext\n\n" + align([("c", "d")])
    assert markdown_math(two).count("$$") == 4


def test_markdown_math_turns_intertext_into_paragraphs():
    body = ("\\begin{align*}\n\\intertext{\\textbf{Chain rule}}\n"
            "u &= y - X\\theta \\\\\nL &= u^{\\top} u \\\\\n"
            "\\intertext{Then $g$ follows.}\ng &= -2 X^{\\top} u\n\\end{align*}")
    md = markdown_math(body)
    assert md.split("\n\n") == [
        "**Chain rule**",
        "$$\n\\begin{aligned}\nu &= y - X\\theta \\\\\nL &= u^{\\top} u\n\\end{aligned}\n$$",
        "Then $g$ follows.",
        "$$\n\\begin{aligned}\ng &= -2 X^{\\top} u\n\\end{aligned}\n$$",
    ]


def test_compile_pdf_without_file_is_a_clear_error(tmp_path):
    with pytest.raises(LatexError, match="no such LaTeX file"):
        compile_pdf(tmp_path / "missing.tex")


def _array():
    """A 4-D derivative, as the engine returns matrix-by-matrix results: d(M N)/dM."""
    M, N = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("N", 2, 2)
    entries = [[[[N[l, j] if i == k else 0 for l in range(2)] for k in range(2)]
                for j in range(2)] for i in range(2)]
    return sp.ImmutableDenseNDimArray(entries)


def _examples():
    """Expressions of every kind the printer handles, as rows of one document."""
    L = (y - X * theta).T * (y - X * theta)
    a1 = F.sigmoid(W1 * x + b1)
    yhat = F.sigmoid(W2 * a1 + b2)
    nt = Notation(names={"theta": r"\boldsymbol{\theta}"})
    rows = [
        (partial(sp.Symbol("L"), theta, nt), latex(-2 * X.T * (y - X * theta), nt)),
        (partial(sp.Symbol("L"), x), latex((A + A.T) * x)),
        (partial(sp.log(sp.Determinant(A)), A), latex(sp.Inverse(A).T)),
        (r"\mathbf{a}", latex(a1) + r" \quad " + r"\mathbf{a} " + shape_latex(a1.shape)),
        (r"\boldsymbol{\delta}", latex(sp.HadamardProduct(W2.T * t, F.elementwise(
            F.Sigmoid(E) * (1 - F.Sigmoid(E)), W1 * x + b1)))),
        (r"\mathbf{g}", latex(F.softmax(z) - sp.MatrixSymbol("y", h, 1))),
        (r"\mathbf{J}", latex(sp.DiagMatrix(F.elementwise(
            F.Sigmoid(E) * (1 - F.Sigmoid(E)), z)) * W1)),
        (r"\mathbf{r}", latex(F.step(z)) + r" \odot " + latex(F.leaky_relu(z))),
        ("L", latex(F.bce(F.sigmoid(W2 * sp.MatrixSymbol("a", h, 1) + b2), t))),
        ("L", latex(sp.Rational(1, 2) * F.norm2(X * theta - y) + F.frobenius2(A) / n)),
        (r"\hat{\boldsymbol{\theta}}", latex((X.T * X).I * X.T * y)),
        ("K", latex(sp.KroneckerProduct(A.T, sp.Identity(n)))),
        ("s", latex(sp.Trace(A * x * x.T) + sp.log(sp.Determinant(A)))),
        ("m", latex(F.logsumexp(z))),
        ("e", latex(F.elementwise(1 - sp.tanh(E) ** 2, z))),
        (partial(sp.MatrixSymbol("Y", 2, 2), sp.MatrixSymbol("M", 2, 2)), latex(_array())),
    ]
    graph = picture_graph(F.bce(yhat, t), parameters=[W1, b1, W2, b2], output="L")
    graph_ls = picture_graph(L, parameters=[theta], output="L", notation=nt)
    return align(rows) + "\n\n" + graph + "\n\n" + graph_ls


@pytest.mark.latex
@needs_latex
def test_standalone_document_compiles(tmp_path):
    tex = tmp_path / "examples.tex"
    tex.write_text(standalone(_examples(), title="symcalc notation"))
    pdf = compile_pdf(tex)
    assert pdf.is_file() and pdf.stat().st_size > 1000
    log = tex.with_suffix(".log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log


@pytest.mark.latex
@needs_latex
def test_broken_document_reports_the_tex_error(tmp_path):
    tex = tmp_path / "broken.tex"
    tex.write_text(standalone(r"$\undefinedmacro x$"))
    with pytest.raises(LatexError, match=r"! Undefined control sequence"):
        compile_pdf(tex)
