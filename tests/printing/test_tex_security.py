r"""User text that reaches TeX cannot read or write files or run commands (issue 16).

``--tex 'x=\input{/etc/hostname}' --standalone --out f.tex --pdf`` once put the file's contents into
the PDF. User LaTeX (``--tex`` values, Notation names and marks, math in prose) is allow-listed,
symbol names are escaped, and TeX itself runs with -no-shell-escape and paranoid file access.
"""
import os
import shutil
import subprocess

import pytest
import sympy as sp

import symcalc as sc
from symcalc.cli import main
from symcalc.derivation.core import tex_text
from symcalc.printing import LatexError, Notation, NotationError, compile_pdf, have_latex
from symcalc.printing.document import standalone, tex_problem

needs_latex = pytest.mark.skipif(
    not have_latex() and not os.environ.get("CI"),
    reason="latexmk/pdflatex not installed (CI installs them and then this test must run)")

ATTACKS = {
    "input": r"\input{/etc/hostname}",
    "include": r"\include{/etc/hostname}",
    "openout": r"\immediate\openout1=pwned.tex\immediate\write1{x}\immediate\closeout1",
    "write18": r"\immediate\write18{touch pwned}",
    "read": r"\newread\r\openin\r=/etc/hostname\read\r to\x\x",
    "catcode": r"\catcode`\@=0 @input{/etc/hostname}",
    "char code": r"x^^5cinput{/etc/hostname}",
    "csname": r"\csname input\endcsname{/etc/hostname}",
    "pdffiledump": r"\pdffiledump length 40 {/etc/hostname}",
    "def": r"\def\x{\input}\x{/etc/hostname}",
    "comment": r"x % \end{align*}",
    "unbalanced": r"x}\input{/etc/hostname}{",
}

N = sp.Symbol("n", integer=True, positive=True)
X = sp.MatrixSymbol("x", N, 1)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_command_line_refuses_tex_that_is_not_allow_listed(attack, tmp_path, capsys):
    out = tmp_path / "f.tex"
    status = main(["derive", "x.T*x", "--shape", "x=n", "--wrt", "x", "--tex",
                   f"x={ATTACKS[attack]}", "--standalone", "--out", str(out)])
    assert status == 2
    assert "--tex x" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_notation_refuses_tex_that_is_not_allow_listed(attack):
    with pytest.raises(NotationError):
        Notation(names={"x": ATTACKS[attack]})
    with pytest.raises(NotationError):
        Notation(transpose=ATTACKS[attack])


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_symbol_name_is_set_literally(attack):
    tex = sc.latex(sp.MatrixSymbol(ATTACKS[attack], 2, 1) + sp.MatrixSymbol("y", 2, 1))
    assert tex_problem(tex) is None, tex
    assert tex_problem(sc.latex(sp.Symbol(ATTACKS[attack]))) is None


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_math_in_prose_is_allow_listed(attack):
    assert tex_problem(tex_text(f"a note ${ATTACKS[attack]}$ here")) is None


def test_course_notation_still_works():
    for tex in (r"\lambda", r"\boldsymbol{\theta}", r"\mathbf{W}^{(1)}", r"\hat{\mathbf{y}}",
                r"\mathcal{L}_{\text{train}}", r"\tilde{x}_{i,j}", r"\operatorname{ReLU}"):
        assert Notation(names={"x": tex}).names["x"] == tex


@pytest.mark.latex
@needs_latex
@pytest.mark.parametrize("attack", ["input", "include", "openout", "write18", "read", "catcode",
                                    "pdffiledump"])
def test_tex_itself_cannot_read_write_or_run(attack, tmp_path):
    """A document written by hand with the attack still cannot leak /etc/hostname into the PDF,
    write outside its folder, or run a command."""
    work = tmp_path / "doc"
    work.mkdir()
    body = ATTACKS[attack].replace("pwned.tex", "../pwned.tex")
    doc = work / "attack.tex"
    doc.write_text(standalone(f"before {body} after"))
    secret = open("/etc/hostname").read().strip()
    try:
        pdf = compile_pdf(doc, timeout=120)
    except LatexError:
        pdf = None
    if pdf is not None and shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert secret not in text.replace("\n", "")
    assert not (tmp_path / "pwned.tex").exists() and not (work / "pwned").exists()
    assert not (tmp_path / "pwned").exists()


@pytest.mark.latex
@needs_latex
def test_the_pdf_of_a_derivation_with_course_notation_compiles(tmp_path):
    out = tmp_path / "ls.tex"
    status = main(["derive", "x.T*x", "--shape", "x=n", "--wrt", "x", "--tex",
                   r"x=\boldsymbol{\xi}", "--standalone", "--out", str(out), "--pdf"])
    assert status == 0 and out.with_suffix(".pdf").exists()
    assert r"\boldsymbol{\xi}" in out.read_text()
