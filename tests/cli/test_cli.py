"""The command line as a user runs it: every subcommand, every documented error, injection payloads."""
import re
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
    assert sum(line.startswith("[") for line in lines) == 15  # one progress line per derivation
    assert f"to {tmp_path / 'book'}/" in lines[-1]
    files = sorted(p.name for p in (tmp_path / "book").glob("*.tex"))
    assert len(files) == 12 and "symcalc-notes.tex" in files
    booklet = (tmp_path / "book" / "symcalc-notes.tex").read_text()
    for words in ("Least squares", "Ridge", "Logistic regression", "both layouts", "Softmax",
                  "1-2-3-1", "0.7739", "-0.2261", "Layer normalisation", "convolution",
                  "self-attention", "transformer block"):
        assert words in booklet


def test_notes_without_tex_writes_markdown_and_an_offline_html_booklet(tmp_path):
    """No latexmk on PATH: the Markdown and HTML booklets, and one line on what TeX would add."""
    import os
    env = {"PATH": os.path.dirname(sys.executable)}  # python only: no latexmk, no pdflatex
    r = run_env("notes", "--out", "book", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8").splitlines()
    tex_line = [line for line in out if line.startswith("no TeX")]
    assert len(tex_line) == 1 and "TeX adds" in tex_line[0] and "apt-get install" in tex_line[0]
    book = tmp_path / "book"
    assert not (book / "symcalc-notes.pdf").exists()
    md = (book / "symcalc-notes.md").read_text(encoding="utf-8")
    assert md.startswith("# symcalc") and "$$\n\\begin{aligned}" in md and "\\mathbb{1}" not in md
    html = (book / "symcalc-notes.html").read_text(encoding="utf-8")
    assert html.count("<math") > 50 and "<mtable" in html and 'class="graph"' in html
    assert not re.search(r"(src|href)=\"?(https?:)?//", html), "the booklet loads nothing from the internet"
    assert "<script" not in html
    for words in ("Least squares", "Ridge", "1-2-3-1", "0.7739", "Checked numerically"):
        assert words in html and words in md


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
    assert compile_pdf(tmp_path / "notes" / "07-worked-1-2-3-1.tex").is_file()


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


# ---------------------------------------------------------------------- issue 12: lecture inputs

QUIZ = "exp(x*z) + x*z/log(x) + sin(log(x))/(x*z)"   # CMU lecture 13, differentiation quiz 1


def test_derive_at_a_point_prints_the_quiz_numbers(capsys):
    for wrt, value in (("x", "dL/dx = 1208.38"), ("z", "dL/dz = 809.707")):
        status, out, err = run_inline(["derive", QUIZ, "--scalar", "x,z", "--wrt", wrt, "--at", "x=2,z=3"], capsys)
        assert status == 0, err
        assert "at x = 2, z = 3:\n  L = 412.191\n  " + value in out
    status, out, err = run_inline(["derive", "norm2(A*x - y)", "--shape", "A=m,n", "--shape", "x=n",
                                   "--shape", "y=m", "--wrt", "x", "--at", "A=[1, 2; 3, 4; 5, 6],x=[1; 1]",
                                   "--at", "y=[0; 1; 0]"], capsys)
    assert status == 0, err
    assert out.rstrip().endswith("L = 166\n  dL/dx = [152; 192]")


@pytest.mark.parametrize("at, words", [
    ("x=2", "needs a value for z"),
    ("x=[1; 2],z=3", "give a number for a scalar"),
    ("x=2,q=3", "q: not a declared name"),
    ("x=y", "undeclared name 'y'"),
    ("x", "NAME=VALUE"),
])
def test_derive_at_errors(at, words, capsys):
    status, out, err = run_inline(["derive", QUIZ, "--scalar", "x,z", "--wrt", "x", "--at", at], capsys)
    assert status == 2 and words in err and err.count("\n") == 1, err


def test_graph_prints_the_lecture_tables_and_values(capsys):
    status, out, err = run_inline(["graph", "def y(x, z): return " + QUIZ, "--at", "x=2,z=3"], capsys)
    assert status == 0, err
    assert out.startswith("y(x, z) = ") and "\nforward:\n  u1 = x*z\n" in out and "\nbackward:\n" in out
    assert out.rstrip().endswith("dy/dx = 1208.38\n  dy/dz = 809.707")
    status, out, err = run_inline(["graph", "def J(x): t = x**2; return cos(sin(t) + 3*t)", "--at", "x=2",
                                   "--format", "latex"], capsys)
    assert status == 0 and r"\paragraph{Forward}" in out and "9.09915" in out, err


def test_graph_reads_a_file_and_refuses_an_expression(tmp_path, capsys):
    f = tmp_path / "lecture.py"
    f.write_text("import math\n\ndef J(x):\n    return math.cos(math.sin(x**2) + 3*x**2)\n")
    status, out, err = run_inline(["graph", str(f), "--at", "x=2"], capsys)
    assert status == 0 and "dJ/dx = 9.09915" in out, err
    status, out, err = run_inline(["graph", "exp(x)"], capsys)
    assert status == 2 and "reads a Python function" in err


def test_entrywise_division_explicit_vectors_and_scalar_lists(capsys):
    status, out, err = run_inline(["derive", "sum(w / x)", "--shape", "w=n", "--shape", "x=n", "--wrt", "x",
                                   "--check"], capsys)
    assert status == 0 and "numeric check: OK" in out, err
    status, out, err = run_inline(["derive", "[x1 + x2*x3; x1**2 + 3*x2]", "--scalar", "x1,x2,x3",
                                   "--wrt", "x1,x2,x3", "--layout", "numerator", "--check"], capsys)
    assert status == 0, err
    assert out.startswith("df/d(x1, x2, x3) = [1, x3, x2; 2*x1, 3, 0]\n") and "numeric check: OK" in out
    status, out, err = run_inline(["derive", "[x1 + x2*x3; x1**2 + 3*x2]", "--scalar", "x1,x2,x3",
                                   "--wrt", "x1"], capsys)
    assert status == 0 and "f = [x1 + x2*x3; x1^2 + 3*x2]" in out and "= [1, 2*x1]" in out, err


def test_plain_text_titles_have_no_latex(capsys):
    status, out, err = run_inline(["derive", "norm2(W1*x)", "--shape", "W1=h,d", "--shape", "x=d",
                                   "--wrt", "W1"], capsys)
    assert status == 0, err
    title = out.splitlines()[0]
    assert title == "The derivative dL/dW1 (denominator layout, chain style)"
    status, out, err = run_inline(["derive", "[x1 + x2*x3; x1**2 + 3*x2]", "--scalar", "x1,x2,x3",
                                   "--wrt", "x1"], capsys)
    assert out.splitlines()[0] == "The derivative df/dx1 (denominator layout, chain style)"
    assert "{" not in out.splitlines()[0] and "frac" not in out


# ---------------------------------------------------------------------- a good citizen of the shell

def run_env(*args, env=None, stdin=None, cwd=None, stdout=subprocess.PIPE, flags=()):
    import os
    return subprocess.run([sys.executable, *flags, "-m", "symcalc", *args], input=stdin,
                          stdout=stdout, stderr=subprocess.PIPE, cwd=cwd, timeout=300,
                          env={**os.environ, **(env or {})})


def test_dash_reads_the_expression_from_standard_input():
    r = run_env("derive", "-", *QUAD[1:], "--layout", "numerator", stdin=b"x.T*A*x\n")
    assert r.returncode == 0 and "x.T*(A + A.T)" in r.stdout.decode("utf-8")
    r = run_env("net", "-", "--loss", "bce", stdin=b"linear(d,h) sigmoid linear(h,1) sigmoid")
    assert r.returncode == 0 and b"delta1" in r.stdout
    r = run_env("verify", *QUAD, "--claim", "-", stdin=b"(A + A.T)*x")
    assert r.returncode == 0 and r.stdout.startswith(b"CORRECT")
    r = run_env("verify", "-", *QUAD[1:], "--claim", "-", stdin=b"x.T*A*x")
    assert r.returncode == 2 and b"standard input is read once" in r.stderr


def test_ascii_output_and_a_non_utf8_terminal(tmp_path):
    """PYTHONIOENCODING=cp1252 with output redirected to a file crashed with UnicodeEncodeError."""
    out = tmp_path / "out.txt"
    with out.open("wb") as f:
        r = run_env("net", "linear(d,h) sigmoid linear(h,1) sigmoid", "--loss", "bce",
                    env={"PYTHONIOENCODING": "cp1252"}, stdout=f)
    assert r.returncode == 0, r.stderr
    text = out.read_bytes().decode("ascii")  # chosen by itself: the stream cannot encode δ or ⊙
    assert "delta1 = (W2.T*delta2) .* a1 .* (1 - a1)" in text or "delta1" in text
    r = run_env("--ascii", "derive", *LOGISTIC)
    assert r.returncode == 0 and r.stdout.isascii() and b"sigmoid" in r.stdout
    r = run_env("--ascii", "derive", "A*X*B", "--shape", "A=m,n", "--shape", "X=n,p",
                "--shape", "B=p,q", "--wrt", "X")
    assert r.returncode == 2 and r.stderr.isascii() and b"dvec(Y)/dvec(X)^T" in r.stderr


def test_files_are_written_in_utf8_whatever_the_locale(tmp_path):
    """Every file is opened with an explicit encoding (Python warns otherwise; here it fails)."""
    flags = ("-X", "warn_default_encoding", "-W", "error::EncodingWarning")
    r = run_env("derive", *LOGISTIC, "--format", "markdown", "--out", "d.md", cwd=tmp_path, flags=flags)
    assert r.returncode == 0, r.stderr
    assert "⊙" in (tmp_path / "d.md").read_text(encoding="utf-8") or \
        "\\odot" in (tmp_path / "d.md").read_text(encoding="utf-8")
    r = run_env("derive", *QUAD, "--standalone", "--out", "q.tex", cwd=tmp_path, flags=flags)
    assert r.returncode == 0, r.stderr


def test_errors_use_command_line_words(capsys):
    status, _, err = run_inline(["derive", "A*X*B", "--shape", "A=m,n", "--shape", "X=n,p",
                                 "--shape", "B=p,q", "--wrt", "X"], capsys)
    assert status == 2 and "--vec" in err and "vec=True" not in err
    from symcalc.cli import cli_words
    assert cli_words("use sc.diff with vec=True") == "use symcalc derive --vec"
    assert cli_words("declare it, e.g. Q.symmetric(A) or sp.Q.positive(lam)") == \
        "declare it, e.g. --symmetric A or --positive lam"
