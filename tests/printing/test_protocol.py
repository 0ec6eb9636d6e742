"""SymPy's own printers (sp.latex, str, sp.pprint, Jupyter's display) and symcalc's classes;
KaTeX-safe _repr_latex_ of derivations; HTML representations of the result objects."""
import os
import re
import subprocess
import sys
import xml.dom.minidom

import pytest
import sympy as sp
from sympy.printing.pretty import pretty

import symcalc as sc
import symcalc.functions as F
from symcalc import nn
from symcalc.printing import compile_pdf, have_latex, standalone

n, d, h = sp.symbols("n d h", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
Z = sp.MatrixSymbol("Z", n, d)
x, alpha = sp.symbols("x alpha")

#: (object, sp.latex, str, a piece of sp.pretty)
CASES = [
    (F.Sigmoid(x), r"\sigma{\left(x \right)}", "sigmoid(x)", "σ(x)"),
    (F.Step(x), r"\mathbb{I}\left[x > 0\right]", "step(x)", "𝟙[x > 0]"),
    (F.ReLU(x), r"\operatorname{ReLU}{\left(x \right)}", "relu(x)", "ReLU(x)"),
    (F.LeakyReLU(x, alpha), r"\operatorname{LeakyReLU}_{{\alpha}}{\left(x \right)}",
     "leaky_relu(x, alpha)", "LeakyReLU(x, α)"),
    (F.Softplus(x), r"\operatorname{softplus}{\left(x \right)}", "softplus(x)", "softplus(x)"),
    (sc.sum(Z), r"\operatorname{sum}{\left(Z \right)}", "sum(Z)", "sum(Z)"),
    (sc.mean(Z), r"\operatorname{mean}{\left(Z \right)}", "mean(Z)", "mean(Z)"),
    (sc.logsumexp(y), r"\operatorname{logsumexp}{\left(y \right)}", "logsumexp(y)", "logsumexp(y)"),
    (sc.softmax(y), r"\operatorname{softmax}{\left(y \right)}", "softmax(y)", "softmax(y)"),
    (sc.norm2(y), r"\left\lVert y \right\rVert_{2}^{2}", "norm2(y)", "‖y‖₂"),
    (sc.frobenius2(Z), r"\left\lVert Z \right\rVert_{F}^{2}", "frobenius2(Z)", "‖Z‖_F"),
    (sc.SymmetricMatrix("S", n), "S", "S", "S"),
    (sc.OneHot("Y", n, d), "Y", "Y", "Y"),
]


@pytest.mark.parametrize("obj, tex, text, art", CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_sympy_printers_give_lecture_notation(obj, tex, text, art):
    assert sp.latex(obj) == tex
    assert str(obj) == text
    assert art in pretty(obj, use_unicode=True)
    assert obj._repr_latex_() == r"$\displaystyle %s$" % tex
    pretty(obj, use_unicode=False)  # ASCII terminals too


def test_symcalcs_own_printers_are_unchanged_by_the_protocol():
    assert sc.latex(sc.norm2(y)) == r"\lVert \mathbf{y} \rVert_{2}^{2}"
    assert sc.latex(sc.sigmoid(X * theta)) == r"\sigma(\mathbf{X} \boldsymbol{\theta})"
    assert sc.latex(F.Step(x)) == r"\mathbb{1}[x > 0]"
    assert sc.text(sc.sum(sc.sigmoid(X * theta))) == "sum(sigmoid(X*theta))"
    assert sc.text(sc.mean(sp.MatrixSymbol("a", 1, 1))) == "a"


def test_the_issues_examples_print_without_class_names():
    g = sc.diff(sc.norm2(y) ** 2, y)
    assert "Squared" not in sp.latex(g) and r"\left\lVert y \right\rVert" in sp.latex(g)
    grad = sc.diff(sc.bce(sc.sigmoid(X * theta), y), theta)
    for out in (sp.latex(grad), str(grad), pretty(grad)):
        assert "Sigmoid" not in out and "EntrySum" not in out
    assert r"\sigma" in sp.latex(grad) and "σ" in pretty(grad)
    assert sp.latex(F.Sigmoid(x) ** 2) == r"\sigma^{2}{\left(x \right)}"


def test_a_foreign_printers_settings_reach_inside():
    assert sp.latex(sc.norm2(y), mat_symbol_style="bold") == r"\left\lVert \mathbf{y} \right\rVert_{2}^{2}"


def test_the_protocol_holds_whatever_is_imported_first():
    """Importing one module of symcalc installs the protocol and the HTML representations (a lazy
    ``import symcalc`` must keep doing so)."""
    code = ("import sympy as sp, symcalc.functions as F; from symcalc.numeric.check import CheckReport;"
            "print(sp.latex(F.Sigmoid(sp.Symbol('x'))), hasattr(CheckReport, '_repr_html_'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.split() == [r"\sigma{\left(x", r"\right)}", "True"]


def test_init_printing_shows_whole_expressions_in_symcalcs_notation(capsys):
    hook = sys.displayhook
    try:
        sc.init_printing()
        sys.displayhook(sc.diff(sc.bce(sc.sigmoid(X * theta), y), theta))
    finally:
        sys.displayhook = hook
        sp.init_printing(pretty_print=True, use_unicode=None, no_global=False)
        from sympy.printing.printer import Printer
        Printer.set_global_settings(order=None, use_unicode=None, wrap_line=None, num_columns=None)
    assert capsys.readouterr().out.strip() == "X.T*(sigmoid(X*theta) - y)"


# ---------------------------------------------------------------------- derivations in notebooks

#: macros KaTeX and MathJax both know (and amsmath/amssymb): what _repr_latex_ may use
SAFE = set(r"""\begin \end \text \textbf \mathbf \boldsymbol \mathbb \operatorname \frac \tfrac \partial
\top \odot \oslash \otimes \in \times \sigma \theta \delta \Delta \lambda \alpha \log \exp \tanh
\lVert \rVert \left \right \sum \sqrt \cdot \triangleq \mathrm \det \circ \hat \tilde \quad
\Rightarrow \neq \leq \geq \to \varepsilon \mu \beta \Sigma \ldots \dots \qquad""".split())


def _derivations():
    L = (y - X * theta).T * (y - X * theta)
    net = nn.Network([nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 1), nn.Sigmoid()], loss="bce")
    out = [sc.derive(L, theta, layout=layout, style=style)
           for layout in ("numerator", "denominator") for style in ("chain", "differential")]
    out.append(sc.derive(sc.mse(sc.relu(X * theta), y), theta, layout="numerator"))
    out += [net.backprop(layout).derivation for layout in ("numerator", "denominator")]
    return out


@pytest.fixture(scope="module")
def derivations():
    return _derivations()


def test_repr_latex_uses_only_katex_safe_macros(derivations):
    for der in derivations:
        for s in (der._repr_latex_(), der._repr_markdown_()):
            assert r"\mathbb{1}" not in s, "KaTeX and MathJax fonts have no blackboard one"
            for body in re.findall(r"\\text(?:bf)?\{([^{}]*)\}", s):
                assert "$" not in body and "\\" not in body, body
            unknown = set(re.findall(r"\\[A-Za-z]+", s)) - SAFE
            assert not unknown, unknown


@pytest.mark.latex
@pytest.mark.skipif(not have_latex() and not os.environ.get("CI"), reason="needs latexmk (CI has it)")
def test_repr_latex_compiles_in_a_minimal_document(tmp_path, derivations):
    """What nbconvert --to pdf does with a cell's text/latex: a document with amsmath and amssymb."""
    body = "\n\n".join(der._repr_latex_() for der in derivations)
    tex = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n%s\n"
           "\\end{document}\n" % body)
    path = tmp_path / "repr.tex"
    path.write_text(tex, encoding="utf-8")
    compile_pdf(path)
    assert standalone  # the booklet's preamble is not needed


# ---------------------------------------------------------------------- HTML representations

def _valid(html):
    xml.dom.minidom.parseString(html)  # well-formed: MathML is XML
    return html


def test_reports_verdicts_closed_forms_and_graphs_have_html():
    L = (y - X * theta).T * (y - X * theta)
    report = _valid(sc.check(L, theta)._repr_html_())
    assert "OK" in report and "max relative error" in report
    steps = _valid(sc.derive(L, theta).check()._repr_html_())
    assert "all steps hold" in steps and "<math" in steps
    v = sc.verify(-2 * X.T * (y - X * theta), L, theta, layout="numerator")
    verdict = _valid(v._repr_html_())
    assert "WRONG" in verdict and "transpose" in verdict and "<math" in verdict
    cf = _valid(sc.solve_stationary(L, theta)._repr_html_())
    assert "minimum" in cf and "<math" in cf
    g = nn.computation_graph("def f(x, w):\n    z = w * x\n    return sp.log(1 + sp.exp(-z))\n")
    graph = _valid(g._repr_html_())
    assert "forward" in graph and "backward" in graph and "<svg" in graph and 'class="box"' in graph
    from symcalc.printing import computation_graph
    figure = _valid(computation_graph(L, parameters=[theta])._repr_html_())
    assert figure.count('class="box"') >= 5 and "<svg" in figure
