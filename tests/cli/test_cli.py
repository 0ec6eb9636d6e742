"""The command line as a user runs it: every subcommand, every documented error, injection payloads."""
import shutil
import subprocess
import sys

import pytest

from symcalc.cli import EXAMPLES, main

LS = ["(y - X*theta).T*(y - X*theta)", "--shape", "X=n,d", "--shape", "y=n", "--shape", "theta=d",
      "--wrt", "theta"]
QUAD = ["x.T*A*x", "--shape", "x=n", "--shape", "A=n,n", "--wrt", "x"]
LOGISTIC = ["bce(sigmoid(X*w), y)", "--shape", "X=n,d", "--shape", "w=d", "--shape", "y=n", "--wrt", "w"]


def run(*args, cwd=None):
    """``python -m symcalc ARGS`` in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "symcalc", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def run_inline(argv, capsys):
    """main(argv) in this process (for the long error table): (status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's own exits (usage errors, --help)
        status = e.code
    out = capsys.readouterr()
    return status, out.out, out.err


# ---------------------------------------------------------------------- every subcommand

def test_derive_text_with_check():
    r = run("derive", *LS, "--check")
    assert r.returncode == 0, r.stderr
    assert "-2*X.T*(y - X*theta)" in r.stdout
    assert "(X.T*X)^-1*X.T*y" in r.stdout
    assert "numeric check: OK" in r.stdout and "steps hold" in r.stdout


def test_derive_formats_and_layouts(tmp_path):
    r = run("derive", *LS, "--layout", "numerator", "--style", "differential", "--format", "latex")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("\\begin{align*}") and "Numerator layout" in r.stdout
    r = run("derive", *QUAD, "--symmetric", "A", "--format", "markdown")
    assert r.returncode == 0, r.stderr
    assert "$$" in r.stdout and r"2 \mathbf{A} \mathbf{x}" in r.stdout
    out = tmp_path / "ls.tex"
    r = run("derive", *LS, "--standalone", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    tex = out.read_text()
    assert tex.startswith("\\documentclass") and "\\end{document}" in tex


def test_derive_vec(capsys):
    argv = ["derive", "A*X*B", "--shape", "A=m,n", "--shape", "X=n,p", "--shape", "B=p,q", "--wrt", "X",
            "--vec", "--check"]
    status, out, err = run_inline(argv + ["--layout", "numerator"], capsys)
    assert status == 0, err
    assert out.startswith("dvec(A*X*B)/dvec(X)^T = B.T ⊗ A") and "numeric check: OK" in out
    status, out, err = run_inline(argv + ["--format", "latex"], capsys)
    assert status == 0, err
    assert r"\operatorname{vec}(\mathbf{X})}" in out and r"\otimes" in out


def test_net():
    r = run("net", "linear(d,h) sigmoid linear(h,1) sigmoid", "--loss", "bce", "--check")
    assert r.returncode == 0, r.stderr
    assert "delta2 = a2 - y" in r.stdout and "dL/dW1 = delta1*x.T" in r.stdout
    assert "steps hold" in r.stdout
    r = run("net", "linear(d,h) relu linear(h,k) softmax", "--loss", "cross_entropy", "--batch", "rows",
            "--layout", "numerator", "--format", "latex")
    assert r.returncode == 0, r.stderr
    assert "\\begin{align*}" in r.stdout and "Numerator layout" in r.stdout


def test_verify_exit_status():
    wrong = run("verify", *QUAD, "--claim", "2*A*x")
    assert wrong.returncode == 1, wrong.stderr
    assert wrong.stdout.startswith("WRONG") and "symmetric" in wrong.stdout
    assert "counterexample" in wrong.stdout
    right = run("verify", *QUAD, "--claim", "(A + A.T)*x")
    assert right.returncode == 0 and right.stdout.startswith("CORRECT")
    layout = run("verify", *LS, "--claim", "-2*X.T*(y - X*theta)", "--layout", "numerator")
    assert layout.returncode == 1 and layout.stdout.startswith("WRONG")


def test_hessian():
    r = run("hessian", *LOGISTIC, "--check")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("d2L/dw dw^T = X.T*") and "shape: d x d" in r.stdout
    assert "Hessian check: OK" in r.stdout and "gradient check: OK" in r.stdout
    r = run("hessian", *QUAD, "--format", "latex")
    assert r.returncode == 0 and r"\mathbf{A} + \mathbf{A}^{\top}" in r.stdout


@pytest.mark.parametrize("argv, first", [
    (["a*b**3", "--scalar", "a,b", "--wrt", "b"], "d2L/db^2 = 6*a*b"),
    (["x.T*A*y", "--shape", "x=n", "--shape", "A=n,m", "--shape", "y=m", "--wrt", "x", "--wrt2", "y"],
     "d2L/dx dy^T = A"),
])
def test_hessian_scalar_and_mixed_are_checked(argv, first, capsys):
    status, out, err = run_inline(["hessian", *argv, "--check"], capsys)
    assert status == 0, err
    assert out.startswith(first) and "Hessian check: OK" in out


def test_solve():
    r = run("solve", *LS)
    assert r.returncode == 0, r.stderr
    assert "theta* = (X.T*X)^-1*X.T*y" in r.stdout and "minimum" in r.stdout
    assert "np.linalg.lstsq" in r.stdout
    r = run("solve", "norm2(y - X*w) + lam*norm2(w)", "--shape", "X=n,d", "--shape", "y=n",
            "--shape", "w=d", "--positive", "lam", "--wrt", "w", "--format", "markdown",
            "--tex", r"lam=\lambda")
    assert r.returncode == 0, r.stderr
    assert r"\hat{\mathbf{w}}" in r.stdout and "positive definite" in r.stdout
    assert r"(\lambda \mathbf{I} + \mathbf{X}^{\top} \mathbf{X})^{-1}" in r.stdout


def test_demo_and_console_script():
    r = run("demo")
    assert r.returncode == 0, r.stderr
    assert "-2*X.T*(y - X*theta)" in r.stdout and r.stdout.count(": OK") == 2
    script = shutil.which("symcalc")
    if script is None:
        pytest.skip("the console script is not installed (pip install -e .)")
    r = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("symcalc ")


def test_help_shows_examples_for_every_subcommand(capsys):
    r = run("--help")
    assert r.returncode == 0
    for name in ("derive", "net", "verify", "hessian", "solve", "notes", "demo"):
        assert f"\n{name}:\n  symcalc {name}" in r.stdout
    for name in EXAMPLES:
        status, out, _ = run_inline([name, "--help"], capsys)
        assert status == 0 and "examples:" in out and f"symcalc {name}" in out


def test_notes_tex_only(tmp_path):
    r = run("notes", "--out", str(tmp_path / "book"), "--no-pdf", "--no-check")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sum(line.startswith("[") for line in lines) == 8  # one progress line per derivation
    assert f"to {tmp_path / 'book'}/" in lines[-1]
    files = sorted(p.name for p in (tmp_path / "book").glob("*.tex"))
    assert len(files) == 7 and "symcalc-notes.tex" in files
    booklet = (tmp_path / "book" / "symcalc-notes.tex").read_text()
    for words in ("Least squares", "Ridge", "Logistic regression", "both layouts", "Softmax",
                  "1-2-3-1", "0.7739", "-0.2261"):
        assert words in booklet


@pytest.mark.latex
def test_notes_compiles_a_pdf(tmp_path):
    if shutil.which("latexmk") is None:
        pytest.skip("latexmk is not installed")
    r = run("notes", cwd=tmp_path)  # default folder: ./notes
    assert r.returncode == 0, r.stderr
    pdf = tmp_path / "notes" / "symcalc-notes.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    assert f"wrote {pdf}" in r.stdout or "wrote notes/symcalc-notes.pdf" in r.stdout
    assert "steps" in r.stdout and "checked" in r.stdout
    from symcalc.printing import compile_pdf  # every chapter is a document of its own too
    assert compile_pdf(tmp_path / "notes" / "06-worked-1-2-3-1.tex").is_file()


# ---------------------------------------------------------------------- errors: one line, status 2

ERRORS = [
    (["derive", "X*X", "--shape", "X=n,d", "--wrt", "X"], "X is n x d and X is n x d"),
    (["derive", "x + X", "--shape", "x=n", "--shape", "X=n,d", "--wrt", "x"], "a sum needs equal shapes"),
    (["derive", "z + 1", "--shape", "x=n", "--wrt", "x"], "undeclared name 'z'"),
    (["derive", "foo(x)", "--shape", "x=n", "--wrt", "x"], "unknown function 'foo'"),
    (["derive", "x +* x", "--shape", "x=n", "--wrt", "x"], "column 4: syntax error"),
    (["derive", "x.T*x", "--shape", "x=n", "--wrt", "y"], "--wrt 'y' is not declared"),
    (["derive", "x.T*x", "--shape", "x=n", "--wrt", "n"], "is a size"),
    (["derive", "x.T*x", "--shape", "x", "--wrt", "x"], "NAME=ROWS,COLS"),
    (["derive", "x.T*x", "--shape", "x=n", "--shape", "x=n", "--wrt", "x"], "given twice"),
    (["derive", "x.T*x", "--shape", "lambda=n", "--wrt", "lambda"], "reserved"),
    (["derive", "x.T*x", "--shape", "x=n", "--scalar", "x", "--wrt", "x"], "also a matrix"),
    (["derive", "tr(X)", "--shape", "X=n,d", "--wrt", "X"], "square"),
    (["derive", "x.T*A*x", "--shape", "x=n", "--shape", "A=n,d", "--symmetric", "A", "--wrt", "x"],
     "not square"),
    (["derive", "x.T*x", "--shape", "x=n", "--wrt", "x", "--pdf"], "--standalone --out"),
    (["derive", "x.T*x", "--shape", "x=n", "--wrt", "x", "--tex", "z=1"], "--tex 'z=1'"),
    (["derive", "x.T*x", "--shape", "x=n", "--wrt", "x", "--layout", "sideways"], "invalid choice"),
    (["derive", "x.T*x", "--shape", "x=n"], "--wrt"),
    (["derive", "a*b", "--scalar", "a,b", "--wrt", "a", "--style", "index"], "index"),
    (["net", "linear(d,h) sigmoid", "--loss", "hinge"], "unknown loss 'hinge'"),
    (["net", "linear(d,h) swish", "--loss", "bce"], "unknown layer 'swish'"),
    (["net", "linear(d) sigmoid", "--loss", "bce"], "linear takes"),
    (["net", "linear(d,h) linear(k,1) sigmoid", "--loss", "bce"], "takes k inputs"),
    (["net", "sigmoid linear(d,1)", "--loss", "bce"], "before any Linear layer"),
    (["net", "linear(d,h) sigmoid sigmoid", "--loss", "bce"], "follows another activation"),
    (["net", "", "--loss", "bce"], "no layers"),
    (["net", "linear(d,1) sigmoid;", "--loss", "bce"], "cannot read a layer"),
    (["verify", "x.T*x", "--shape", "x=n", "--wrt", "x", "--claim", "2*x*x"], "x is n x 1 and x is n x 1"),
    (["verify", "x.T*x", "--shape", "x=n", "--wrt", "x"], "--claim"),
    (["solve", "sum(sigmoid(X*w))", "--shape", "X=n,d", "--shape", "w=d", "--wrt", "w"], "no closed form"),
    (["hessian", "x", "--shape", "x=n", "--wrt", "x"], "scalar"),
    (["nope"], "invalid choice"),
    ([], "required"),
]


@pytest.mark.parametrize("argv, words", ERRORS, ids=[" ".join(a)[:40] for a, _ in ERRORS])
def test_errors_are_one_line_with_status_2(argv, words, capsys):
    status, out, err = run_inline(argv, capsys)
    assert status == 2
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("symcalc") and words in err
    assert "Traceback" not in err and out == ""


def test_errors_in_a_subprocess():
    r = run("derive", "X*X", "--shape", "X=n,d", "--wrt", "X")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("symcalc derive: error: column 2: a matrix product needs columns of the left = "
                        "rows of the right in X*X: X is n x d and X is n x d\n")
    r = run("derive", "x", "--shape", "x=n", "--wrt", "x", "--bogus")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--bogus" in r.stderr


# ---------------------------------------------------------------------- injection

PAYLOADS = [
    "__import__('os').system('touch pwned')",
    "__import__('os').system('touch pwned') + x",
    "x.__class__.__init__.__globals__['os'].system('touch pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('pwned', 'w')",
    "exec(\"open('pwned', 'w')\")",
    "eval(\"open('pwned', 'w')\")",
    "(lambda: open('pwned', 'w'))()",
    "[open('pwned', 'w') for _ in x]",
    "x if open('pwned', 'w') else x",
    "sigmoid(x, key=open('pwned', 'w'))",
    "x[open('pwned', 'w'), 0]",
    "(x := open('pwned', 'w'))",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_is_a_parse_error_and_runs_nothing(payload, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (["derive", payload, "--shape", "x=n", "--wrt", "x"],
                 ["verify", "x.T*x", "--shape", "x=n", "--wrt", "x", "--claim", payload]):
        status, out, err = run_inline(argv, capsys)
        assert status == 2 and "error: column" in err and err.count("\n") == 1, err
    assert not (tmp_path / "pwned").exists()


def test_injection_in_declarations_and_layers(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = "__import__('os').system('touch pwned')"
    for argv in (["derive", "x", "--shape", f"{bad}=n", "--wrt", "x"],
                 ["derive", "x", "--shape", f"x={bad},1", "--wrt", "x"],
                 ["derive", "x", "--shape", "x=n", "--scalar", bad, "--wrt", "x"],
                 ["derive", "x.T*x", "--shape", "x=n", "--wrt", bad],
                 ["net", f"linear({bad},1) sigmoid", "--loss", "bce"]):
        status, _, err = run_inline(argv, capsys)
        assert status == 2 and err.count("\n") == 1 and "internal error" not in err, (argv, err)
    r = run("derive", bad, "--shape", "x=n", "--wrt", "x", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert not (tmp_path / "pwned").exists()


def _help_examples():
    """Every example command in the --help epilogs: (argv, expected status)."""
    import re
    import shlex
    out = []
    for text in EXAMPLES.values():
        text = text.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.strip()
            if not line.startswith("symcalc "):
                continue
            status = 1 if "exit 1" in line else 0
            line = re.sub(r"\s+\([^()]*\)\s*$", "", line)  # a trailing (remark)
            argv = shlex.split(line)[1:]
            if argv[0] != "notes" and "--file" not in argv:  # the booklet has its own tests
                out.append((argv, status))
    return out


@pytest.mark.parametrize("argv, status", _help_examples(), ids=lambda v: " ".join(v)[:50] if isinstance(v, list) else None)
def test_every_help_example_runs(argv, status, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "--pdf" in argv and shutil.which("latexmk") is None:
        pytest.skip("latexmk is not installed")
    got, out, err = run_inline(argv, capsys)
    assert got == status, err
    assert err == "" and out
