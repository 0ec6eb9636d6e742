"""Scalar identities derived rule by rule, and an author's chain of equalities checked line by line."""
import shutil

import pytest
import sympy as sp

import symcalc as sc
from symcalc.cli import main
from symcalc.derivation import equalities
from symcalc.printing import text

b, s = sp.symbols("b s", real=True)
E = sp.exp(-b)
U = sp.Add(E, 1, evaluate=False)


def lecture13(wrong=None):
    """CMU 10-601 lecture 13, 'Derivative of a Sigmoid', lines (1)-(9) as the slide writes them."""
    lines = [
        sp.Derivative(1 / (1 + sp.exp(-b)), b),
        (E / U**2, "chain rule"),
        (sp.Add(E, 1, -1, evaluate=False) / sp.Add(E, 1, 1, -1, evaluate=False) ** 2, "add and subtract 1"),
        (sp.Add(E, 1, -1, evaluate=False) / U**2, "1 - 1 = 0"),
        (sp.Add(U / U**2, -1 / U**2, evaluate=False), "split the fraction"),
        (sp.Add(1 / U, -1 / U**2, evaluate=False), "cancel"),
        (sp.Add(1 / U, -sp.Mul(1 / U, 1 / U, evaluate=False), evaluate=False), "a square is a product"),
        (sp.Mul(1 / U, 1 - 1 / U, evaluate=False), "factor out 1/(1 + e^{-b})"),
        (s * (1 - s), "s = 1/(1 + e^{-b})"),
    ]
    if wrong is not None:
        lines[wrong] = (sp.Add(1 / U, -1 / U**3, evaluate=False), "cancel, with a slip")
    return equalities(lines, definitions={s: 1 / (1 + sp.exp(-b))})


def test_lecture_13_nine_lines_hold():
    chain = lecture13()
    report = chain.check()
    assert report.ok and report.first_false is None, str(report)
    assert len(report.results) == 8
    tex = chain.latex()
    assert tex.count(r"\\") >= 8 and "split the fraction" in tex and "FALSE" not in tex


def test_a_wrong_line_is_pointed_at_with_a_counterexample():
    chain = lecture13(wrong=5)
    report = chain.check()
    assert not report.ok and report.first_false == 6
    assert set(report.counterexample) == {"b"}
    left, right = report.results[4].sides
    assert abs(left - right) > 1e-3
    assert "line 6 is the first false line" in str(report)
    assert "FALSE" in chain.latex() and "FALSE" in chain.markdown()


def test_slides_sigma_prime_chain_holds():
    """CPE 486 slides: d/dz (1 + e^{-z})^{-1} = … = σ(z)[1 − σ(z)]."""
    z = sp.Symbol("z", real=True)
    u = sp.Add(1, sp.exp(-z), evaluate=False)
    chain = equalities([
        sp.Derivative(sp.Pow(u, -1, evaluate=False), z),
        (sp.Mul(-1, sp.Pow(u, -2, evaluate=False), -sp.exp(-z), evaluate=False), "chain rule"),
        (sp.exp(-z) / u**2, "simplify"),
        (sp.Mul(1 / u, sp.exp(-z) / u, evaluate=False), "split"),
        (sp.Mul(sc.sigmoid(z), 1 - 1 / u, evaluate=False), "e^{-z}/(1 + e^{-z}) = 1 - 1/(1 + e^{-z})"),
        (sc.sigmoid(z) * (1 - sc.sigmoid(z)), "definition of the sigmoid"),
    ])
    assert chain.check().ok


def test_a_matrix_chain_is_checked_numerically():
    n, d = sp.symbols("n d", integer=True, positive=True)
    X, y, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("w", d, 1)
    from symcalc.derivation import partial
    good = equalities([partial(sc.norm2(X * w - y), w), (2 * X.T * (X * w - y), "chain rule")]).check()
    assert good.ok and good.results[0].status == "numeric"
    bad = equalities([partial(sc.norm2(X * w - y), w), (2 * X * 0 * w + X.T * (X * w - y), "lost a 2")]).check()
    assert bad.first_false == 2


def test_derive_sigmoid_writes_the_rules_and_lecture_13s_rewrite():
    d = sc.derive(sc.sigmoid(b), b, name="s")
    assert d.check().ok
    rules = [st.rule for st in d.steps]
    assert any("sigmoid's definition" in r for r in rules)
    assert any(r.startswith("power rule and chain rule") for r in rules)
    assert any("add and subtract 1" in r for r in rules) and any("factor out" in r for r in rules)
    shown = [text(st.rhs) for st in d.steps]
    assert "exp(-b)/(1 + exp(-b))^2" in shown
    assert text(d.steps[-1].rhs) in ("(1 - sigmoid(b))*sigmoid(b)", "sigmoid(b)*(1 - sigmoid(b))")
    assert "ds/db" in str(d) and r"\frac{\mathrm{d} s}{\mathrm{d} b}" in d.latex()


def test_derive_scalar_functions_rule_by_rule():
    d = sc.derive(sp.log(1 + b**2) * sp.exp(b), b)
    assert d.check().ok
    assert any(st.rule.startswith("product rule") for st in d.steps)
    t = sc.derive(sp.tanh(2 * b), b)
    assert t.check().ok and any(st.rule.startswith("chain rule") for st in t.steps)


def test_cli_equalities(capsys, tmp_path):
    args = ["equalities", "d/db 1/(1 + exp(-b))", "exp(-b)/(exp(-b) + 1)**2  # chain rule",
            "(exp(-b) + 1 - 1)/(exp(-b) + 1)**2  # add and subtract 1",
            "s*(1 - s)  # s = 1/(1 + exp(-b))", "--scalar", "b", "--let", "s=1/(1 + exp(-b))"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "every line holds" in out and "(1 + exp(-b) - 1)" in out  # the line as the author wrote it
    wrong = args[:3] + ["1/(exp(-b) + 1) - 1/(exp(-b) + 1)**3  # cancel"] + args[4:]
    assert main(wrong) == 1
    out = capsys.readouterr().out
    assert "line 3 is the first false line" in out and "at b = " in out
    chain = tmp_path / "chain.txt"
    chain.write_text("d/db 1/(1 + exp(-b))\n= exp(-b)/(exp(-b) + 1)**2   # chain rule\n")
    assert main(["equalities", "--file", str(chain), "--scalar", "b", "--format", "latex"]) == 0
    assert r"\begin{align*}" in capsys.readouterr().out
    assert main(["equalities", "x", "--scalar", "x"]) == 2
    assert "at least two lines" in capsys.readouterr().err


@pytest.mark.latex
def test_chain_compiles(tmp_path):
    if not shutil.which("latexmk"):
        pytest.skip("latexmk not installed")
    chain = lecture13(wrong=5)
    chain.check()
    pdf = chain.write_tex(tmp_path / "chain.tex", compile=True)
    assert pdf.is_file()
