"""The ``symcalc`` command line: derive, net, verify, hessian, solve, equalities, notes and demo.

Expressions are read by ``symcalc.parse`` (an ``ast`` whitelist; nothing the user types is
evaluated). Each subcommand imports the parts of the library it uses.
Exit status: 0 success; 1 a claim is wrong (``verify``) or a numeric check failed (``--check``);
2 an error (one line on stderr); 3 a claim that could not be verified.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

EXIT_OK, EXIT_WRONG, EXIT_ERROR, EXIT_UNVERIFIED = 0, 1, 2, 3

LEAST_SQUARES = ('"(y - X*theta).T*(y - X*theta)" --shape X=n,d --shape y=n --shape theta=d '
                 '--wrt theta')

EXAMPLES = {
    "derive": f"""examples:
  symcalc derive {LEAST_SQUARES}
  symcalc derive {LEAST_SQUARES} --layout numerator --style differential --check
  symcalc derive "bce(sigmoid(X*w), y)" --shape X=n,d --shape w=d --shape y=n --wrt w --format latex
  symcalc derive "x.T*A*x" --shape x=n --shape A=n,n --symmetric A --wrt x
  symcalc derive "logdet(X)" --shape X=n,n --wrt X --format markdown
  symcalc derive "A*X*B" --shape A=m,n --shape X=n,p --shape B=p,q --wrt X --vec --layout numerator
  symcalc derive {LEAST_SQUARES} --standalone --out ls.tex --pdf
  symcalc derive "exp(x*z) + x*z/log(x) + sin(log(x))/(x*z)" --scalar x,z --wrt x --at x=2,z=3
  symcalc derive "[x1 + x2*x3; x1**2 + 3*x2]" --scalar x1,x2,x3 --wrt x1,x2,x3 --layout numerator""",
    "net": """examples:
  symcalc net "linear(d,h) sigmoid linear(h,1) sigmoid" --loss bce
  symcalc net "linear(d,h) relu linear(h,k) softmax" --loss cross_entropy --batch columns
  symcalc net "linear(d,h) tanh linear(h,1)" --loss squared_error --batch rows --layout numerator
  symcalc net "linear(1,2,intercept) sigmoid linear(2,1,intercept) sigmoid" --loss bce --check
  symcalc net "linear(2,2,intercept) relu linear(2,1,intercept)" --loss squared_error \\
      --at "x=[1,2],y=3,W1=[[2,1,0],[0,2,0]],W2=[0,1,2]"          (worked numbers, one step)
layers: linear(IN,OUT[,intercept|nobias]), sigmoid, tanh, relu, leaky_relu, softplus, exp,
identity, softmax; losses: squared_error, mse, bce, logistic, cross_entropy""",
    "verify": """examples:
  symcalc verify "x.T*A*x" --shape x=n --shape A=n,n --wrt x --claim "2*A*x"      (wrong: exit 1)
  symcalc verify "x.T*A*x" --shape x=n --shape A=n,n --wrt x --claim "(A + A.T)*x"
  symcalc verify "norm2(y - X*w)" --shape X=n,d --shape y=n --shape w=d --wrt w \\
      --claim "-2*(y - X*w).T*X" --layout numerator
exit status: 0 correct, 1 wrong, 3 could not be verified, 2 error""",
    "hessian": """examples:
  symcalc hessian "bce(sigmoid(X*w), y)" --shape X=n,d --shape w=d --shape y=n --wrt w --check
  symcalc hessian "x.T*A*x" --shape x=n --shape A=n,n --wrt x --format latex""",
    "solve": f"""examples:
  symcalc solve {LEAST_SQUARES}
  symcalc solve "norm2(y - X*w) + lam*norm2(w)" --shape X=n,d --shape y=n --shape w=d \\
      --positive lam --wrt w --format latex""",
    "graph": """examples:
  symcalc graph "def J(x): return cos(sin(x**2) + 3*x**2)" --at x=2
  symcalc graph "def y(x, z): return exp(x*z) + x*z/log(x) + sin(log(x))/(x*z)" --at x=2,z=3
  symcalc graph "def f(x, w, b): return max(0, w*x + b)**2" --at x=2,w=0.5,b=-0.25 --format latex
functions: exp log sin cos tan tanh sqrt sigmoid relu threshold max min; constants pi, e""",
    "equalities": """examples:
  symcalc equalities "d/db 1/(1 + exp(-b))" "exp(-b)/(exp(-b) + 1)**2  # chain rule" \\
      "s*(1 - s)  # s = 1/(1 + exp(-b))" --scalar b --let "s=1/(1 + exp(-b))"
  symcalc equalities "d/dw norm2(X*w - y)" "2*X.T*(X*w - y)  # chain rule" \\
      --shape X=n,d --shape y=n --shape w=d --format latex
  symcalc equalities "d/dx x.T*A*x" "2*A*x  # a slip: A is not symmetric" --shape x=n --shape A=n,n   (exit 1)
  symcalc equalities --file sigmoid.txt --scalar b --let "s=1/(1 + exp(-b))"   (from a file)
each line of the chain is one argument (or one line of --file; - for standard input), its
justification after '#'; a leading '=' is optional. 'd/dNAME EXPR' is the derivative of EXPR by
NAME (of a scalar: by a scalar, or the gradient by a vector or matrix in --layout). Each line is
checked against the one before: symbolically where SymPy can, else numerically at random values;
the first false line is shown with a counterexample.
exit status: 0 every line holds, 1 a line is false, 3 a line could not be checked, 2 error""",
    "notes": """examples:
  symcalc notes                   (notes/symcalc-notes.md, .html, .tex, one .tex per chapter, the PDF)
  symcalc notes --out booklet --no-pdf
  symcalc notes examples/course.toml --out course""",
    "demo": """examples:
  symcalc demo""",
}

GRAMMAR = """expressions: names, numbers, + - * / @ **, .T, unary minus, parentheses, M[i, j], explicit
matrices [a, b; c, d], and the functions sigmoid relu tanh softplus exp log sqrt sin cos threshold
leaky_relu(Z, alpha) max min tr det logdet inv sum mean softmax logsumexp (axis=0|1) norm2
frobenius2 hadamard(A, B) kron(A, B) diag mse bce cross_entropy eye(n) ones(m, n) zeros(m, n);
layer_norm(X, axis=1, eps=e) std(X, axis=1) softmax(S, axis=1, causal=True);
conv1d(X, W1, W2, W3, stride=1, padding=1); w / x of matrices is entrywise. Declare every name:
--shape X=n,d (x=n is a column), --scalar a, --positive lam, --symmetric A, --onehot y. Text that
starts with a minus sign: --claim=-2*x, or a leading space (" -x.T*x"), so that it is not taken
for an option."""


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr, status 2."""

    def error(self, message):
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter

    def top_formatter(prog):
        # the command list's column as Python 3.10-3.12 place it (3.13 counts the commands'
        # indent and moves it 2 to the right): one help text on every Python
        return formatter(prog, max_help_position=14)

    parser = _Parser(
        prog="symcalc", formatter_class=top_formatter,
        description="Symbolic matrix calculus: derivatives in numerator or denominator layout, "
                    "step-by-step derivations, backpropagation, checked numerically.",
        epilog="\n\n".join(EXAMPLES[k].replace("examples:", f"{k}:") for k in EXAMPLES)
        + "\n\n" + GRAMMAR)
    parser.add_argument("--version", action="version", version=f"symcalc {_version()}")
    parser.add_argument("--ascii", action="store_true",
                        help="ASCII output only (.T, .*, delta; chosen by itself when standard "
                             "output cannot encode Unicode, e.g. PYTHONIOENCODING=cp1252)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def command(name, help_, run):
        p = sub.add_parser(name, help=help_, description=help_, epilog=EXAMPLES[name] + (
            "\n\n" + GRAMMAR if name in ("derive", "verify", "hessian", "solve") else ""),
            formatter_class=formatter)
        p.set_defaults(run=run)
        return p

    derive = command("derive", "derive a derivative step by step", run_derive)
    _expression_options(derive)
    derive.add_argument("--style", choices=("chain", "differential", "index"), default="chain",
                        help="how the derivation is written (default: chain)")
    derive.add_argument("--vec", action="store_true",
                        help="matrix by matrix: the Kronecker (vec) form, result only")
    derive.add_argument("--no-closed-form", action="store_true",
                        help="do not end with the stationary point when the gradient is affine")
    _output_options(derive)
    derive.add_argument("--pdf", action="store_true", help="compile the --standalone --out file")
    derive.add_argument("--check", action="store_true",
                        help="also check every step and the result against finite differences")
    derive.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...",
                        help="evaluate at a point: x=2,z=3 (a matrix: A=[1, 2; 3, 4]); repeatable")

    net = command("net", "derive backpropagation through a feed-forward network", run_net)
    net.add_argument("layers", help='the layers, e.g. "linear(d,h) sigmoid linear(h,1) sigmoid"')
    net.add_argument("--loss", required=True, help="squared_error, mse, bce, logistic or cross_entropy")
    net.add_argument("--batch", choices=("rows", "columns"),
                     help="samples as the rows or the columns of X (default: one sample)")
    net.add_argument("--layout", choices=("denominator", "numerator"), default="denominator")
    _output_options(net)
    net.add_argument("--pdf", action="store_true", help="compile the --standalone --out file")
    net.add_argument("--check", action="store_true", help="also check every step numerically")
    net.add_argument("--notation", choices=("default", "cs229", "cmu", "nyu"), default="default",
                     help="a course's conventions: cs229 (W^[k], J, Z = XW + b for rows), cmu "
                          "(alpha, beta, J), nyu (W^H, W^O, samples as rows)")
    net.add_argument("--weights", choices=("out_in", "in_out"),
                     help="W is out x in (z = W a + b) or in x out (z = W^T a + b; rows: Z = X W + b)")
    net.add_argument("--index", choices=("sub", "super"), help="layer numbers as W_1 or W^[1]")
    net.add_argument("--relu-at-zero", type=int, choices=(0, 1), help="ReLU'(0): 0 or 1 (CS229)")
    net.add_argument("--objective", metavar="LATEX", help="the objective's letter (L, J, \\ell)")
    net.add_argument("--tex", action="append", default=[], metavar="NAME=LATEX",
                     help="LaTeX for a symbol: --tex 'W1=\\alpha' --tex 'L=J'")
    net.add_argument("--at", metavar="NAME=VALUE,...",
                     help="worked numbers at a point: x=[1,2],y=3,W1=[[2,1,0],[0,2,0]],W2=[0,1,2] "
                          "(every parameter, x and y; rows of a matrix as [[...],[...]] or [1 2; 3 4])")
    net.add_argument("--lr", type=float, default=0.1, help="learning rate of the worked gradient step (0.1)")
    net.add_argument("--digits", type=int, default=4,
                     help="significant digits of the worked numbers, trailing zeros kept (4)")

    verify = command("verify", "check a claimed derivative; exit 1 when it is wrong", run_verify)
    _expression_options(verify)
    verify.add_argument("--claim", required=True, help="the claimed derivative, same grammar")

    hessian = command("hessian", "the Hessian of a scalar expression", run_hessian)
    _expression_options(hessian)
    hessian.add_argument("--wrt2", metavar="NAME", help="second variable (mixed second derivatives)")
    _output_options(hessian)
    hessian.add_argument("--check", action="store_true",
                         help="also check the gradient and the Hessian against finite differences")

    solve = command("solve", "the closed-form stationary point (gradient = 0)", run_solve)
    _expression_options(solve)
    _output_options(solve)

    graph = command("graph", "forward and backward tables of a scalar function (a lecture's "
                             "computation graph)", run_graph)
    graph.add_argument("source", help='a Python function, "def f(x, z): return x*z + sin(x)", or a .py file')
    graph.add_argument("--name", help="the function to read, when the source defines several")
    graph.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...",
                       help="the values of the tables at a point: x=2,z=3")
    graph.add_argument("--format", choices=("text", "latex"), default="text")
    graph.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")

    eq = command("equalities", "check and typeset an author's chain of equalities, line by line",
                 run_equalities)
    eq.add_argument("lines", nargs="*", help="the lines of the chain, e.g. \"d/db 1/(1 + exp(-b))\"")
    eq.add_argument("--file", help="read the lines from FILE, one per line (- for standard input)")
    for name, what in (("--shape", "declare a matrix (X=n,d) or a column vector (x=n)"),
                       ("--scalar", "declare a real scalar"), ("--positive", "declare a positive scalar"),
                       ("--symmetric", "declare a square matrix symmetric"),
                       ("--onehot", "declare a target one-hot"),
                       ("--let", "a name for an expression the lines use, NAME=EXPR; repeatable"),
                       ("--tex", "LaTeX for a name, e.g. --tex 'lam=\\lambda'")):
        eq.add_argument(name, action="append", default=[], metavar="SPEC", help=what)
    eq.add_argument("--layout", choices=("denominator", "numerator"), default="denominator",
                    help="the layout of a matrix derivative d/dX in the chain")
    eq.add_argument("--title", default="", help="a heading for the chain")
    _output_options(eq)
    eq.add_argument("--pdf", action="store_true", help="compile the --standalone --out file")


    notes = command("notes", "build a booklet of derivations from a course file (Markdown, HTML, .tex, PDF)",
                    run_notes)
    notes.add_argument("course", nargs="?", metavar="COURSE.toml",
                       help="the course file (default: the built-in booklet, itself a course file)")
    notes.add_argument("--out", default="notes", metavar="DIR", help="output folder (default: notes)")
    notes.add_argument("--no-pdf", action="store_true",
                       help="do not compile the PDF (Markdown, HTML and .tex only)")
    notes.add_argument("--no-check", action="store_true", help="skip the numeric check of the steps")

    command("demo", "the least-squares gradient and its numeric check", run_demo)
    return parser


def _version():
    from . import __version__
    return __version__


def _expression_options(p):
    p.add_argument("expr", help="the expression, e.g. \"(y - X*theta).T*(y - X*theta)\"; - reads it "
                                "from standard input")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=ROWS,COLS",
                   help="declare a matrix (X=n,d) or a column vector (x=n); repeatable")
    p.add_argument("--scalar", action="append", default=[], metavar="NAME",
                   help="declare a real scalar; repeatable, or comma-separated")
    p.add_argument("--positive", action="append", default=[], metavar="NAME",
                   help="declare a positive scalar (e.g. a ridge penalty)")
    p.add_argument("--symmetric", action="append", default=[], metavar="NAME",
                   help="declare a square matrix symmetric")
    p.add_argument("--onehot", action="append", default=[], metavar="NAME",
                   help="declare a target one-hot (columns sum to 1)")
    p.add_argument("--tex", action="append", default=[], metavar="NAME=LATEX",
                   help="LaTeX for a name, e.g. --tex 'lam=\\lambda' (default: bold for matrices)")
    p.add_argument("--wrt", required=True, metavar="NAME",
                   help="the variable (derive: several scalars x1,x2,x3 for the vector of them)")
    p.add_argument("--layout", choices=("denominator", "numerator"), default="denominator",
                   help="denominator (gradient has the variable's shape; default) or numerator")


def _output_options(p):
    p.add_argument("--format", choices=("text", "latex", "markdown"), default="text")
    p.add_argument("--standalone", action="store_true",
                   help="a complete LaTeX document (implies --format latex)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")


# ---------------------------------------------------------------------- shared pieces

_STDIN = {"used": False}  # standard input is read by one argument of one command


def _text_argument(value):
    """An expression (or layer list) argument; ``-`` reads it from standard input, once."""
    from .errors import ParseError
    if value != "-":
        return value
    if _STDIN["used"]:
        raise ParseError("two arguments are -, but standard input is read once; give one of them as text")
    _STDIN["used"] = True
    text = sys.stdin.read().strip()
    if not text:
        raise ParseError("- reads the expression from standard input, which is empty")
    return text


def _names(values):
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


class Problem:
    """An expression and its declarations, read from the command line."""

    def __init__(self, args):
        import sympy as sp

        from .errors import ParseError
        from .parse import declare, parse_shape

        shapes = {}
        for spec in args.shape:
            name, shape = parse_shape(spec)
            if name in shapes:
                raise ParseError(f"--shape {name} is given twice")
            shapes[name] = shape
        positive = _names(args.positive)
        self.space = declare(shapes, _names(args.scalar), _names(args.symmetric), _names(args.onehot),
                             positive)
        self.expr = self.parse(_text_argument(args.expr))
        names = _names([args.wrt])
        self.wrt = self.symbol(args.wrt, "--wrt") if len(names) == 1 else None
        self.scalars = [self.symbol(n, "--wrt") for n in names] if len(names) > 1 else []
        self.assumptions = [sp.Q.positive(self.space[n]) for n in positive] or None
        self.notation = None
        if args.tex:
            from .printing import Notation
            from .printing.document import check_tex
            names = {}
            for spec in args.tex:
                name, sep, tex = spec.partition("=")
                if not sep or name.strip() not in self.space or not tex.strip():
                    raise ParseError(f"--tex {spec!r} is not NAME=LATEX for a declared name")
                names[name.strip()] = check_tex(tex.strip(), f"--tex {name.strip()}", ParseError)
            self.notation = Notation(names=names)

    def parse(self, text):
        from .parse import parse_in
        return parse_in(text, self.space)

    def symbol(self, name, option):
        import sympy as sp

        from .errors import ParseError
        if name not in self.space:
            raise ParseError(f"{option} {name!r} is not declared; give it a --shape or --scalar")
        s = self.space[name]
        if isinstance(s, sp.Symbol) and s.is_integer:
            raise ParseError(f"{option} {name!r} is a size, not a variable")
        return s


def _emit(args, content):
    """Print ``content``, or write it to ``--out``."""
    if getattr(args, "out", None):
        path = Path(args.out)
        path.write_text(content if content.endswith("\n") else content + "\n", encoding="utf-8")
        print(f"wrote {path}")
    else:
        print(content)


def _format(args):
    return "latex" if getattr(args, "standalone", False) else args.format


def _write_derivation(args, d, extra=""):
    """Print or write a derivation; ``extra`` (plain lines) follows it, as comments in LaTeX."""
    fmt = _format(args)
    if extra:
        extra = "\n".join(("% " + line) if fmt == "latex" else line for line in extra.splitlines())
    if args.standalone:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(args.out) if args.out else Path(tmp) / "derivation.tex"
            d.write_tex(path, standalone=True)
            if extra:
                with path.open("a", encoding="utf-8") as f:
                    f.write(extra + "\n")
            if not args.out:
                print(path.read_text(encoding="utf-8"), end="")
                return
        print(f"wrote {path}")
        if args.pdf:
            from .printing import compile_pdf
            print(f"wrote {compile_pdf(path)}")
        return
    body = d.latex() if fmt == "latex" else d.markdown() if fmt == "markdown" else str(d)
    _emit(args, body + ("\n\n" + extra if extra else ""))


def _sizes_text(sizes, math=False):
    """``d = 4, n = 5`` (``$d = 4$, ...`` for LaTeX text)."""
    fmt = "${} = {}$" if math else "{} = {}"
    return ", ".join(fmt.format(k, v) for k, v in sizes.items()) or "the declared sizes"


# ---------------------------------------------------------------------- subcommands

def run_derive(args):
    from .derivation import derive
    from .numeric.check import check

    p = Problem(args)
    if p.scalars:
        return _derive_by_scalars(args, p)
    if args.vec:
        return _derive_vec(args, p)
    d = derive(p.expr, p.wrt, layout=args.layout, style=args.style, notation=p.notation,
               closed_form=not args.no_closed_form)
    extra, status = "", EXIT_OK
    if args.check:
        steps = d.check()
        fd = check(p.expr, p.wrt, layout=args.layout)
        extra = (f"step check: {steps}\n"
                 f"numeric check: {'OK' if fd.ok else 'FAILED'}, result vs central finite "
                 f"differences at {_sizes_text(fd.sizes)}: max relative error {fd.max_rel_error:.1e}")
        status = EXIT_OK if (steps.ok and fd.ok) else EXIT_WRONG
    if args.at:
        from .derivation import partial
        from .printing import text
        out = d._output_name()
        rows = [(text(out), p.expr), (text(partial(out, p.wrt, args.layout)), d.result)]
        extra = "\n".join(filter(None, [extra, _values_text(p, args.at, rows)]))
    _write_derivation(args, d, extra)
    return status


def _derive_vec(args, p):
    """The Magnus–Neudecker form ∂vec(Y)/∂vec(X)ᵀ (its transpose in denominator layout): the result
    only, as a derivation has no steps for it."""
    from .diff import diff
    from .numeric.check import check
    from .printing import latex, text

    if args.standalone and args.pdf:
        from .errors import SymcalcError
        raise SymcalcError("--vec prints the result only; --pdf needs a derivation")
    K = diff(p.expr, p.wrt, layout=args.layout, vec=True)
    y, x = latex(p.expr, p.notation), latex(p.wrt, p.notation)
    num = (r"\partial \operatorname{vec}(%s)" % y, r"\partial \operatorname{vec}(%s)^{\top}" % x)
    txt = (f"dvec({p.expr})", f"dvec({p.wrt})^T")
    if args.layout == "denominator":
        num = (r"\partial \operatorname{vec}(%s)^{\top}" % y, r"\partial \operatorname{vec}(%s)" % x)
        txt = (f"dvec({p.expr})^T", f"dvec({p.wrt})")
    notes = [f"shape: {K.rows} x {K.cols} ({args.layout} layout)"]
    status = EXIT_OK
    if args.check:
        report = check(p.expr, p.wrt, layout=args.layout, vec=True)
        notes.append(f"numeric check: {'OK' if report.ok else 'FAILED'}, result vs central finite "
                     f"differences at {_sizes_text(report.sizes)}: max relative error "
                     f"{report.max_rel_error:.1e}")
        status = EXIT_OK if report.ok else EXIT_WRONG
    row = (r"\frac{%s}{%s}" % num, latex(K, p.notation), "%s/%s" % txt, text(K))
    _emit(args, _equation_output(args, [row], notes))
    return status


def _derive_by_scalars(args, p):
    """--wrt x1,x2,x3: the derivative by the column of those scalars (the slides' Jacobian of
    explicit functions), assembled from the derivatives by each; the result only."""
    import sympy as sp

    from .diff import diff
    from .errors import ShapeError
    from .numeric.check import check
    from .printing import latex, text

    f = p.expr
    if getattr(f, "is_Matrix", False) and not (isinstance(f, sp.MatrixBase) and f.cols == 1):
        raise ShapeError(f"--wrt with several names takes a scalar or an explicit column [f1; f2], not "
                         f"the {f.rows} x {f.cols} {text(f)}")
    for x in p.scalars:
        if getattr(x, "is_Matrix", False):
            raise ShapeError(f"--wrt with several names takes scalars; {x} is {x.rows} x {x.cols}")
    columns = [diff(f, x, layout="numerator") for x in p.scalars]  # ∂f/∂xⱼ: a column, or a number
    J = sp.ImmutableMatrix.hstack(*[sp.ImmutableMatrix(c) if getattr(c, "is_Matrix", False)
                                    else sp.ImmutableMatrix([[c]]) for c in columns])
    if args.layout == "denominator":
        J = sp.ImmutableMatrix(J.T)
    names = ", ".join(text(x) for x in p.scalars)
    f_tex = r"\mathbf{f}" if getattr(f, "is_Matrix", False) else "f"
    x_tex = ", ".join(latex(x, p.notation) for x in p.scalars)
    lhs = r"\frac{\partial %s}{\partial (%s)}" % (f_tex, x_tex)
    notes = [f"shape: {J.rows} x {J.cols} ({args.layout} layout, by the column ({names}))"]
    status = EXIT_OK
    if args.check:
        v = sp.MatrixSymbol("wrt", len(p.scalars), 1)
        entries = {x: v[k, 0] for k, x in enumerate(p.scalars)}
        report = check(f.xreplace(entries), v, layout=args.layout, derivative=J.xreplace(entries))
        notes.append(f"numeric check: {'OK' if report.ok else 'FAILED'}, result vs central finite "
                     f"differences: max relative error {report.max_rel_error:.1e}")
        status = EXIT_OK if report.ok else EXIT_WRONG
    if args.at:
        notes.append(_values_text(p, args.at, [("f", f), (f"df/d({names})", J)]))
    rows = [(lhs, latex(J, p.notation), f"df/d({names})", text(J))]
    _emit(args, _equation_output(args, rows, notes))
    return status


def _point(specs, space=None):
    """``["x=2,z=3", "A=[1, 2; 3, 4]"]`` -> {name: SymPy number or explicit matrix}."""
    import sympy as sp

    from .errors import ParseError
    from .parse import parse_in
    point = {}
    for spec in specs:
        depth, start, parts = 0, 0, []
        for k, ch in enumerate(spec + ","):
            depth += (ch == "[") - (ch == "]")
            if ch == "," and depth == 0:
                parts.append(spec[start:k])
                start = k + 1
        for part in parts:
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or not name or not value.strip():
                raise ParseError(f"--at {spec!r}: write NAME=VALUE, as x=2,z=3 or A=[1, 2; 3, 4]")
            if space is not None and name not in space:
                raise ParseError(f"--at {name}: not a declared name")
            v = parse_in(value, {})
            if not (v.is_number if not getattr(v, "is_Matrix", False) else all(e.is_number for e in v)):
                raise ParseError(f"--at {name}={value.strip()}: a value is a number or [a, b; c, d] of numbers")
            point[name] = sp.ImmutableMatrix(v) if getattr(v, "is_Matrix", False) else v
    return point


def _values_text(p, specs, rows):
    """'at x = 2, z = 3:' and each (label, expression) of ``rows`` evaluated there by the generated
    NumPy code (sizes follow from the matrices' values)."""
    import numpy as np
    import sympy as sp

    from .errors import ParseError, ShapeError
    from .numeric.lambdify import lambdify
    point = _point(specs, p.space)
    values = {}
    for name, v in point.items():
        s = p.space[name]
        if isinstance(s, sp.Symbol) and s.is_integer:
            raise ParseError(f"--at {name}: {name} is a size; it follows from the matrices' values")
        if getattr(s, "is_Matrix", False) != getattr(v, "is_Matrix", False):
            want = "[a, b; c, d] for a matrix" if getattr(s, "is_Matrix", False) else "a number for a scalar"
            raise ShapeError(f"--at {name}: give {want}")
        values[s] = np.array(v.tolist(), dtype=float) if getattr(v, "is_Matrix", False) else float(v)
    lines = ["at " + ", ".join(f"{k} = {_number_text(v)}" for k, v in point.items()) + ":"]
    for label, e in rows:
        free = {a for a in sp.sympify(e).atoms(sp.Symbol, sp.MatrixSymbol)
                if not isinstance(a, sp.Dummy) and not (isinstance(a, sp.Symbol) and a.is_integer)}
        missing = sorted(str(a) for a in free if a not in values)
        if missing:
            raise ParseError(f"--at needs a value for {', '.join(missing)}")
        args = sorted(free, key=str)
        lines.append(f"  {label} = {_number_text(lambdify(args, e, structure=False)(*[values[a] for a in args]))}")
    return "\n".join(lines)


def _number_text(v):
    """2, 1208.38, [1, 0.5; 2, 3]: six significant digits, matrices on one line."""
    import numpy as np
    a = np.asarray(v.tolist() if hasattr(v, "tolist") and not isinstance(v, np.ndarray) else v, dtype=float)
    if a.size == 1:
        return f"{a.item():.6g}"
    a = a.reshape(a.shape[0], -1) if a.ndim == 2 else a.reshape(1, -1)
    return "[" + "; ".join(", ".join(f"{x:.6g}" for x in row) for row in a) + "]"


_LAYER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^()]*)\))?\s*")


def _tokens(spec, what, example):
    """(name, arguments, where, text) of each ``name(a, b)`` or ``name`` in a layer list."""
    from .errors import ParseError
    pos, spec = 0, spec.strip()
    while pos < len(spec):
        m = _LAYER.match(spec, pos)
        if not m or m.end() == pos:
            raise ParseError(f"column {pos + 1}: cannot read {what} at {spec[pos:pos + 20]!r}; "
                             f"write e.g. \"{example}\"")
        inner = m.group(2)
        parts = [a.strip() for a in inner.split(",")] if inner is not None else []
        yield m.group(1).lower(), parts, f"column {pos + 1}: {m.group(0).strip()}", m.group(0)
        pos = m.end()


def parse_layers(spec):
    """``"linear(d,h) sigmoid linear(h,1) sigmoid"`` -> symcalc.nn layers."""
    from . import nn
    from .errors import ParseError
    from .nn.layers import ACTIVATIONS
    from .parse import _size

    layers, k = [], 0
    for name, parts, where, _ in _tokens(spec, "a layer", "linear(d,h) sigmoid linear(h,1) sigmoid"):
        if name == "linear":
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("intercept", "nobias")):
                raise ParseError(f"{where}: linear takes (IN, OUT) or (IN, OUT, intercept|nobias)")
            k += 1
            sizes = [_size(s, f"linear layer {k}") for s in parts[:2]]
            option = parts[2] if len(parts) == 3 else ""
            layers.append(nn.Linear(*sizes, name=str(k), intercept=option == "intercept",
                                    bias=option != "nobias"))
        elif name in ACTIVATIONS:
            if name == "leaky_relu" and parts:
                if len(parts) != 1:
                    raise ParseError(f"{where}: leaky_relu takes one slope, e.g. leaky_relu(0.1)")
                layers.append(nn.LeakyReLU(_number(parts[0], where)))
            elif parts:
                raise ParseError(f"{where}: {name} takes no arguments")
            else:
                layers.append(ACTIVATIONS[name]())
        else:
            raise ParseError(f"{where}: unknown layer {name!r}; layers are linear(IN,OUT), "
                             + ", ".join(sorted(ACTIVATIONS)))
    if not layers:
        raise ParseError("no layers given; write e.g. \"linear(d,h) sigmoid linear(h,1) sigmoid\"")
    return layers


def parse_modules(spec):
    """``"embedding(V,d) transformer_block(d,d_k,h,causal) linear(d,V) softmax"`` -> symcalc.nn
    modules and layers, for ``nn.Model.sequential``. Besides the layers of ``parse_layers``:
    embedding(VOCAB,D), layer_norm(D) or layer_norm(D,EPS), attention(D,D_K) or
    attention(D,D_K,causal), conv1d(IN,OUT,K) or conv1d(IN,OUT,K,STRIDE,PADDING), mlp(D,H),
    transformer_block(D,D_K,H) or transformer_block(D,D_K,H,causal)."""
    from . import nn
    from .errors import ParseError
    from .parse import _size

    def sizes(parts, where, counts, names):
        if len(parts) not in counts:
            raise ParseError(f"{where}: takes ({names})")
        return [_size(p, where) for p in parts]

    modules = []
    for name, parts, where, text in _tokens(spec, "a module",
                                            "embedding(V,d) transformer_block(d,d_k,h,causal) linear(d,V) softmax"):
        causal = bool(parts) and parts[-1] == "causal"
        if causal:
            parts = parts[:-1]
        if causal and name not in ("attention", "transformer_block"):
            raise ParseError(f"{where}: only attention and transformer_block take 'causal'")
        if name == "embedding":
            modules.append(nn.Embedding(*sizes(parts, where, (2,), "VOCABULARY, D")))
        elif name == "layer_norm":
            if len(parts) not in (1, 2):
                raise ParseError(f"{where}: takes (D) or (D, EPS)")
            eps = _number(parts[1], where) if len(parts) == 2 else None
            modules.append(nn.LayerNorm(_size(parts[0], where), eps=eps))
        elif name == "attention":
            modules.append(nn.SelfAttention(*sizes(parts, where, (2,), "D, D_K[, causal]"), causal=causal))
        elif name == "transformer_block":
            modules.append(nn.TransformerBlock(*sizes(parts, where, (3,), "D, D_K, H[, causal]"), causal=causal))
        elif name == "mlp":
            modules.append(nn.MLP(*sizes(parts, where, (2,), "D, H")))
        elif name == "conv1d":
            if len(parts) not in (3, 5) or not all(p.isdigit() for p in parts[2:]):
                raise ParseError(f"{where}: takes (IN, OUT, K) or (IN, OUT, K, STRIDE, PADDING), K, STRIDE "
                                 "and PADDING integers")
            extra = dict(zip(("stride", "padding"), map(int, parts[3:])))
            modules.append(nn.Conv1D(_size(parts[0], where), _size(parts[1], where), int(parts[2]), **extra))
        elif name == "linear":
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "nobias"):
                raise ParseError(f"{where}: linear takes (IN, OUT) or (IN, OUT, nobias) in a model")
            modules.append(nn.Linear(_size(parts[0], where), _size(parts[1], where), bias=len(parts) == 2))
        else:
            modules.extend(parse_layers(text))
    if not modules:
        raise ParseError("no modules given")
    return modules


def _number(text, where):
    from fractions import Fraction

    import sympy as sp

    from .errors import ParseError
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", text):
        raise ParseError(f"{where}: {text!r} is not a number")
    q = Fraction(text)
    return sp.Rational(q.numerator, q.denominator)


def run_net(args):
    from . import nn
    from .errors import ParseError
    from .nn.losses import LOSSES

    if args.loss.lower().partition("(")[0].strip() not in LOSSES:
        raise ParseError(f"unknown loss {args.loss!r}; losses are " + ", ".join(LOSSES)
                         + " (squared_error(SCALE) for a scale other than the convention's)")
    net = nn.Network(parse_layers(_text_argument(args.layers)), loss=args.loss.lower(), batch=args.batch,
                     convention=_convention(args), weights=args.weights)
    bp = net.backprop(layout=args.layout)
    d = bp.derivation
    extra, status = "", EXIT_OK
    if args.check:
        report = d.check()
        extra = f"step check: {report}"
        status = EXIT_OK if report.ok else EXIT_WRONG
    if args.at:
        values = parse_values(args.at)
        missing = [n for n in [p.name for p in bp.parameters] + ["x", "y"] if n not in values]
        unknown = sorted(set(values) - {p.name for p in bp.parameters} - {"x", "y"})
        if missing or unknown:
            raise ParseError("--at needs a value for every parameter, x and y: "
                             + (f"missing {', '.join(missing)}" if missing else "")
                             + ("; " if missing and unknown else "")
                             + (f"this network has no {', '.join(unknown)}" if unknown else ""))
        params = {k: v for k, v in values.items() if k not in ("x", "y")}
        worked = bp.worked(params, values["x"], values["y"], lr=args.lr, digits=args.digits)
        _write_worked(args, d, worked, extra)
        return status
    _write_derivation(args, d, extra)
    return status


def _convention(args):
    """The notation preset with the options given on the command line."""
    from .nn.conventions import as_convention
    names = {}
    for spec in args.tex:
        name, sep, tex = spec.partition("=")
        if not sep or not name.strip() or not tex.strip():
            from .errors import ParseError
            raise ParseError(f"--tex {spec!r} is not NAME=LATEX (e.g. --tex 'W1=\\alpha')")
        names[name.strip()] = tex.strip()
    return as_convention(args.notation).with_(
        index=args.index, relu_at_zero=args.relu_at_zero, objective=args.objective, names=names or None)


def _write_worked(args, d, worked, extra):
    """The derivation followed by its worked numbers, in the chosen format."""
    fmt = _format(args)
    if fmt == "text":
        _emit(args, f"{d}\n\nWorked numbers\n{worked}" + (f"\n\n{extra}" if extra else ""))
        return
    if fmt == "markdown":
        _emit(args, d.markdown() + "\n**Worked numbers**\n\n" + worked.markdown()
              + (f"\n{extra}\n" if extra else ""))
        return
    body = d.latex() + "\n\n\\subsection*{Worked numbers}\n" + worked.latex()
    if not args.standalone:
        _emit(args, body + ("\n" + "\n".join("% " + x for x in extra.splitlines()) if extra else ""))
        return
    from .printing import standalone
    graph = d.graph_latex()
    if graph:
        body = "\\begin{center}\n%s\n\\end{center}\n\n" % graph + body
    _emit(args, standalone(body, title=d._title_tex(None)))
    if args.pdf:
        from .printing import compile_pdf
        print(f"wrote {compile_pdf(Path(args.out))}")


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_values(text):
    """``x=[1,2],y=3,W1=[[2,1,0],[0,2,0]]`` -> {name: nested lists of floats}. Matrices are
    [[row], [row]] or MATLAB's [1 2; 3 4]; nothing is evaluated."""
    from .errors import ParseError

    values, depth, start = {}, 0, 0
    pieces = []
    for i, ch in enumerate(text + ","):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    for piece in pieces:
        name, sep, value = piece.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier() or not value:
            raise ParseError(f"--at {piece.strip()!r} is not NAME=VALUE (e.g. x=[1,2] or W1=[[1,2],[3,4]])")
        values[name] = _value(value, name)
    return values


def _value(text, name):
    from .errors import ParseError

    def number(t):
        t = t.strip()
        if not _NUMBER.fullmatch(t):
            raise ParseError(f"--at {name}: {t!r} is not a number")
        return float(t)

    if not text.startswith("["):
        return number(text)
    if not text.endswith("]"):
        raise ParseError(f"--at {name}: {text!r} has no closing bracket")
    inner = text[1:-1].strip()
    if inner.startswith("["):  # [[1, 2], [3, 4]]
        rows = re.findall(r"\[([^\[\]]*)\]", inner)
        if re.sub(r"\[[^\[\]]*\]|[\s,]", "", inner):
            raise ParseError(f"--at {name}: cannot read {text!r}; write [[1, 2], [3, 4]]")
        return [[number(v) for v in r.split(",")] for r in rows]
    rows = [r for r in inner.split(";")]
    if len(rows) > 1:  # [1 2; 3 4]
        return [[number(v) for v in re.split(r"[\s,]+", r.strip()) if v] for r in rows]
    return [number(v) for v in re.split(r"[\s,]+", inner) if v]


def run_verify(args):
    from .numeric.verify import verify

    p = Problem(args)
    claim = p.parse(_text_argument(args.claim))
    verdict = verify(claim, p.expr, p.wrt, layout=args.layout, assumptions=p.assumptions)
    print(verdict)
    if verdict.ok:
        return EXIT_OK
    return EXIT_WRONG if verdict.status == "wrong" else EXIT_UNVERIFIED


def _equation_output(args, rows, notes=()):
    """Rows of (lhs LaTeX, rhs LaTeX, lhs text, rhs text) in the chosen format."""
    fmt = _format(args)
    if fmt == "text":
        lines = [f"{lt} = {rt}" for _, _, lt, rt in rows] + list(notes)
        return "\n".join(lines)
    from .derivation import tex_text
    body = " \\\\\n".join(f"{l} &= {r}" for l, r, _, _ in rows)
    if fmt == "markdown":
        md = "$$\n\\begin{aligned}\n" + body + "\n\\end{aligned}\n$$"
        return "\n\n".join([md, *notes])
    tex = "\\begin{align*}\n" + body + "\n\\end{align*}"
    if notes:
        tex += "\n" + "\n".join(tex_text(n) + "\n" for n in notes)
    if args.standalone:
        from .printing import standalone
        tex = standalone(tex)
    return tex


def run_hessian(args):
    from .diff import gradient, hessian
    from .numeric.check import check
    from .printing import latex, text

    p = Problem(args)
    wrt2 = p.symbol(args.wrt2, "--wrt2") if args.wrt2 else None
    H = hessian(p.expr, p.wrt, wrt2, assumptions=p.assumptions)
    other = wrt2 if wrt2 is not None else p.wrt
    def var(v):  # a matrix variable enters as vec(V)
        t, x = latex(v, p.notation), str(v)
        return (t, x) if _column(v) else (r"\operatorname{vec}(%s)" % t, f"vec({x})")
    (t1, x1), (t2, x2) = var(p.wrt), var(other)
    if wrt2 is None and not getattr(p.wrt, "is_Matrix", False):
        lhs_tex, lhs_txt = r"\frac{\partial^2 L}{\partial %s^2}" % t1, f"d2L/d{x1}^2"
    else:
        lhs_tex = r"\frac{\partial^2 L}{\partial %s \, \partial %s^{\top}}" % (t1, t2)
        lhs_txt = f"d2L/d{x1} d{x2}^T"
    shape = " x ".join(str(s) for s in H.shape) if hasattr(H, "shape") else "1 x 1"
    notes = [f"shape: {shape}"]
    status = EXIT_OK
    if args.check:
        g_report = check(p.expr, p.wrt, layout=args.layout)
        notes.append(f"gradient check: {'OK' if g_report.ok else 'FAILED'} at "
                     f"{_sizes_text(g_report.sizes)}: max relative error {g_report.max_rel_error:.1e}")
        G = gradient(p.expr, p.wrt, assumptions=p.assumptions)
        ok = g_report.ok
        if _column(G) and _column(other):  # H is the Jacobian of the gradient (numerator layout)
            h_report = check(G, other, layout="numerator", derivative=H)
            notes.append(f"Hessian check: {'OK' if h_report.ok else 'FAILED'} vs finite differences "
                         f"of the gradient at {_sizes_text(h_report.sizes)}: max relative error "
                         f"{h_report.max_rel_error:.1e}")
            ok = ok and h_report.ok
        else:
            notes.append("Hessian check: only for scalar or column-vector variables")
        status = EXIT_OK if ok else EXIT_WRONG
    rhs_tex = latex(H, p.notation)
    _emit(args, _equation_output(args, [(lhs_tex, rhs_tex, lhs_txt, text(H))], notes))
    return status


def _column(e):
    """A scalar or a column vector."""
    return not getattr(e, "is_Matrix", False) or e.cols == 1


def run_solve(args):
    from .numeric.closed_form import solve_stationary
    from .printing import latex, text

    p = Problem(args)
    cf = solve_stationary(p.expr, p.wrt, assumptions=p.assumptions)
    star = latex(p.wrt, p.notation)
    rows = [(r"\nabla L", r"%s = 0" % latex(cf.gradient, p.notation), "gradient", f"{text(cf.gradient)} = 0"),
            (r"\hat{%s}" % star, latex(cf.solution, p.notation), f"{p.wrt}*", text(cf.solution))]
    notes = [f"requires: {c}" for c in cf.conditions]
    notes.append(f"stationary point: {cf.nature} ({cf.reason})")
    notes += str(cf.check).splitlines()
    _emit(args, _equation_output(args, rows, [n.strip() for n in notes]))
    return EXIT_OK


def run_demo(args):
    import sympy as sp

    from .diff import diff
    from .numeric.check import check
    from .printing import text

    n, d = sp.symbols("n d", integer=True, positive=True)
    X, y, theta = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("theta", d, 1)
    L = (y - X * theta).T * (y - X * theta)
    print(f"L = {text(L)}    (X is n x d, y is n x 1, theta is d x 1)")
    for layout in ("denominator", "numerator"):
        g = diff(L, theta, layout=layout)
        r = check(L, theta, layout=layout)
        print(f"dL/dtheta, {layout} layout ({g.rows} x {g.cols}): {text(g)}")
        print(f"  numeric check vs central finite differences at {_sizes_text(r.sizes)}: "
              f"{'OK' if r.ok else 'FAILED'}, max relative error {r.max_rel_error:.1e}")
        if not r.ok:
            return EXIT_WRONG
    print("more: symcalc derive --help, symcalc notes --out notes")
    return EXIT_OK


def run_graph(args):
    """Forward and backward tables of a scalar Python function, read with ast (never run)."""
    from .errors import ParseError
    from .nn.graph import computation_graph

    source = args.source
    if source.strip().endswith(".py") and "\n" not in source and Path(source.strip()).is_file():
        source = Path(source.strip()).read_text()
    if not source.lstrip().startswith(("def ", "import ", "from ", "#", '"""')) and "def " not in source:
        raise ParseError("graph reads a Python function, as \"def f(x, z): return x*z + sin(x)\", or a .py "
                         "file that defines one")
    g = computation_graph(source, name=args.name)
    point = _point(args.at) if args.at else None
    if args.format == "latex":
        _emit(args, g.latex(point={k: v for k, v in point.items()} if point else None))
        return EXIT_OK
    out = str(g)
    if point:
        values = g.values(**point)
        forward, adjoint = values["forward"], values["adjoint"]
        out += "\nat " + ", ".join(f"{k} = {_number_text(float(v))}" for k, v in point.items()) + ":"
        out += "\n" + "\n".join(f"  {n.symbol} = {_number_text(float(forward[n.symbol]))}" for n in g.nodes)
        out += "\n" + "\n".join(f"  d{g.output}/d{x} = {_number_text(float(adjoint.get(x, 0)))}"
                                 for x in g.inputs)
    _emit(args, out)
    return EXIT_OK


_DERIVATIVE = re.compile(r"^d\s*/\s*d\s*([A-Za-z][A-Za-z0-9_]*)\s+(.+)$")


def read_chain(text, space, layout="denominator"):
    """[(expression, justification)] from the lines of a chain: '#' starts the justification, a
    leading '=' is optional, 'd/dNAME EXPR' is a derivative."""
    import sympy as sp

    from .derivation import ordinary, partial
    from .errors import ParseError
    from .functions import is_matrix
    from .parse import parse_in
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        body, _, reason = raw.partition("#")
        body = body.strip().removeprefix("=").strip()
        if not body:
            continue
        try:
            m = _DERIVATIVE.match(body)
            if m:
                name = m.group(1)
                if name not in space:
                    raise ParseError(f"d/d{name}: {name!r} is not declared")
                f, x = parse_in(m.group(2), space), space[name]
                if is_matrix(f) and f.shape != (1, 1):
                    raise ParseError(f"d/d{name} of a {f.rows} x {f.cols} expression: the chain takes "
                                     "derivatives of scalars")
                expr = ordinary(f, x) if not is_matrix(x) and not is_matrix(f) else \
                    partial(sp.Trace(f) if is_matrix(f) else f, x, layout)
            else:
                expr = parse_in(body, space, written=True)
        except ParseError as err:
            raise ParseError(f"line {number}: {err}") from None
        out.append((expr, reason.strip()))
    return out


def run_equalities(args):
    from .errors import ParseError
    from .parse import declare, parse_shape

    if args.file and args.lines:
        raise ParseError("give the lines as arguments or with --file, not both")
    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    else:
        text = "\n".join(line.replace("\n", " ") for line in args.lines)
    shapes = dict(parse_shape(spec) for spec in args.shape)
    space = declare(shapes, _names(args.scalar), _names(args.symmetric), _names(args.onehot),
                    _names(args.positive))
    lets = []
    for spec in args.let:
        name, sep, body = spec.partition("=")
        if not sep or not body.strip():
            raise ParseError(f"--let {spec!r} is not NAME=EXPR")
        lets.append((name.strip(), body))
    notation = None
    if args.tex:
        from .printing import Notation
        notation = Notation(names=dict(spec.split("=", 1) for spec in args.tex))
    chain = chain_of(text, space, lets, args.layout, args.title, notation)
    report = chain.check()
    _write_derivation(args, chain.derivation(), str(report))
    if report.first_false is not None:
        return EXIT_WRONG
    return EXIT_OK if report.ok else EXIT_UNVERIFIED


def chain_of(text, space, lets=(), layout="denominator", title="", notation=None):
    """An ``Equalities`` from the lines of ``text`` in the names of ``space`` (which the
    definitions ``lets``, [(name, expression text)], extend): symcalc equalities and course files."""
    import sympy as sp

    from .derivation import equalities
    from .errors import ParseError
    from .parse import check_name, parse_in

    space, definitions = dict(space), {}
    for name, body in lets:
        check_name(name, "name")
        if name in space:
            raise ParseError(f"--let {name}: {name!r} is already declared")
        value = parse_in(body, space)
        symbol = sp.MatrixSymbol(name, *value.shape) if getattr(value, "is_Matrix", False) else \
            sp.Symbol(name, real=True)
        space[name] = symbol
        definitions[symbol] = value
    lines = read_chain(text, space, layout)
    if len(lines) < 2:
        raise ParseError(f"a chain needs at least two lines, found {len(lines)}")
    return equalities(lines, definitions=definitions, title=title, notation=notation)


def run_notes(args):
    from .course import build_course
    build_course(args.course, Path(args.out), pdf=not args.no_pdf, check=not args.no_check)
    return EXIT_OK


# ---------------------------------------------------------------------- entry point

def _one_line(err):
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 400 else text[:397] + "..."


#: Unicode the output uses, in ASCII (longest first): operators as ``text(ascii=True)`` writes them
_ASCII = [("^∘", ".^"), (" ⊙ ", " .* "), ("⊙", ".*"), (" ⊘ ", " ./ "), ("⊘", "./"), (" ⊗ ", " kron "),
          ("ᵀ", "^T"), ("⁻¹", "^-1"), ("∂", "d"), ("δ", "delta"), ("Δ", "Delta"), ("θ", "theta"),
          ("σ", "sigma"), ("λ", "lambda"), ("α", "alpha"), ("β", "beta"), ("μ", "mu"), ("ε", "eps"),
          ("Σ", "sum"), ("∑", "sum"), ("·", "*"), ("×", "x"), ("−", "-"), ("≠", "!="), ("≤", "<="),
          ("≥", ">="), ("→", "->"), ("⇒", "=>"), ("∈", "in"), ("‖", "||"), ("²", "^2"), ("₂", "2"),
          ("𝟙", "1"), ("′", "'"), ("≜", ":="), ("∘", "o"), ("…", "..."), ("—", "--"), ("–", "-"),
          ("ₖ", "_k"), ("ᵢ", "_i"), ("ⱼ", "_j"), ("ŷ", "yhat"), ("✓", "ok"), ("✗", "x")]


def ascii_text(s: str) -> str:
    """``s`` in ASCII: symcalc's operators and Greek letters spelt out, accents dropped."""
    if s.isascii():
        return s
    for uni, plain in _ASCII:
        s = s.replace(uni, plain)
    import unicodedata
    return "".join(c if c.isascii() else (unicodedata.normalize("NFKD", c).encode("ascii", "ignore")
                                          .decode() or "?") for c in s)


class _AsciiStream:
    """A text stream that writes ``ascii_text`` of everything to the one it wraps."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, s):
        return self.stream.write(ascii_text(s))

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _unicode_ok(stream) -> bool:
    """Whether ``stream`` can take symcalc's Unicode (a stream with no encoding, such as a
    StringIO, takes any text)."""
    encoding = getattr(stream, "encoding", None)
    if encoding is None:
        return True
    try:
        "δ⊙ᵀ∂‖σθ∘".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


#: The library's Python words, as the command line says them
_CLI_WORDS = [
    (re.compile(r"sc\.diff\((?:\.\.\., )?vec=True\)|sc\.diff with vec=True"), "symcalc derive --vec"),
    (re.compile(r"\bvec=True\b"), "--vec"),
    (re.compile(r"\blayout=['\"](numerator|denominator)['\"]"), r"--layout \1"),
    (re.compile(r"\b(?:sp\.)?Q\.symmetric\((\w+)\)"), r"--symmetric \1"),
    (re.compile(r"\b(?:sp\.)?Q\.positive\((\w+)\)"), r"--positive \1"),
    (re.compile(r"\bsc\.SymmetricMatrix\b|\bSymmetricMatrix\b"), "--symmetric"),
    (re.compile(r"\bsc\.OneHot\b|\bOneHot\b"), "--onehot"),
    (re.compile(r"\bsc\.(\w+)\("), r"\1("),
    (re.compile(r",? or Z\.applyfunc\(f\)"), ""),
]


def cli_words(message: str) -> str:
    """An error message of the library in the command line's words (``--vec``, not ``vec=True``)."""
    for pattern, words in _CLI_WORDS:
        message = pattern.sub(words, message)
    return message


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    streams = sys.stdout, sys.stderr
    if args.ascii or not _unicode_ok(sys.stdout):
        sys.stdout = _AsciiStream(sys.stdout)
    if args.ascii or not _unicode_ok(sys.stderr):
        sys.stderr = _AsciiStream(sys.stderr)
    try:
        return _main(parser, args)
    finally:
        sys.stdout, sys.stderr = streams
        _STDIN["used"] = False


def _main(parser, args) -> int:
    prog = f"symcalc {args.command}"
    if getattr(args, "pdf", False) and not (args.standalone and args.out):
        parser.error(f"{args.command} --pdf compiles a document: give --standalone --out FILE.tex too")
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:  # noqa: BLE001 - every failure is one line and status 2
        if os.environ.get("SYMCALC_DEBUG"):
            raise
        from .errors import SymcalcError
        kind = "error" if isinstance(err, (SymcalcError, OSError)) else \
            f"internal error ({type(err).__name__}; rerun with SYMCALC_DEBUG=1 and report it)"
        print(f"{prog}: {kind}: {cli_words(_one_line(err))}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
