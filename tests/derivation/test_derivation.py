"""Derivations: golden LaTeX, no false step, standalone documents that compile, bad input."""
import os
import shutil
from pathlib import Path

import pytest
import sympy as sp

import symcalc as sc
from symcalc.derivation import DEFINITION, Derivation, Step, derive, partial
from symcalc.errors import LayoutError, UnsupportedError
from symcalc.printing import Notation, NotationError

from examples import CASES, examples

GOLDEN = Path(__file__).parent / "golden"
EX = examples()
PARAMS = [(name, style, layout) for name, style in CASES for layout in ("denominator", "numerator")]


def _derive(name, style, layout):
    expr, wrt, _ = EX[name]
    return derive(expr, wrt, layout=layout, style=style)


@pytest.mark.parametrize("name,style,layout", PARAMS)
def test_golden_latex(name, style, layout):
    tex = _derive(name, style, layout).latex()
    assert tex + "\n" == (GOLDEN / f"{name}-{style}-{layout}.tex").read_text()


@pytest.mark.parametrize("name,style,layout", PARAMS)
def test_no_false_step(name, style, layout):
    d = _derive(name, style, layout)
    report = d.check(sizes=EX[name][2], seed=1)
    assert report.ok, str(report)
    assert len(report.results) == len(d.steps)


def test_the_check_catches_a_false_step():
    expr, wrt, sizes = EX["least_squares"]
    d = derive(expr, wrt)
    wrong = Step("transposed by mistake", partial(d.output, wrt), 2 * sp.MatrixSymbol("X", *wrt.shape[::-1]).T)
    bad = Derivation.from_steps("wrong", d.steps[:2] + [Step("sign error", d.steps[-4].lhs, -d.steps[-4].rhs)],
                                "denominator", None)
    assert not bad.check(sizes=sizes)
    assert "differ" in str(bad.check(sizes=sizes))
    assert wrong.shape == (wrt.rows, 1)


def test_least_squares_reads_like_the_notes():
    d = _derive("least_squares", "chain", "denominator")
    tex = d.latex()
    assert r"\mathbf{u} &= \mathbf{y} - \mathbf{X} \boldsymbol{\theta}" in tex
    assert r"L &= \mathbf{u}^{\top} \mathbf{u}" in tex
    assert "Denominator layout" in tex
    assert r"\hat{\boldsymbol{\theta}} &= (\mathbf{X}^{\top} \mathbf{X})^{-1} \mathbf{X}^{\top} \mathbf{y}" in tex
    assert str(d.result) == "-2*X.T*(-X*theta + y)"
    # numerator layout multiplies from the output: dL/du du/dtheta
    num = _derive("least_squares", "chain", "numerator").latex()
    assert (r"\frac{\partial L}{\partial \mathbf{u}} \frac{\partial \mathbf{u}}{\partial \boldsymbol{\theta}}"
            in num)


def test_differential_identification():
    tex = _derive("least_squares", "differential", "denominator").latex()
    assert r"\mathrm{d}L &= 2 \mathbf{u}^{\top} \mathrm{d}\mathbf{u}" in tex
    assert r"-2 (\mathbf{y} - \mathbf{X} \boldsymbol{\theta})^{\top} \mathbf{X} \mathrm{d}\boldsymbol{\theta}" in tex


def test_index_style_single_element():
    tex = _derive("Ax", "index", "numerator").latex()
    assert r"\sum_{k} A_{ik} x_{k}" in tex
    assert r"&= A_{ij}" in tex
    assert r"&= \mathbf{A} &&" in tex
    den = _derive("Ax", "index", "denominator").latex()
    assert r"&= A_{ji}" in den and r"&= \mathbf{A}^{\top} &&" in den


def test_outputs_markdown_text_jupyter():
    d = _derive("least_squares", "chain", "denominator")
    md = d.markdown()
    assert md.count("$$") % 2 == 0 and r"\begin{aligned}" in md and r"\intertext" not in md
    assert d._repr_markdown_() == md
    jupyter = d._repr_latex_()  # the title and layout as text, then one aligned display per section
    assert jupyter.startswith("The derivative $") and jupyter.count("$$") == 2 * len(d._sections())
    assert r"$$\begin{aligned}" in jupyter and r"\intertext" not in jupyter
    text = str(d)
    assert "u = y - X*theta" in text or "u = y - X theta" in text.replace("*", " ")
    assert "Denominator layout" in text


def test_notation_renames_and_checks_symbols():
    expr, wrt, _ = EX["least_squares"]
    d = derive(expr, wrt, notation=Notation(names={"theta": r"\boldsymbol{w}"}))
    assert r"{\partial \boldsymbol{w}}" in d.latex() and r"\mathbf{X} \boldsymbol{w}" in d.latex()
    with pytest.raises(NotationError, match="thetta"):
        derive(expr, wrt, notation=Notation(names={"thetta": r"\vartheta"}))


def test_bad_input_errors():
    C = sp.MatrixSymbol("C", 3, 3)
    X = sp.MatrixSymbol("X", 3, 2)
    with pytest.raises(UnsupportedError, match="index .*does not apply.*Styles that apply"):
        derive(C * X, X, style="index")
    with pytest.raises(UnsupportedError, match="style is one of"):
        derive(*EX["least_squares"][:2], style="magic")
    with pytest.raises(LayoutError):
        derive(*EX["least_squares"][:2], layout="mixed")
    with pytest.raises(UnsupportedError, match="does not depend"):
        derive(sp.Trace(C), X)


def test_from_steps_for_networks():
    z = sp.MatrixSymbol("z", 3, 1)
    W = sp.MatrixSymbol("W", 3, 2)
    x = sp.MatrixSymbol("x", 2, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    delta = sp.MatrixSymbol("delta", 3, 1)
    steps = [Step(DEFINITION, z, W * x, section="Forward pass"),
             Step(DEFINITION, L, z.T * z, section="Forward pass"),
             Step(DEFINITION, delta, partial(L, z), section="Backward pass", relation=r"\triangleq"),
             Step("squared norm", delta, 2 * z, section="Backward pass"),
             Step("linear layer", partial(L, W), delta * x.T, section="Parameter gradients")]
    d = Derivation.from_steps("A linear layer", steps, "denominator", {W: 2 * W * x * x.T}, graph=z.T * z,
                              parameters=[W])
    assert d.check()
    assert r"\triangleq" in d.latex() and "Parameter gradients" in d.latex()
    steps[-1] = Step("wrong", partial(L, W), x * delta.T, section="Parameter gradients")
    report = Derivation.from_steps("bad", steps, "denominator", None).check()
    assert not report and "shapes" in str(report)


def _compile_needed():
    if shutil.which("latexmk") and shutil.which("pdflatex"):
        return True
    if os.environ.get("CI"):
        pytest.fail("latexmk is missing in CI")
    pytest.skip("latexmk not installed")


@pytest.mark.latex
@pytest.mark.parametrize("name,style", CASES)
def test_standalone_compiles(name, style, tmp_path):
    _compile_needed()
    d = _derive(name, style, "denominator")
    pdf = d.write_tex(tmp_path / f"{name}-{style}.tex", compile=True)
    assert pdf.is_file() and pdf.stat().st_size > 1000
    frag = d.write_tex(tmp_path / "frag.tex", standalone=False)
    assert r"\documentclass" not in frag.read_text() and r"\begin{align*}" in frag.read_text()


def test_rule_math_reads_as_unicode_in_plain_text():
    from symcalc.derivation.core import plain_words
    assert plain_words(r"linear layer: $\partial L/\partial W^{[k]} = \delta^{[k]} a^{[k-1]\top}$") \
        == "linear layer: ∂L/∂W[k] = δ[k] a[k-1]ᵀ"
    assert plain_words(r"$dL = \operatorname{tr}(A^\top dX) \Rightarrow \partial L/\partial X = A$") \
        == "dL = tr(Aᵀ dX) ⇒ ∂L/∂X = A"


def test_note_math_is_printed_in_the_derivations_notation():
    """The closed form's condition names the inverted matrix in the user's notation (λ, not lam)."""
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, y, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("w", d, 1)
    lam = sp.Symbol("lam", positive=True)
    D = derive((y - X * w).T * (y - X * w) + lam * w.T * w, w,
               notation=Notation(names={"lam": r"\lambda"}))
    last = D.latex().splitlines()[-2]
    assert r"when $\lambda \mathbf{I}" in last and "invertible" in last and "lam " not in last
    assert "lam*I + X.T*X is invertible" in str(D)


def test_closed_form_remembered_per_assumptions_in_force():
    """The stationary point solved under sp.assuming(Q.symmetric(A)) (gradient 2Ax) is not the one
    of the same objective outside it ((A + Aᵀ)x): a docs page's example once leaked into the next."""
    n = sp.Symbol("n", integer=True, positive=True)
    A, x = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1)
    with sp.assuming(sp.Q.symmetric(A)):
        assert sc.derive(x.T * A * x, x).check(sizes={n: 3}).ok
    report = sc.derive(x.T * A * x, x).check(sizes={n: 3})
    assert report.ok, str(report)
