r"""Course files: a lecturer's booklet of derivations, written as TOML.

``symcalc notes COURSE.toml --out DIR`` (or ``build_course(path, out)``) reads a file like::

    title = "Backpropagation, worked"
    notation = "cs229"              # the networks' conventions (default, cs229, cmu, nyu)

    [[chapter]]
    title = "Least squares"
    before = "The residual sum of squares ..."      # prose: LaTeX, or Markdown with prose = "markdown"
    expression = "(y - X*theta).T*(y - X*theta)"    # the command line's expression language
    shapes = { X = "n,d", y = "n", theta = "d" }
    wrt = "theta"
    style = "chain"                 # chain, differential or index
    layouts = ["denominator", "numerator"]
    closed_form = true              # end with the stationary point, checked against lstsq/solve

    [[chapter]]
    title = "A network with numbers"
    network = "linear(1,2,intercept) sigmoid linear(2,1,intercept) sigmoid"
    loss = "bce"
    at = { x = 2.0, y = 1.0, W1 = [[0.1, 0.1], [0.2, 0.1]], W2 = [[0.5, 0.4, 0.2]] }
    lr = 0.1

Every chapter's derivation is checked numerically before anything is written; a file that does
not fit gets an error naming the chapter, the key and what would work. The booklet is written
as one document (and its PDF), each chapter as a standalone document (``NN-slug.tex``), as a
fragment to ``\input`` (``input/NN-slug.tex``) and as Markdown (``markdown/NN-slug.md``).
``symcalc notes`` without a file builds the booklet shipped as ``symcalc/booklets/default.toml``.

Prose reaches TeX through one function, ``prose_latex``.
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SymcalcError

if TYPE_CHECKING:
    from .nn.worked import WorkedExample

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_COURSE = Path(__file__).parent / "booklets" / "default.toml"

TOP_KEYS = {"title", "notation", "preface", "prose", "output"}
COMMON = {"title", "slug", "before", "after", "prose", "layouts", "notation", "tex"}
EXPRESSION_KEYS = COMMON | {"expression", "shapes", "scalars", "positive", "symmetric", "onehot", "wrt",
                            "style", "closed_form", "hessian"}
EQUALITIES_KEYS = COMMON | {"equalities", "shapes", "scalars", "positive", "symmetric", "let", "layout"}
NETWORK_KEYS = COMMON | {"network", "loss", "batch", "weights", "index", "relu_at_zero", "objective",
                         "at", "lr", "digits"}
MODEL_KEYS = COMMON | {"model", "input", "tokens", "loss", "batch", "samples"}
STYLES = ("chain", "differential", "index")
LAYOUTS = ("denominator", "numerator")


class CourseError(SymcalcError, ValueError):
    """A course file that cannot be built: names the chapter, the key, and what would work."""


# ---------------------------------------------------------------------- prose

def prose_latex(text: str, kind: str = "latex") -> str:
    """The one way a course file's prose reaches TeX: LaTeX as written, or Markdown (paragraphs,
    **bold**, *italic*, `code`, $math$ kept) turned into LaTeX with its specials escaped."""
    if kind == "latex":
        return text.strip()
    from .derivation import tex_text
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        parts = re.split(r"(\$[^$]*\$|\*\*[^*]+\*\*|\*[^*]+\*|`[^`]+`)", " ".join(para.split()))
        line = ""
        for part in parts:
            if part.startswith("$"):
                line += tex_text(part)  # math is user LaTeX: allow-listed, else set as text
            elif part.startswith("**"):
                line += r"\textbf{%s}" % tex_text(part[2:-2])
            elif part.startswith("*") and len(part) > 1:
                line += r"\emph{%s}" % tex_text(part[1:-1])
            elif part.startswith("`"):
                line += r"\texttt{%s}" % tex_text(part[1:-1])
            else:
                line += tex_text(part)
        out.append(line)
    return "\n\n".join(out)


# ---------------------------------------------------------------------- chapters

@dataclass
class Chapter:
    """A chapter built from a course file: prose, derivations, worked numbers, checks."""

    number: int
    slug: str
    title: str
    before: str = ""
    after: str = ""
    prose: str = "latex"
    derivations: list = field(default_factory=list)
    worked: WorkedExample | None = None
    extra: str = ""                 # LaTeX after the derivations (a Hessian)
    checks: list = field(default_factory=list)
    graph: bool = True

    def latex(self, heading=r"\section") -> str:
        from .derivation import tex_text
        parts = [r"%s{%s}" % (heading, tex_text(self.title))]
        if self.before:
            parts.append(prose_latex(self.before, self.prose))
        for k, d in enumerate(self.derivations):
            if len(self.derivations) > 1:
                parts.append(r"\subsection*{%s layout}" % d.layout.capitalize())
            if k == 0 and self.graph:
                graph = _graph(d)
                if graph:
                    parts.append("\\begin{center}\n%s\n\\end{center}" % graph)
            parts.append(_short_layout(d))
        if self.extra:
            parts.append(self.extra)
        if self.worked is not None:
            parts.append("\\subsection*{The numbers}\n" + self.worked.latex())
        if self.after:
            parts.append(prose_latex(self.after, self.prose))
        if self.checks:
            items = "\n".join(r"\item " + tex_text(c) for c in self.checks)
            parts.append("\\textbf{Checked numerically.}\n\\begin{itemize}\n%s\n\\end{itemize}" % items)
        return "\n\n".join(parts)

    def markdown(self, figures=False) -> str:
        """The chapter in Markdown (math for KaTeX and MathJax); ``figures`` puts the computation
        graph in as one piece of HTML (for the HTML booklet)."""
        parts = ["## %s" % self.title]
        if self.before:
            parts.append(self._prose_markdown(self.before))
        for k, d in enumerate(self.derivations):
            if len(self.derivations) > 1:
                parts.append(f"### {d.layout.capitalize()} layout")
            if figures and k == 0 and self.graph:
                parts.append(_graph_html(d))
            parts.append(d.markdown(_markdown_notation(d)))
        if self.extra:
            parts.append(_markdown(self.extra))
        if self.worked is not None:
            parts.append("### The numbers\n\n" + self.worked.markdown())
        if self.after:
            parts.append(self._prose_markdown(self.after))
        if self.checks:
            parts.append("**Checked numerically.**\n\n" + "\n".join("- " + c for c in self.checks))
        return "\n\n".join(p for p in parts if p) + "\n"

    def _prose_markdown(self, text):
        return text.strip() if self.prose == "markdown" else _markdown(text)


_TEX_MARKDOWN: list = [
    (re.compile(r"\\subsection\*?\{([^}]*)\}"), r"### \1"),
    (re.compile(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", re.S),
     lambda m: "\n$$\n\\begin{aligned}%s\\end{aligned}\n$$\n" % m.group(1)),
    (re.compile(r"\\emph\{([^}]*)\}"), r"*\1*"),
    (re.compile(r"\\textbf\{([^}]*)\}"), r"**\1**"),
]


def _markdown(tex: str) -> str:
    """LaTeX prose (sections, align*, emphasis, $...$ math) as Markdown."""
    for pattern, repl in _TEX_MARKDOWN:
        tex = pattern.sub(repl, tex)
    return tex.strip()


def _markdown_notation(d):
    from .printing import Notation
    return (d.notation or Notation()).for_markdown()


def _graph_html(d):
    """The derivation's computation graph as HTML (boxes and SVG), or "" when there is none."""
    from .printing.html import graph_html
    source = d.graph if d.graph is not None else d.expr
    if source is None:
        return ""
    params = d.parameters or ((d.wrt,) if d.wrt is not None else ())
    try:
        return graph_html(source, parameters=params, notation=_markdown_notation(d),
                          output=d._output_name() if d.graph is None else None)
    except (ValueError, TypeError, AttributeError):
        return ""


def _short_layout(d) -> str:
    """The derivation with its layout named in two words: the booklet's preface explains the
    layouts once, so the sentence is not repeated under every heading."""
    from .derivation.core import LAYOUT_TEXT
    from .derivation import tex_text
    tex = d.latex()
    if d.layout is None:  # a chain of equalities states no layout
        return tex
    long = r"\intertext{%s}" % LAYOUT_TEXT[d.layout]
    if long not in tex:
        long = r"\intertext{%s}" % tex_text(LAYOUT_TEXT[d.layout])
    return tex.replace(long, r"\intertext{\emph{%s layout.}}" % d.layout.capitalize(), 1)


def _graph(d):
    try:
        return d.graph_latex()
    except (ValueError, TypeError, AttributeError):
        return ""


def _fail(where, key, message):
    raise CourseError(f"{where}, key {key!r}: {message}")


def _check_keys(where, table, allowed):
    for key in table:
        if key not in allowed:
            import difflib
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(where, key, f"unknown key{hint}; a chapter takes {', '.join(sorted(allowed))}")


def _list(where, key, value):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(where, key, f"expected a name or a list of names, got {value!r}")
    return value


def _choice(where, key, value, choices):
    if value not in choices:
        _fail(where, key, f"{value!r} is not one of {', '.join(map(str, choices))}")
    return value


def _layouts(where, spec):
    layouts = _list(where, "layouts", spec.get("layouts", ["denominator"]))
    for layout in layouts:
        _choice(where, "layouts", layout, LAYOUTS)
    return layouts


def _sizes_text(sizes):
    return ", ".join("$%s = %s$" % (k, v) for k, v in sizes.items())


def _steps_line(d):
    report = d.check()
    if not report.ok:
        raise CourseError(f"a step of the derivation {d!r} failed its numeric check: {report}")
    where = f", sizes {_sizes_text(report.sizes)}" if report.sizes else " (its sizes are numbers)"
    return (f"every one of the {len(report.results)} steps ({d.layout} layout) holds at random "
            f"values{where}")


def expression_chapter(where, spec, number, check, prose="latex"):
    """A chapter whose model is an expression in the command line's language."""
    import sympy as sp

    from .derivation import derive
    from .errors import ParseError
    from .parse import declare, parse_in, parse_shape
    from .printing import Notation
    _check_keys(where, spec, EXPRESSION_KEYS)
    shapes = {}
    raw = spec.get("shapes", {})
    if not isinstance(raw, dict):
        _fail(where, "shapes", "expected a table such as { X = \"n,d\", y = \"n\" }")
    try:
        for name, dims in raw.items():
            shapes[name] = parse_shape(f"{name}={dims}")[1]
        space = declare(shapes, _list(where, "scalars", spec.get("scalars", [])),
                        _list(where, "symmetric", spec.get("symmetric", [])),
                        _list(where, "onehot", spec.get("onehot", [])),
                        _list(where, "positive", spec.get("positive", [])))
        expr = parse_in(spec["expression"], space)
    except ParseError as err:
        _fail(where, "expression" if "shape" not in str(err) else "shapes", str(err))
    wrt_name = spec.get("wrt")
    if wrt_name not in space:
        _fail(where, "wrt", f"{wrt_name!r} is not declared; declare it in shapes or scalars")
    wrt = space[wrt_name]
    style = _choice(where, "style", spec.get("style", "chain"), STYLES)
    tex = spec.get("tex", {})
    notation = Notation(names=tex) if tex else None
    closed = bool(spec.get("closed_form", False))
    positive = [sp.Q.positive(space[n]) for n in _list(where, "positive", spec.get("positive", []))]
    ders = [derive(expr, wrt, layout=layout, style=style, notation=notation, closed_form=closed)
            for layout in _layouts(where, spec)]
    chapter = Chapter(number, spec.get("slug") or _slug(spec["title"]), spec["title"],
                      spec.get("before", ""), spec.get("after", ""), spec.get("prose", prose), ders)
    if check:
        from .numeric.check import check as fd
        chapter.checks += [_steps_line(d) for d in ders]
        report = fd(expr, wrt)
        chapter.checks.append(f"the gradient agrees with central finite differences at "
                              f"{_sizes_text(report.sizes)} (max relative error {report.max_rel_error:.1e})")
        if closed:
            from .numeric.closed_form import solve_stationary
            cf = solve_stationary(expr, wrt, assumptions=sp.And(*positive) if positive else None)
            chapter.checks.append(f"the closed form makes the gradient vanish to "
                                  f"{cf.check.gradient_residual:.1e} (relative)")
            if cf.check.lstsq_difference is not None:
                chapter.checks.append(f"it differs from np.linalg.lstsq by {cf.check.lstsq_difference:.1e}")
    if spec.get("hessian"):
        from .diff import gradient, hessian
        from .printing import latex
        H = hessian(expr, wrt)
        w = latex(wrt, notation)
        chapter.extra = ("The Hessian, the derivative of the gradient (numerator layout of a column):\n"
                         "\\begin{align*}\n\\frac{\\partial^2 L}{\\partial %s\\, \\partial %s^{\\top}} &= %s\n"
                         "\\end{align*}" % (w, w, latex(H, notation)))
        if check:
            from .numeric.check import check as fd
            r = fd(gradient(expr, wrt), wrt, layout="numerator", derivative=H)
            chapter.checks.append(f"the Hessian agrees with differences of the gradient (max relative "
                                  f"error {r.max_rel_error:.1e})")
    return chapter


def equalities_chapter(where, spec, number, check, prose="latex"):
    """A chapter that is an author's chain of equalities (σ′ = σ(1 − σ) line by line), each line
    checked against the one before, as ``symcalc equalities`` does."""
    from .cli import chain_of
    from .errors import ParseError
    from .parse import declare, parse_shape
    from .printing import Notation
    _check_keys(where, spec, EQUALITIES_KEYS)
    lines = spec["equalities"]
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        _fail(where, "equalities", "expected a list of lines such as \"d/db 1/(1 + exp(-b))\", "
              "each with its justification after '#'")
    raw, lets = spec.get("shapes", {}), spec.get("let", {})
    if not isinstance(raw, dict) or not isinstance(lets, dict):
        _fail(where, "shapes" if not isinstance(raw, dict) else "let",
              "expected a table such as { s = \"1/(1 + exp(-b))\" }")
    tex = spec.get("tex", {})
    layout = _choice(where, "layout", spec.get("layout", "denominator"), LAYOUTS)
    try:
        shapes = {name: parse_shape(f"{name}={dims}")[1] for name, dims in raw.items()}
        space = declare(shapes, _list(where, "scalars", spec.get("scalars", [])),
                        _list(where, "symmetric", spec.get("symmetric", [])), [],
                        _list(where, "positive", spec.get("positive", [])))
        chain = chain_of("\n".join(lines), space, list(lets.items()), layout, "",
                         Notation(names=tex) if tex else None)
    except ParseError as err:
        _fail(where, "equalities", str(err))
    report = chain.check()
    if report.first_false is not None or (check and not report.ok):
        raise CourseError(f"{where}: the chain of equalities does not hold: {report}")
    derivation = chain.derivation()
    chapter = Chapter(number, spec.get("slug") or _slug(spec["title"]), spec["title"],
                      spec.get("before", ""), spec.get("after", ""), spec.get("prose", prose),
                      [derivation])
    if check:
        chapter.checks.append(f"each of the {len(chain.lines) - 1} equalities holds "
                              "(symbolically, or numerically at random values)")
    return chapter


def network_chapter(where, spec, number, check, notation, prose="latex"):
    """A chapter whose model is a network spec ("linear(d,h) relu linear(h,1)")."""
    from . import nn
    from .cli import parse_layers
    from .errors import ParseError
    _check_keys(where, spec, NETWORK_KEYS)
    try:
        layers = parse_layers(spec["network"])
    except ParseError as err:
        _fail(where, "network", str(err))
    if "loss" not in spec:
        _fail(where, "loss", "missing; a network chapter names its loss: " + ", ".join(nn.losses.LOSSES))
    preset = spec.get("notation", notation)
    try:
        conv = nn.conventions.as_convention(preset).with_(
            index=spec.get("index"), relu_at_zero=spec.get("relu_at_zero"),
            objective=spec.get("objective"), names=spec.get("tex") or None)
    except SymcalcError as err:
        _fail(where, "notation", str(err))
    try:
        net = nn.Network(layers, loss=spec["loss"], batch=spec.get("batch"), convention=conv,
                         weights=spec.get("weights"))
    except SymcalcError as err:
        _fail(where, "loss" if "loss" in str(err).lower() else "network", str(err))
    bps = [net.backprop(layout=layout) for layout in _layouts(where, spec)]
    chapter = Chapter(number, spec.get("slug") or _slug(spec["title"]), spec["title"],
                      spec.get("before", ""), spec.get("after", ""), spec.get("prose", prose),
                      [bp.derivation for bp in bps])
    if check:
        chapter.checks += [_steps_line(bp.derivation) for bp in bps]
    if "at" in spec:
        at = dict(spec["at"])
        missing = [n for n in ["x", "y"] if n not in at]
        if missing:
            _fail(where, "at", f"needs x and y as well as every parameter; missing {', '.join(missing)}")
        x, y = at.pop("x"), at.pop("y")
        try:
            chapter.worked = bps[0].worked(at, x, y, lr=spec.get("lr", 0.1), digits=spec.get("digits", 4))
        except SymcalcError as err:
            _fail(where, "at", str(err))
        worst = chapter.worked.check()
        chapter.checks.append(f"the gradients of the worked numbers agree with central differences "
                              f"of the loss to {worst:.1e}")
    return chapter


def model_chapter(where, spec, number, check, prose="latex"):
    """A chapter whose model is a graph of modules in sequence ("embedding(V,d)
    transformer_block(d,d_k,h,causal) linear(d,V) softmax"): ``input = "d"`` (features) or
    ``tokens = "V"`` (one-hot tokens over a vocabulary), a loss, batch "rows" or "columns"."""
    from . import nn
    from .cli import parse_modules
    from .errors import ParseError
    from .parse import _size
    _check_keys(where, spec, MODEL_KEYS)
    if ("input" in spec) == ("tokens" in spec):
        _fail(where, "input", "a model chapter gives its input: input = \"d\" (features) or tokens = \"V\" "
                              "(one-hot tokens over a vocabulary), one of the two")
    if "loss" not in spec:
        _fail(where, "loss", "missing; a model chapter names its loss: " + ", ".join(nn.losses.LOSSES))
    try:
        modules = parse_modules(spec["model"])
        width = {"vocabulary": _size(spec["tokens"], "tokens")} if "tokens" in spec else \
            {"width": _size(spec["input"], "input")}
        samples = _size(spec["samples"], "samples") if "samples" in spec else None
    except ParseError as err:
        _fail(where, "model", str(err))
    try:
        model = nn.Model.sequential(modules, loss=spec["loss"], batch=spec.get("batch", "rows"),
                                    samples=samples, **width)
    except SymcalcError as err:
        _fail(where, "model", str(err))
    bps = [model.backprop(layout) for layout in _layouts(where, spec)]
    chapter = Chapter(number, spec.get("slug") or _slug(spec["title"]), spec["title"],
                      spec.get("before", ""), spec.get("after", ""), spec.get("prose", prose),
                      [bp.derivation for bp in bps])
    if check:
        chapter.checks += [_steps_line(bp.derivation) for bp in bps]
        for bp in bps:
            reports = bp.check(sizes=_small_sizes(bp), seed=0)
            bad = [v.name for v, r in reports.items() if not r.ok]
            if bad:
                _fail(where, "model", f"the gradients of {', '.join(bad)} disagree with finite differences")
            worst = max(r.max_rel_error for r in reports.values())
            chapter.checks.append(f"{bp.layout} layout: all {len(reports)} gradients agree with central "
                                  f"differences of the loss to {worst:.1e} (relative)")
    return chapter


def _small_sizes(bp):
    """Distinct small sizes for a model's size symbols (a transposition cannot hide)."""
    import sympy as sp
    symbols = sorted({s for p in bp.model.parameters + bp.model.inputs for d in p.shape
                      for s in sp.sympify(d).free_symbols}, key=str)
    return {s: 3 + i for i, s in enumerate(symbols)}


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "chapter"


# ---------------------------------------------------------------------- the course

@dataclass
class Course:
    title: str
    chapters: list
    preface: str = ""
    prose: str = "latex"
    name: str = "symcalc-notes"


def load(path, check=True, progress=print) -> Course:
    """Read and build a course file (every chapter checked unless ``check=False``)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise CourseError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise CourseError(f"cannot read the course file {path}: {err}") from None
    for key in data:
        if key not in TOP_KEYS | {"chapter"}:
            raise CourseError(f"{path}: unknown top-level key {key!r}; a course file has "
                              f"{', '.join(sorted(TOP_KEYS))} and [[chapter]] tables")
    specs = data.get("chapter", [])
    if not specs:
        raise CourseError(f"{path}: no chapters; add [[chapter]] tables with a title and an "
                          "expression (with shapes and wrt) or a network (with a loss)")
    notation = data.get("notation", "default")
    chapters = []
    for number, spec in enumerate(specs, start=1):
        title = spec.get("title")
        where = f"{path.name}, chapter {number}" + (f" ({title!r})" if title else "")
        if not isinstance(title, str) or not title:
            _fail(where, "title", "every chapter needs a title")
        if spec.get("prose", data.get("prose", "latex")) not in ("latex", "markdown"):
            _fail(where, "prose", "is 'latex' or 'markdown'")
        start = time.perf_counter()
        prose = data.get("prose", "latex")
        if "expression" in spec:
            chapter = expression_chapter(where, spec, number, check, prose)
        elif "network" in spec:
            chapter = network_chapter(where, spec, number, check, notation, prose)
        elif "model" in spec:
            chapter = model_chapter(where, spec, number, check, prose)
        elif "equalities" in spec:
            chapter = equalities_chapter(where, spec, number, check, prose)
        else:
            raise CourseError(f"{where}: a chapter needs a model: 'expression' (with 'shapes' and "
                              "'wrt'), 'network' (with 'loss'), 'model' (modules, with 'input' or 'tokens' and "
                              "'loss') or 'equalities' (a chain of lines)")
        for d in chapter.derivations:
            progress(f"[{number}/{len(specs)}] {chapter.title}: {d.layout} layout, {len(d.steps)} steps"
                     + (", checked" if check else "") + f" ({time.perf_counter() - start:.1f} s)")
        chapters.append(chapter)
    return Course(data.get("title", "Derivations"), chapters, data.get("preface", ""),
                  data.get("prose", "latex"), data.get("output", "symcalc-notes"))


def booklet_latex(course: Course) -> str:
    from .derivation import tex_text
    head = r"\begin{center}{\LARGE %s}\end{center}" % tex_text(course.title)
    preface = prose_latex(course.preface, course.prose) if course.preface else ""
    body = [head, preface, r"\tableofcontents", r"\clearpage"]
    body += [c.latex() for c in course.chapters]
    return "\n\n".join(b for b in body if b)


def write(course: Course, out, pdf=True, progress=print) -> list:
    """Write the booklet, each chapter three ways, and compile the booklet: the one place the
    notes builder writes files."""
    from .printing import compile_pdf, have_latex, standalone
    from .printing.html import markdown_html, page
    out = Path(out)
    (out / "input").mkdir(parents=True, exist_ok=True)
    (out / "markdown").mkdir(parents=True, exist_ok=True)
    written = []
    for c in course.chapters:
        stem = f"{c.number:02d}-{c.slug}"
        path = out / f"{stem}.tex"
        path.write_text(standalone(c.latex(r"\section*")), encoding="utf-8")
        (out / "input" / f"{stem}.tex").write_text(c.latex(r"\section") + "\n", encoding="utf-8")
        (out / "markdown" / f"{stem}.md").write_text(c.markdown(), encoding="utf-8")
        written.append(path)
    head = [f"# {course.title}"]
    if course.preface:
        head.append(course.preface.strip() if course.prose == "markdown" else _markdown(course.preface))
    head.append("**Contents.**\n\n" + "\n".join(f"- {c.title}" for c in course.chapters))
    markdown = out / f"{course.name}.md"
    markdown.write_text("\n\n".join(head + [c.markdown() for c in course.chapters]), encoding="utf-8")
    html = out / f"{course.name}.html"
    body = markdown_html("\n\n".join(head + [c.markdown(figures=True) for c in course.chapters]))
    html.write_text(page(course.title, body), encoding="utf-8")
    progress(f"wrote {markdown} and {html} (open it in a browser; it needs no internet)")
    booklet = out / f"{course.name}.tex"
    booklet.write_text(standalone(booklet_latex(course)), encoding="utf-8")
    written.append(booklet)
    progress(f"wrote {len(written)} .tex files to {out}/: " + ", ".join(p.name for p in written)
             + f" (fragments to \\input in {out / 'input'}/, Markdown in {out / 'markdown'}/)")
    if not pdf:
        return written
    if not have_latex():
        progress("no TeX (latexmk/pdflatex), so no PDF: TeX adds the typeset booklet for printing, "
                 "compiled from the .tex chapters you can \\input into your notes; on Debian or Ubuntu: "
                 "apt-get install -y --no-install-recommends texlive-latex-base texlive-latex-recommended latexmk")
        return written
    progress(f"compiling {booklet} with latexmk ...")
    result = compile_pdf(booklet)
    import subprocess  # the PDF compiled: remove LaTeX's auxiliary files (.aux, .log, .toc, ...)
    subprocess.run(["latexmk", "-c", booklet.name], cwd=out, capture_output=True, timeout=60)
    progress(f"wrote {result}")
    return written + [result]


def build_course(path=None, out="notes", pdf=True, check=True, progress=print):
    """Build a course file (the shipped booklet when ``path`` is None) into ``out``."""
    course = load(path or DEFAULT_COURSE, check=check, progress=progress)
    return write(course, out, pdf=pdf, progress=progress)
