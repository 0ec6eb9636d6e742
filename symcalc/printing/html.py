r"""HTML without TeX or JavaScript: math as MathML, for Jupyter and the offline booklet.

LaTeX is turned into MathML by ``latex2mathml`` (pure Python); browsers draw MathML themselves,
so a page needs no script, no font and nothing from the internet. ``markdown_html`` turns the
Markdown symcalc writes (headings, paragraphs, lists, ``**bold**``, ``$$`` blocks and ``$...$``
inline math) into HTML, and ``page`` wraps it in a self-contained document. ``graph_html`` draws
a computation graph with the layout of the LaTeX picture (``printing.graph``): boxes in HTML,
edges in SVG.

``install`` gives the result objects a ``_repr_html_`` (Jupyter shows a table): ``CheckReport``,
``StepReport``, ``Verdict``, ``ClosedForm``, ``nn.ComputationGraph`` (its tables and its graph)
and ``printing.ComputationGraph`` (the graph). Printing reads the math's
objects; the math does not import printing.
"""
from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

_INLINE = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)

#: the booklet page's own style; STYLE is what the tables and graphs need anywhere
PAGE_STYLE = """
body { font-family: "DejaVu Serif", Georgia, serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #222; }
h1, h2, h3 { font-family: "DejaVu Sans", Helvetica, sans-serif; }
"""

STYLE = """
math[display="block"] { margin: 0.8em 0; overflow-x: auto; max-width: 100%; }
mtd { padding: 0.15em 0.2em; }
mtable mtr mtd:nth-child(4n+1) { padding-left: 1.2em; }
.symcalc table { border-collapse: collapse; margin: 0.4em 0; }
.symcalc td, .symcalc th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left !important;
                           vertical-align: top; }
.symcalc .ok { color: #17702a; font-weight: bold; }
.symcalc .bad { color: #b00020; font-weight: bold; }
.symcalc .unsure { color: #8a5a00; font-weight: bold; }
.symcalc pre { margin: 0; font-size: 90%; }
.graph { position: relative; margin: 1em auto; }
.graph .box { position: absolute; transform: translate(-50%, -50%); border: 1px solid #333;
              padding: 1px 5px; white-space: nowrap; background: white; }
"""

#: the LaTeX picture's xcolor fills, as CSS
_FILL = {"blue!12": "#e0eaff", "green!15": "#d9f2dc", "orange!20": "#ffe6cc", "white": "white"}


# ---------------------------------------------------------------------- math and text

def math(tex: str, display: bool = False) -> str:
    """MathML for LaTeX math (``display`` for a block); ``aligned`` rows become a table, as
    latex2mathml does for ``align*``."""
    tex = re.sub(r"\\(begin|end)\{aligned\}", r"\\\1{align*}", tex.strip())
    return convert(tex, display="block" if display else "inline")


def text_html(s: str) -> str:
    """Plain text with ``$...$`` math, escaped, the math as MathML."""
    out, end = [], 0
    for m in _INLINE.finditer(s):
        out.append(html.escape(s[end:m.start()]))
        out.append(math(m.group(1)))
        end = m.end()
    out.append(html.escape(s[end:]))
    return "".join(out)


def _inline(s: str) -> str:
    """A Markdown line's inline parts: math, **bold**, *italic*, `code`."""
    parts = re.split(r"(`[^`]+`)", s)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("<code>%s</code>" % html.escape(part[1:-1]))
            continue
        t = text_html(part)
        t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
        t = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<em>\1</em>", t)
        out.append(t)
    return "".join(out)


def markdown_html(md: str) -> str:
    """HTML for the Markdown symcalc writes; raw HTML blocks (lines starting with ``<``) pass."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush():
        if para:
            out.append("<p>%s</p>" % _inline(" ".join(para)))
            para.clear()
        if items:
            out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % _inline(i) for i in items))
            items.clear()

    blocks = _DISPLAY.split(md)
    for k, block in enumerate(blocks):
        if k % 2:  # a $$ ... $$ block
            flush()
            out.append(math(block, display=True))
            continue
        for line in block.split("\n"):
            stripped = line.strip()
            heading = re.match(r"^(#{1,4})\s+(.*)$", stripped)
            if not stripped:
                flush()
            elif heading:
                flush()
                level = len(heading.group(1))
                anchor = re.sub(r"[^a-z0-9]+", "-", heading.group(2).lower()).strip("-")
                out.append('<h%d id="%s">%s</h%d>' % (level, anchor, _inline(heading.group(2)), level))
            elif stripped.startswith("- "):
                if para:
                    flush()
                items.append(stripped[2:])
            elif stripped.startswith("<"):
                flush()
                out.append(line)
            elif items:
                items[-1] += " " + stripped
            else:
                para.append(stripped)
        flush()
    return "\n".join(out)


def page(title: str, body: str) -> str:
    """A complete HTML document: UTF-8, the style inline, nothing loaded from elsewhere."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{PAGE_STYLE}{STYLE}</style>\n</head>\n"
            f"<body class=\"symcalc\">\n{body}\n</body>\n</html>\n")


# ---------------------------------------------------------------------- computation graphs

def graph_html(expr, parameters=(), notation=None, output=None, scale: float = 1.5) -> str:
    """The computation graph of ``expr`` (``printing.graph``'s layout), as HTML: boxes with
    MathML labels over SVG edges. "" when there is nothing to draw."""
    from ..errors import SymcalcError
    from .graph import ComputationGraph
    try:
        g = ComputationGraph(expr, parameters=parameters, notation=notation, output=output)
    except SymcalcError:
        return ""
    return figure_html(g, scale)


def figure_html(g, scale: float = 1.5) -> str:
    """A laid-out ``printing.graph.ComputationGraph`` as HTML: boxes with MathML labels, placed
    where the layout put them, over the layout's edges (cubic splines) drawn in SVG."""
    from .graph import COLORS
    pad = 6.0
    w, h = (g.width + 2 * pad) * scale, (g.height + 2 * pad) * scale

    def xy(point):  # layout coordinates (bp, y up) to pixels (y down)
        x, y = point
        return (x + pad) * scale, (g.height - y + pad) * scale

    lines = []
    for edge in g.edges:
        pts = [xy(p) for p in edge.path]
        d = "M%.1f,%.1f" % pts[0] + "".join(
            " C%.1f,%.1f %.1f,%.1f %.1f,%.1f" % (*pts[k], *pts[k + 1], *pts[k + 2])
            for k in range(1, len(pts) - 2, 3))
        lines.append('<path d="%s" fill="none" stroke="#555" marker-end="url(#arrow)"/>' % d)
        if edge.mark and edge.label_at is not None:
            x, y = xy(edge.label_at)
            lines.append('<text x="%.1f" y="%.1f" font-size="13" text-anchor="middle" '
                         'dominant-baseline="middle">%s</text>' % (x, y, html.escape(
                             "−" if edge.mark == "-" else edge.mark)))
    boxes = []
    for node in g.nodes:
        x, y = xy((node.x, node.y))
        label = "<br/>".join(math(t) for t in node.lines)
        boxes.append('<div class="box" style="left:%.1fpx;top:%.1fpx;min-width:%.0fpx;background:%s">%s</div>'
                     % (x, y, (node.width - 4) * scale, _FILL.get(COLORS[node.kind], "white"), label))
    svg = ('<svg width="%.0f" height="%.0f" style="position:absolute;left:0;top:0">'
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
           '</marker></defs>%s</svg>' % (w, h, "".join(lines)))
    return ('<figure class="graph" style="position:relative;width:%.0fpx;height:%.0fpx">%s%s</figure>'
            % (w, h, svg, "".join(boxes)))


# ---------------------------------------------------------------------- result objects

def _status(ok, text=None) -> str:
    cls = {True: "ok", False: "bad", None: "unsure"}[ok]
    return '<span class="%s">%s</span>' % (cls, html.escape(text or ("OK" if ok else "MISMATCH")))


def _table(rows) -> str:
    body = "".join("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(k), v) for k, v in rows)
    return '<table>%s</table>' % body


def _wrap(body: str) -> str:
    return '<div class="symcalc"><style>%s</style>%s</div>' % (STYLE, body)


def _code(s) -> str:
    return "<code>%s</code>" % html.escape(str(s))


def _sizes(sizes) -> str:
    return html.escape(", ".join(f"{k} = {v}" for k, v in sizes.items()) or "none")


def check_report_html(r) -> str:
    rows = [("check", _status(r.ok)),
            ("derivative", _code(f"d({r.expr})/d({r.wrt})") + f" in {html.escape(r.layout)} layout"
             + (" (vec form)" if r.vec else "")),
            ("result", _code(r.derivative)),
            ("sizes", f"{_sizes(r.sizes)}; seed {r.seed}"),
            ("max relative error", f"{r.max_rel_error:.3g} (tolerance {r.tolerance:g})"),
            ("max absolute error", f"{r.max_abs_error:.3g}")]
    if r.message:
        rows.append(("note", html.escape(r.message)))
    return _wrap(_table(rows))


def step_report_html(r) -> str:
    from . import latex
    head = (f"{_status(r.ok, 'all steps hold' if r.ok else f'{len(r.failures)} of {len(r.results)} steps are false')}"
            f" — sizes {_sizes(r.sizes)}, seed {r.seed}")
    rows = []
    for c in r.results:
        s = c.step
        eq = math(r"%s %s %s" % (latex(s.lhs), s.relation, latex(s.rhs)))
        rows.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            _status(c.ok, "✓" if c.ok else "✗"), html.escape(s.rule), eq,
            html.escape(c.message or (f"{c.error:.1e}" if c.error else ""))))
    table = ("<table><tr><th></th><th>rule</th><th>step</th><th>difference</th></tr>%s</table>"
             % "".join(rows))
    return _wrap("<p>%s</p>%s" % (head, table))


def verdict_html(v) -> str:
    from . import latex
    ok = {"correct": True, "wrong": False}.get(v.status)
    rows = [("verdict", _status(ok, v.status.upper())), ("explanation", html.escape(v.explanation))]
    if v.diagnosis:
        rows.append(("diagnosis", html.escape(v.diagnosis)))
    if v.expected is not None and hasattr(v.expected, "free_symbols") and not hasattr(v.expected, "rank"):
        rows.append(("symcalc's derivative", math(latex(v.expected))))
    for note in v.notes:
        rows.append(("note", html.escape(note)))
    if v.counterexample is not None:
        rows.append(("counterexample", "<pre>%s</pre>" % html.escape(str(v.counterexample))))
    return _wrap(_table(rows))


def closed_form_html(cf) -> str:
    from . import latex
    var = latex(cf.variable)
    rows = [("solution", math(r"%s^{*} = %s" % (var, latex(cf.solution)))),
            ("from", math(r"%s = \mathbf{0}" % latex(cf.gradient))),
            *[("requires", html.escape(str(c))) for c in cf.conditions],
            ("stationary point", "%s (%s)" % (html.escape(cf.nature), html.escape(cf.reason))),
            ("numeric check", "<pre>%s</pre>" % html.escape(str(cf.check)))]
    return _wrap(_table(rows))


def computation_graph_html(g) -> str:
    """The forward and backward tables of ``nn.ComputationGraph``, with the graph drawn."""
    import sympy as sp
    out = sp.latex(g.output)
    fwd = "".join("<tr><td>%s</td><td>%s</td></tr>" % (math(sp.latex(s)), math(sp.latex(op)))
                  for s, op in g.forward_table())
    bwd = "".join("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        math(r"\frac{d%s}{d%s}" % (out, sp.latex(r.target))),
        math(r"\frac{d%s}{d%s}\,\frac{\partial %s}{\partial %s}" % (
            out, sp.latex(r.source), sp.latex(r.source), sp.latex(r.target))),
        math(sp.latex(r.local))) for r in g.backward_table())
    args = ", ".join(sp.latex(x) for x in g.inputs)
    head = math(r"%s(%s) = %s" % (sp.latex(sp.Symbol(g.name)), args, sp.latex(g.expression())))
    figure = graph_html(g.expression(), parameters=g.inputs, output=g.output)
    return _wrap("<p>%s</p>%s<table><tr><th colspan='2'>forward</th></tr>%s</table>"
                 "<table><tr><th colspan='3'>backward: d%s/d· += d%s/d(node) · ∂(node)/∂·</th></tr>"
                 "%s</table>" % (head, figure, fwd, html.escape(str(g.output)),
                                 html.escape(str(g.output)), bwd))
