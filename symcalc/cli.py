"""The ``symcalc`` command line: derive, net, verify, hessian, solve, notes and demo.

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
import time
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
  symcalc derive {LEAST_SQUARES} --standalone --out ls.tex --pdf""",
    "net": """examples:
  symcalc net "linear(d,h) sigmoid linear(h,1) sigmoid" --loss bce
  symcalc net "linear(d,h) relu linear(h,k) softmax" --loss cross_entropy --batch columns
  symcalc net "linear(d,h) tanh linear(h,1)" --loss squared_error --batch rows --layout numerator
  symcalc net "linear(1,2,intercept) sigmoid linear(2,1,intercept) sigmoid" --loss bce --check
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
    "notes": """examples:
  symcalc notes                   (writes notes/symcalc-notes.tex, one .tex per derivation, and the PDF)
  symcalc notes --out booklet --no-pdf""",
    "demo": """examples:
  symcalc demo""",
}

GRAMMAR = """expressions: names, numbers, + - * / @ **, .T, unary minus, parentheses, M[i, j], and the
functions sigmoid relu tanh softplus exp log sqrt sin cos leaky_relu(Z, alpha) tr det logdet inv
sum mean softmax logsumexp norm2 frobenius2 hadamard(A, B) kron(A, B) diag mse bce cross_entropy
eye(n) ones(m, n) zeros(m, n). Declare every name: --shape X=n,d (x=n is a column), --scalar a,
--positive lam, --symmetric A, --onehot y. Text that starts with a minus sign: --claim=-2*x,
or a leading space (" -x.T*x"), so that it is not taken for an option."""


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr, status 2."""

    def error(self, message):
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="symcalc", formatter_class=formatter,
        description="Symbolic matrix calculus: derivatives in numerator or denominator layout, "
                    "step-by-step derivations, backpropagation, checked numerically.",
        epilog="\n\n".join(EXAMPLES[k].replace("examples:", f"{k}:") for k in EXAMPLES)
        + "\n\n" + GRAMMAR)
    parser.add_argument("--version", action="version", version=f"symcalc {_version()}")
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

    net = command("net", "derive backpropagation through a feed-forward network", run_net)
    net.add_argument("layers", help='the layers, e.g. "linear(d,h) sigmoid linear(h,1) sigmoid"')
    net.add_argument("--loss", required=True, help="squared_error, mse, bce, logistic or cross_entropy")
    net.add_argument("--batch", choices=("rows", "columns"),
                     help="samples as the rows or the columns of X (default: one sample)")
    net.add_argument("--layout", choices=("denominator", "numerator"), default="denominator")
    _output_options(net)
    net.add_argument("--pdf", action="store_true", help="compile the --standalone --out file")
    net.add_argument("--check", action="store_true", help="also check every step numerically")

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

    notes = command("notes", "build the booklet of derivations (.tex files and a PDF)", run_notes)
    notes.add_argument("--out", default="notes", metavar="DIR", help="output folder (default: notes)")
    notes.add_argument("--no-pdf", action="store_true", help="write the .tex files only")
    notes.add_argument("--no-check", action="store_true", help="skip the numeric check of the steps")

    command("demo", "the least-squares gradient and its numeric check", run_demo)
    return parser


def _version():
    try:
        from importlib.metadata import version
        return version("symcalc")
    except Exception:  # noqa: BLE001 - not installed: the version is unknown, not an error
        return "unknown"


def _expression_options(p):
    p.add_argument("expr", help="the expression, e.g. \"(y - X*theta).T*(y - X*theta)\"")
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
    p.add_argument("--wrt", required=True, metavar="NAME", help="the variable")
    p.add_argument("--layout", choices=("denominator", "numerator"), default="denominator",
                   help="denominator (gradient has the variable's shape; default) or numerator")


def _output_options(p):
    p.add_argument("--format", choices=("text", "latex", "markdown"), default="text")
    p.add_argument("--standalone", action="store_true",
                   help="a complete LaTeX document (implies --format latex)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")


# ---------------------------------------------------------------------- shared pieces

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
        self.expr = self.parse(args.expr)
        self.wrt = self.symbol(args.wrt, "--wrt")
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
        path.write_text(content if content.endswith("\n") else content + "\n")
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
                with path.open("a") as f:
                    f.write(extra + "\n")
            if not args.out:
                print(path.read_text(), end="")
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


_LAYER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^()]*)\))?\s*")


def parse_layers(spec):
    """``"linear(d,h) sigmoid linear(h,1) sigmoid"`` -> symcalc.nn layers."""
    from . import nn
    from .errors import ParseError
    from .nn.layers import ACTIVATIONS
    from .parse import _size

    layers, pos, k = [], 0, 0
    spec = spec.strip()
    while pos < len(spec):
        m = _LAYER.match(spec, pos)
        if not m or m.end() == pos:
            raise ParseError(f"column {pos + 1}: cannot read a layer at {spec[pos:pos + 20]!r}; "
                             "write e.g. \"linear(d,h) sigmoid linear(h,1) sigmoid\"")
        name, inner = m.group(1).lower(), m.group(2)
        parts = [a.strip() for a in inner.split(",")] if inner is not None else []
        where = f"column {pos + 1}: {m.group(0).strip()}"
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
        pos = m.end()
    if not layers:
        raise ParseError("no layers given; write e.g. \"linear(d,h) sigmoid linear(h,1) sigmoid\"")
    return layers


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

    if args.loss.lower() not in LOSSES:
        raise ParseError(f"unknown loss {args.loss!r}; losses are " + ", ".join(LOSSES))
    net = nn.Network(parse_layers(args.layers), loss=args.loss.lower(), batch=args.batch)
    bp = net.backprop(layout=args.layout)
    d = bp.derivation
    extra, status = "", EXIT_OK
    if args.check:
        report = d.check()
        extra = f"step check: {report}"
        status = EXIT_OK if report.ok else EXIT_WRONG
    _write_derivation(args, d, extra)
    return status


def run_verify(args):
    from .numeric.verify import verify

    p = Problem(args)
    claim = p.parse(args.claim)
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


def run_notes(args):
    return build_notes(Path(args.out), pdf=not args.no_pdf, check=not args.no_check)


# ---------------------------------------------------------------------- the booklet

class Chapter:
    """One section of the booklet: an introduction, derivations, and what was checked."""

    def __init__(self, slug, title, intro, derivations, extra="", checks=()):
        self.slug, self.title, self.intro = slug, title, intro
        self.derivations, self.extra, self.checks = derivations, extra, list(checks)

    def latex(self, heading=r"\section"):
        parts = [f"{heading}{{{self.title}}}", self.intro]
        for d in self.derivations:
            if len(self.derivations) > 1:
                parts.append(r"\subsection*{%s layout}" % d.layout.capitalize())
            graph = _graph(d) if d is self.derivations[0] else ""
            if graph:
                parts.append("\\begin{center}\n%s\n\\end{center}" % graph)
            parts.append(d.latex())
        if self.extra:
            parts.append(self.extra)
        if self.checks:
            from .derivation import tex_text
            items = "\n".join(r"\item " + tex_text(c) for c in self.checks)
            parts.append("\\textbf{Checked numerically.}\n\\begin{itemize}\n%s\n\\end{itemize}" % items)
        return "\n\n".join(parts)


def _graph(d):
    """The computation graph, or "" when the printer cannot draw it (the derivation stands alone)."""
    try:
        return d.graph_latex()
    except (ValueError, TypeError, AttributeError):
        return ""


def _sizes():
    import sympy as sp
    return sp.symbols("n d h K", integer=True, positive=True)


def _fd_line(what, report):
    return (f"{what}: {'agrees' if report.ok else 'DISAGREES'} with central finite differences at "
            f"{_sizes_text(report.sizes, True)} (max relative error {report.max_rel_error:.1e})")


def _steps_line(d, check):
    if not check:
        return None
    report = d.check()
    if not report.ok:
        from .errors import SymcalcError
        raise SymcalcError(f"a step of the derivation {d!r} failed its numeric check: {report}")
    where = f", sizes {_sizes_text(report.sizes, True)}" if report.sizes else " (its sizes are numbers)"
    return (f"every one of the {len(report.results)} steps ({d.layout} layout) holds at random "
            f"values{where}")


def _closed_form_lines(cf):
    lines = [f"the closed form makes the gradient vanish to {cf.check.gradient_residual:.1e} (relative)"]
    if cf.check.solve_difference is not None:
        lines.append(f"it differs from np.linalg.solve of the normal equations by {cf.check.solve_difference:.1e}")
    if cf.check.lstsq_difference is not None:
        lines.append(f"it differs from np.linalg.lstsq by {cf.check.lstsq_difference:.1e}")
    return lines


def _chapter_least_squares(check):
    import sympy as sp

    from .derivation import derive
    from .numeric.check import check as fd
    from .numeric.closed_form import solve_stationary
    n, d, _, _ = _sizes()
    X, y, theta = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("theta", d, 1)
    L = (y - X * theta).T * (y - X * theta)
    der = derive(L, theta)
    cf = solve_stationary(L, theta)
    checks = [_steps_line(der, check), _fd_line("the gradient", fd(L, theta)), *_closed_form_lines(cf)]
    intro = (r"The residual sum of squares $L(\boldsymbol{\theta}) = (\mathbf{y} - \mathbf{X}\boldsymbol{\theta})^{\top}"
             r"(\mathbf{y} - \mathbf{X}\boldsymbol{\theta})$ of a linear model with design matrix "
             r"$\mathbf{X} \in \mathbb{R}^{n \times d}$. Its gradient is affine in "
             r"$\boldsymbol{\theta}$, so setting it to zero gives the normal equations and their solution.")
    return Chapter("least-squares", "Least squares and its closed form", intro, [der], "",
                   [c for c in checks if c])


def _chapter_ridge(check):
    import sympy as sp

    from .derivation import derive
    from .numeric.check import check as fd
    from .numeric.closed_form import solve_stationary
    from .printing import Notation
    n, d, _, _ = _sizes()
    X, y, theta = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("theta", d, 1)
    lam = sp.Symbol("lam", positive=True)
    L = (y - X * theta).T * (y - X * theta) + lam * theta.T * theta
    notation = Notation(names={"lam": r"\lambda"})
    der = derive(L, theta, style="differential", notation=notation)
    cf = solve_stationary(L, theta, assumptions=sp.Q.positive(lam))
    checks = [_steps_line(der, check), _fd_line("the gradient", fd(L, theta)), *_closed_form_lines(cf)]
    intro = (r"Least squares with a penalty $\lambda \boldsymbol{\theta}^{\top}\boldsymbol{\theta}$, "
             r"$\lambda > 0$. The penalty adds $2\lambda\boldsymbol{\theta}$ to the gradient and "
             r"$\lambda \mathbf{I}$ to the normal equations, which makes them solvable for every $\mathbf{X}$.")
    intro += (" The derivation is written with differentials: $dL$ is linear in $d\\boldsymbol{\\theta}$, "
              "and the gradient is read off it.")
    return Chapter("ridge", "Ridge regression", intro, [der], "",
                   [c for c in checks if c])


def _chapter_logistic(check):
    import sympy as sp

    from . import functions as F
    from .derivation import derive
    from .diff import gradient, hessian
    from .numeric.check import check as fd
    from .printing import latex
    n, d, _, _ = _sizes()
    X, y, w = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("w", d, 1)
    L = F.bce(F.sigmoid(X * w), y)
    der = derive(L, w)
    H = hessian(L, w)
    checks = [_steps_line(der, check), _fd_line("the gradient", fd(L, w)),
              _fd_line("the Hessian (against differences of the gradient)",
                       fd(gradient(L, w), w, layout="numerator", derivative=H))]
    extra = ("The Hessian, the derivative of the gradient (numerator layout of a column, "
             "$d \\times d$):\n\\begin{align*}\n\\frac{\\partial^2 L}{\\partial %s\\, \\partial %s^{\\top}} "
             "&= %s\n\\end{align*}" % (latex(w), latex(w), latex(H)))
    intro = (r"The binary cross-entropy of a logistic model, $L(\mathbf{w}) = -\sum_i [y_i \log \sigma(\mathbf{x}_i^{\top}"
             r"\mathbf{w}) + (1 - y_i)\log(1 - \sigma(\mathbf{x}_i^{\top}\mathbf{w}))]$ with the samples as the rows "
             r"of $\mathbf{X}$, its gradient and its Hessian, which is positive semidefinite: the loss is convex.")
    return Chapter("logistic-regression", "Logistic regression: gradient and Hessian", intro, [der],
                   extra, [c for c in checks if c])


def _chapter_mlp(check):
    from . import nn
    _, d, h, _ = _sizes()
    net = nn.Network([nn.Linear(d, h), nn.Sigmoid(), nn.Linear(h, 1), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy())
    ders = [net.backprop(layout=layout).derivation for layout in ("denominator", "numerator")]
    intro = (r"A network with one hidden layer of $h$ sigmoid units and a sigmoid output, trained with "
             r"binary cross-entropy on one sample $\mathbf{x} \in \mathbb{R}^{d}$. The backward pass is "
             r"the $\delta$ recursion; the two layouts give transposed $\delta$'s and gradients, and "
             r"their chain rules multiply the same local Jacobians in opposite orders.")
    return Chapter("mlp", "A two-layer perceptron in both layouts", intro, ders, "",
                   [c for c in (_steps_line(x, check) for x in ders) if c])


def _chapter_softmax(check):
    from . import nn
    _, d, _, K = _sizes()
    net = nn.Network([nn.Linear(d, K), nn.Softmax()], loss=nn.CrossEntropy(), batch="columns")
    der = net.backprop().derivation
    intro = (r"Softmax regression on $n$ samples stored as the columns of $\mathbf{X}$, with one-hot "
             r"targets $\mathbf{Y}$ and the cross-entropy loss. The softmax Jacobian and the loss's "
             r"gradient combine into $\mathbf{A} - \mathbf{Y}$, because each column of $\mathbf{Y}$ sums to one.")
    return Chapter("softmax-cross-entropy", "Softmax and cross-entropy", intro, [der], "",
                   [c for c in [_steps_line(der, check)] if c])


#: The 1-2-3-1 sigmoid network of the CPE 486/586 slides: weights with the intercept in column 0.
WORKED_WEIGHTS = {
    "W1": [[0.1, 0.1], [0.2, 0.1]],
    "W2": [[0.3, 0.2, 0.1], [0.1, 0.3, 0.2], [0.2, 0.1, 0.3]],
    "W3": [[0.5, 0.4, 0.2, 0.6]],
}
WORKED_INPUT, WORKED_TARGET = 2.0, 1.0


def _decimal(v):
    """Four significant digits, as LaTeX: 0.2563, -0.002621, 1.2 \\times 10^{-5}."""
    text = f"{v:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return r"%s \times 10^{%d}" % (mantissa, int(exponent))
    return text


def _bmatrix(a):
    import numpy as np
    rows = np.atleast_2d(np.asarray(a, dtype=float))
    if rows.size == 1:
        return _decimal(rows.item())
    body = " \\\\ ".join(" & ".join(_decimal(v) for v in row) for row in rows)
    return "\\begin{bmatrix} %s \\end{bmatrix}" % body


def _chapter_worked(check):
    import numpy as np

    from . import nn
    from .numeric.check import numeric_derivative
    net = nn.Network([nn.Linear(1, 2, intercept=True), nn.Sigmoid(), nn.Linear(2, 3, intercept=True),
                      nn.Sigmoid(), nn.Linear(3, 1, intercept=True), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy())
    bp = net.backprop()
    der = bp.derivation
    params = {k: np.array(v) for k, v in WORKED_WEIGHTS.items()}
    x, y = np.array([[WORKED_INPUT]]), np.array([[WORKED_TARGET]])
    _, backward = bp.numpy()
    grads = backward(params, x, y)
    loss = bp.numpy_loss()
    rows, a = [], x  # the forward pass, written out with NumPy
    for k in (1, 2, 3):
        z = params[f"W{k}"] @ np.vstack([[1.0], a])
        a = 1 / (1 + np.exp(-z))
        bold = (lambda s: s) if z.size == 1 else (lambda s: r"\mathbf{%s}" % s)  # z3 is a number
        rows += [(f"{bold('z')}_{{{k}}}", _bmatrix(z)), (f"{bold('a')}_{{{k}}}", _bmatrix(a))]
    rows.append(("L", _decimal(float(loss(params, x, y)))))
    rows += [(r"\frac{\partial L}{\partial \mathbf{W}_{%d}}" % k, _bmatrix(grads[f"W{k}"])) for k in (1, 2, 3)]
    worst = 0.0
    for name, value in params.items():
        def f(W, name=name):
            return float(loss({**params, name: W}, x, y))
        fd = numeric_derivative(f, value)
        worst = max(worst, float(np.max(np.abs(fd - grads[name]))))
    weights = ", ".join(r"$\mathbf{W}_{%d} = %s$" % (k, _bmatrix(params[f"W{k}"])) for k in (1, 2, 3))
    extra = ("\\subsection*{The numbers}\nWith the weights %s (column 0 holds the intercepts), the "
             "input $x = %s$ and the label $y = %s$, the generated NumPy code gives:\n"
             "\\begin{align*}\n%s\n\\end{align*}" % (
                 weights, WORKED_INPUT, WORKED_TARGET, " \\\\\n".join(f"{l} &= {r}" for l, r in rows)))
    checks = [c for c in [_steps_line(der, check)] if c]
    checks.append(f"the gradients above agree with central differences of the loss to {worst:.1e}")
    intro = (r"A small network with numbers: one input, hidden layers of two and three sigmoid units, "
             r"one sigmoid output, the intercepts folded into column 0 of each weight matrix, and "
             r"binary cross-entropy. The derivation is the one a lecture works by hand; the numbers "
             r"below come from the code symcalc generates from it.")
    return Chapter("worked-1-2-3-1", "A 1-2-3-1 sigmoid network, worked with numbers", intro, [der],
                   extra, checks)


CHAPTERS = (_chapter_least_squares, _chapter_ridge, _chapter_logistic, _chapter_mlp,
            _chapter_softmax, _chapter_worked)

PREFACE = r"""\begin{center}{\LARGE symcalc: derivations for lecture notes}\end{center}

Every derivation below was produced by symcalc from the model's definition and checked
numerically; the list after each one says how. Vectors are bold lowercase, matrices bold
uppercase. \emph{Denominator layout} lays a derivative out by its denominator: a gradient has the
shape of its variable and the chain rule multiplies local derivatives from the input to the
output. \emph{Numerator layout} is the Jacobian convention: the derivative of an $m$-vector by an
$n$-vector is $m \times n$ and the chain rule runs from the output to the input. The two are
transposes of each other.

\tableofcontents"""


def build_notes(out: Path, pdf=True, check=True) -> int:
    """Write the booklet's chapters (one standalone .tex each) and the whole booklet; compile it."""
    from .printing import compile_pdf, have_latex, standalone

    out.mkdir(parents=True, exist_ok=True)
    sections, written = [], []
    count = 0
    for number, make in enumerate(CHAPTERS, start=1):
        start = time.perf_counter()
        chapter = make(check)
        for d in chapter.derivations:
            count += 1
            steps = len(d.steps)
            print(f"[{number}/{len(CHAPTERS)}] {chapter.title}: {d.layout} layout, {steps} steps"
                  + (", checked" if check else "") + f" ({time.perf_counter() - start:.1f} s)",
                  flush=True)
        path = out / f"{number:02d}-{chapter.slug}.tex"
        path.write_text(standalone(chapter.latex(r"\section*"), title=None))
        written.append(path)
        sections.append(chapter.latex())
    booklet = out / "symcalc-notes.tex"
    booklet.write_text(standalone(PREFACE + "\n\n" + "\n\n\\clearpage\n".join(sections)))
    written.append(booklet)
    print(f"wrote {len(written)} .tex files ({count} derivations) to {out}/: "
          + ", ".join(p.name for p in written))
    if not pdf:
        return EXIT_OK
    if not have_latex():
        print("latexmk/pdflatex not found, so no PDF; on Debian or Ubuntu: apt-get install -y "
              "--no-install-recommends texlive-latex-base texlive-latex-recommended latexmk")
        return EXIT_OK
    print(f"compiling {booklet} with latexmk ...", flush=True)
    pdf = compile_pdf(booklet)
    import subprocess  # the PDF compiled: remove LaTeX's auxiliary files (.aux, .log, .toc, ...)
    subprocess.run(["latexmk", "-c", booklet.name], cwd=out, capture_output=True, timeout=60)
    print(f"wrote {pdf}")
    return EXIT_OK


# ---------------------------------------------------------------------- entry point

def _one_line(err):
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
        print(f"{prog}: {kind}: {_one_line(err)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
