r"""``Step`` and ``Derivation``: a derivation as data, and its LaTeX, Markdown and plain text.

A derivation is a list of steps. Each step says which rule it applies and holds its two sides as
SymPy objects (``∂L/∂u`` is a ``PartialMatrix``, ``dθ`` a ``MatrixDifferential``), so that every
step can be printed in any notation and checked numerically (``Derivation.check``). Steps whose
rule is ``DEFINITION`` name an intermediate (``u = y − Xθ``); the others claim an equality that
holds everywhere, or, when ``where`` is given, at that point only (a stationary point).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..functions import is_matrix
from ..printing.document import tex_problem
from .nodes import SPECIAL, PartialMatrix, partial

DEFINITION = "definition"

LAYOUT_TEXT = {
    "denominator": ("Denominator layout: a gradient has the shape of its variable, and the chain "
                    "rule multiplies local derivatives from the input to the output."),
    "numerator": ("Numerator layout: the derivative of an $m$-vector by an $n$-vector is "
                  "$m \\times n$ (the Jacobian), and the chain rule multiplies local derivatives "
                  "from the output to the input."),
}


@dataclass
class Step:
    r"""One line of a derivation: ``lhs relation rhs`` by ``rule``.

    rule      plain text naming the rule or identity ("chain rule", "matrix product"); inline math
              may be written between ``$...$`` in LaTeX
    lhs, rhs  SymPy objects (use ``symcalc.derivation.partial`` for ∂f/∂x, ``differential`` for dx)
    shapes    the shapes involved, {object: (rows, cols)}; filled from lhs and rhs when omitted
    note      an optional remark, plain text like ``rule``; ``{0}``, ``{1}``, ... stand for the
              SymPy objects of ``note_args``, printed in the derivation's notation
    section   the heading the step stands under ("Intermediate variables", "Backward pass")
    relation  LaTeX between the sides: ``=`` (default), ``\triangleq`` for a definition by name
    where     {symbol: value}: the step holds at that point only (setting a gradient to zero)
    """

    rule: str
    lhs: sp.Basic
    rhs: sp.Basic
    shapes: dict = field(default_factory=dict)
    note: str = ""
    section: str = ""
    relation: str = "="
    where: dict | None = None
    note_args: tuple = ()

    def __post_init__(self):
        self.lhs = sp.sympify(self.lhs, strict=True)
        self.rhs = sp.sympify(self.rhs, strict=True)
        if not self.shapes:
            self.shapes = involved_shapes(self.lhs, self.rhs)

    @property
    def shape(self):
        """The shape of the value the step is about (its left side); None for an entry."""
        if isinstance(self.lhs, MatrixElement) or self.lhs.free_symbols & _indices(self.lhs):
            return None
        return tuple(self.lhs.shape) if is_matrix(self.lhs) else (sp.S.One, sp.S.One)

    @property
    def is_definition(self):
        return self.rule == DEFINITION and isinstance(self.lhs, (sp.Symbol, sp.MatrixSymbol))

    def words(self, math) -> str:
        """The rule and the note as one phrase, ``math(obj)`` printing the note's objects."""
        words = self.rule if self.rule != DEFINITION else ""
        note = self.note.format(*(math(a) for a in self.note_args)) if self.note_args else self.note
        if note:
            words = "%s; %s" % (words, note) if words else note
        return words


def _indices(e):
    """Index symbols of matrix entries in e (i, j in A[i, j])."""
    out = set()
    for node in sp.preorder_traversal(e):
        if isinstance(node, MatrixElement):
            out |= {s for s in (node.i, node.j) if isinstance(s, sp.Symbol)}
    return out


def involved_shapes(*exprs):
    """{matrix symbol or derivative: shape} for every one in exprs."""
    shapes = {}
    for e in exprs:
        for node in sp.preorder_traversal(e):
            if isinstance(node, (sp.MatrixSymbol, PartialMatrix)) and node not in shapes:
                shapes[node] = tuple(node.shape)
    return shapes


# ---------------------------------------------------------------------- text helpers

_UNICODE = {
    "∂": r"\partial ", "ᵀ": r"^{\top}", "⊙": r"\odot ", "⊗": r"\otimes ", "⇒": r"\Rightarrow ",
    "θ": r"\theta ", "σ": r"\sigma ", "δ": r"\delta ", "Σ": r"\Sigma ", "∑": r"\sum ", "α": r"\alpha ",
    "β": r"\beta ", "λ": r"\lambda ", "μ": r"\mu ", "ε": r"\varepsilon ", "·": r"\cdot ", "×": r"\times ",
    "⁻¹": r"^{-1}", "′": r"'", "≠": r"\neq ", "≤": r"\leq ", "≥": r"\geq ", "∈": r"\in ", "−": "-",
    "ₖ": "_k", "ᵢ": "_i", "ⱼ": "_j", "²": "^2", "→": r"\to ",
}
_SPECIAL_TEXT = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                 "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def tex_text(s: str) -> str:
    """Plain text for LaTeX text mode: specials escaped, ``$...$`` kept as math, the few Unicode
    math signs rule names use (∂, ᵀ, θ, ...) turned into math so that pdflatex accepts them."""
    out = []
    for k, part in enumerate(re.split(r"(\$[^$]*\$)", s)):
        if part.startswith("$") and part.endswith("$") and len(part) > 1:
            if tex_problem(part[1:-1]) is None:  # math in prose is user text: allow-listed
                out.append(part)
            else:  # or set as text, every command escaped
                out.append(r"\$" + tex_text(part[1:-1]) + r"\$")
            continue
        buf = ""
        for ch in part:
            if ch in _SPECIAL_TEXT:
                buf += _SPECIAL_TEXT[ch]
            elif ch in _UNICODE:
                buf += "$%s$" % _UNICODE[ch].strip()
            elif ord(ch) > 127:
                buf += "?"
            else:
                buf += ch
        out.append(buf.replace("$$", ""))
    return "".join(out)


def _math_unicode(s: str) -> str:
    for k, v in _UNICODE.items():
        s = s.replace(k, v)
    return s


# ---------------------------------------------------------------------- the derivation

@dataclass
class Derivation:
    """A derivation: its steps, its result, and its LaTeX, Markdown and plain-text forms.

    ``expr``/``wrt`` are what was differentiated (``None`` for a network's derivation built with
    ``from_steps``); ``result`` is the derivative in ``layout`` (for a network, a dict
    {parameter: gradient}); ``graph`` is the expression whose computation graph the standalone
    document draws, ``parameters`` the symbols drawn as parameters.
    """

    expr: sp.Basic
    wrt: sp.Basic
    layout: str
    style: str
    result: object
    steps: list
    title: str = ""
    notation: object = None
    graph: object = None
    parameters: tuple = ()
    output: object = None  # the symbol the output is named by (L), when it has one

    @classmethod
    def from_steps(cls, title, steps, layout, result, expr=None, wrt=None, notation=None,
                   graph=None, parameters=(), style="chain"):
        """A derivation from steps built by hand (a network's backpropagation, say)."""
        from .nodes import LAYOUTS
        if layout not in LAYOUTS:
            from ..errors import LayoutError
            raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")
        steps = list(steps)
        for s in steps:
            if not isinstance(s, Step):
                raise TypeError(f"from_steps takes Step objects, got {type(s).__name__}: {s!r}")
        return cls(expr, wrt, layout, style, result, steps, title, notation, graph, tuple(parameters))

    # ------------------------------------------------------------------ data

    @property
    def definitions(self) -> dict:
        """{intermediate symbol: its definition}, from the DEFINITION steps."""
        return {s.lhs: s.rhs for s in self.steps if s.is_definition}

    def check(self, sizes=None, seed=0, tol=1e-6):
        """Evaluate every step at random values: see ``symcalc.derivation.check``."""
        from .check import check_steps
        return check_steps(self, sizes=sizes, seed=seed, tol=tol)

    def _notation(self, notation):
        return notation if notation is not None else self.notation

    def _title_tex(self, notation):
        from ..printing import latex
        if self.title:
            return tex_text(self.title)
        if self.expr is None or self.wrt is None:
            return "Derivation"
        d = partial(self._output_name(), self.wrt, self.layout)
        return "The derivative $%s$ (%s layout, %s style)" % (latex(d, notation), self.layout,
                                                               self.style)

    def _output_name(self):
        if self.output is not None:
            return self.output
        for s in self.steps:
            if s.is_definition and s.rhs == self.expr:
                return s.lhs
        return self.expr

    # ------------------------------------------------------------------ LaTeX

    def _sections(self):
        """[(section, [steps])] in order; a repeated heading starts a new group only when it changes."""
        groups = []
        for s in self.steps:
            if not groups or groups[-1][0] != s.section:
                groups.append((s.section, []))
            groups[-1][1].append(s)
        return groups

    def _rows(self, steps, notation, wrap=False):
        from ..printing import latex, shape_latex
        rows, previous = [], None
        for s in steps:
            same = previous is not None and s.lhs == previous.lhs and s.relation == previous.relation
            lhs = "" if same else latex(s.lhs, notation)
            rel = s.relation
            row = r"%s &%s %s" % (lhs, rel, latex(s.rhs, notation))
            shape = s.shape
            row += " && " + (shape_latex(shape, notation) if shape is not None and not same else "")
            words = s.words(lambda a: "$%s$" % latex(a, notation))
            if s.where:
                where = ", ".join("%s = %s" % (latex(k, notation), latex(v, notation))
                                  for k, v in s.where.items())
                words = (words + "; " if words else "") + "at $%s$" % where
            if words:  # in a PDF, long rule names wrap in a column of their own
                box = r"\parbox[t]{5.2cm}{\raggedright\small %s}" if wrap else r"\text{%s}"
                row += " && " + box % tex_text(words)
            rows.append(row)
            previous = s
        return rows

    def latex(self, notation=None) -> str:
        """An amsmath ``align*`` block: the layout stated first, a heading per section."""
        notation = self._notation(notation)
        items = [("text", _layout_sentence(self.layout))]
        for section, steps in self._sections():
            if section:
                items.append(("text", r"\textbf{%s}" % tex_text(section)))
            items.extend(("row", r) for r in self._rows(steps, notation, wrap=True))
        out = ""
        for k, (kind, body) in enumerate(items):
            if kind == "text":
                out += "\\intertext{%s}\n" % body
            else:
                follows = k + 1 < len(items)
                out += body + (" \\\\\n" if follows else "\n")
        return "\\begin{align*}\n" + out + "\\end{align*}"

    def markdown(self, notation=None) -> str:
        """Markdown: the layout and the headings as text, each section a ``$$`` block (KaTeX, MathJax)."""
        notation = self._notation(notation)
        parts = ["**%s**" % _markdown_text(self._title_tex(notation)),
                 _markdown_text(_layout_sentence(self.layout))]
        for section, steps in self._sections():
            if section:
                parts.append("*%s*" % section)
            rows = self._rows(steps, notation)
            parts.append("$$\n\\begin{aligned}\n%s\n\\end{aligned}\n$$" % " \\\\\n".join(rows))
        return "\n\n".join(parts) + "\n"

    def _repr_latex_(self):
        notation = self._notation(None)
        rows = [r"\text{%s}" % _layout_sentence(self.layout).replace("$", "")]
        for section, steps in self._sections():
            if section:
                rows.append(r"\textbf{%s}" % tex_text(section))
            rows.extend(self._rows(steps, notation))
        return "$$\\begin{aligned}\n%s\n\\end{aligned}$$" % " \\\\\n".join(rows)

    def _repr_markdown_(self):
        return self.markdown()

    # ------------------------------------------------------------------ plain text

    def __str__(self):
        from ..printing import text
        lines = [_plain(self._title_tex(None)), _plain(_layout_sentence(self.layout))]
        for section, steps in self._sections():
            if section:
                lines.append("")
                lines.append(section + ":")
            previous = None
            for s in steps:
                same = previous is not None and s.lhs == previous.lhs and s.relation == previous.relation
                lhs = "" if same else text(s.lhs)
                rel = {"=": "=", r"\triangleq": ":="}.get(s.relation, "=")
                line = "  %s %s %s" % (lhs, rel, text(s.rhs))
                if s.shape is not None and not same:
                    line += "   in R^(%s)" % " x ".join(str(k) for k in s.shape) if s.shape != (1, 1) \
                        else "   in R"
                words = plain_words(s.words(text))
                if s.where:
                    words += "; at " + ", ".join("%s = %s" % (text(k), text(v)) for k, v in s.where.items())
                if words:
                    line += "   [%s]" % words
                lines.append(line)
                previous = s
        return "\n".join(lines)

    def __repr__(self):
        return "<Derivation %s: %d steps>" % (_plain(self._title_tex(None)), len(self.steps))

    # ------------------------------------------------------------------ documents

    def graph_latex(self, notation=None) -> str:
        """The computation graph (LaTeX picture environment), or "" when there is nothing to draw."""
        from ..errors import SymcalcError
        from ..printing import picture_graph
        source = self.graph if self.graph is not None else self.expr
        if source is None:
            return ""
        params = self.parameters or ((self.wrt,) if self.wrt is not None else ())
        try:
            return picture_graph(source, parameters=params, notation=self._notation(notation),
                                 output=self._output_name() if self.graph is None else None)
        except SymcalcError:
            return ""

    def write_tex(self, path, standalone=True, notation=None, compile=False):
        """Write the derivation to ``path``.

        ``standalone=True``: a complete document (title, computation graph, the align* block)
        that compiles with pdflatex from texlive-latex-base and -recommended; ``compile=True``
        also runs latexmk and returns the PDF's path. ``standalone=False``: the align* block alone,
        for ``\\input`` into a document that loads amsmath and amssymb.
        """
        from ..printing import compile_pdf
        from ..printing import standalone as document
        notation = self._notation(notation)
        path = Path(path)
        body = self.latex(notation)
        if standalone:
            graph = self.graph_latex(notation)
            if graph:
                body = ("\\begin{center}\n%s\n\\end{center}\n\n" % graph) + body
            tex = document(body, title=self._title_tex(notation))
        else:
            tex = body + "\n"
        path.write_text(tex)
        if compile:
            if not standalone:
                raise ValueError("compile=True needs standalone=True: a fragment is not a document")
            return compile_pdf(path)
        return path


def _layout_sentence(layout):
    return LAYOUT_TEXT[layout]


def _markdown_text(s):
    return s


_PLAIN_MATH = [(r"\partial ", "∂"), (r"\partial", "∂"), (r"\Rightarrow", "⇒"), (r"\top", "ᵀ"),
               (r"\Delta", "Δ"), (r"\delta", "δ"), (r"\sigma", "σ"), (r"\odot", "⊙"), (r"\otimes", "⊗"),
               (r"\lambda", "λ"), (r"\theta", "θ"), (r"\cdot", "·"), (r"\neq", "≠"), (r"\ne", "≠"),
               (r"\,", " "), (r"\;", " ")]


def plain_words(s: str) -> str:
    """A rule's words for plain text: the LaTeX between ``$...$`` as Unicode (∂L/∂x, Aᵀ, ⇒)."""
    def math(m):
        t = m.group(1)
        for tex, uni in _PLAIN_MATH:
            t = t.replace(tex, uni)
        t = re.sub(r"\\(?:operatorname|mathbf|mathrm|boldsymbol)\{([^}]*)\}", r"\1", t)
        t = re.sub(r"\^\{(\[[^}]*)\}", r"\1", t)  # W^{[k]} -> W[k], as CS229's superscripts read
        t = re.sub(r"\^\{ᵀ\}", "ᵀ", t).replace("^ᵀ", "ᵀ")
        t = re.sub(r"\^\{-1\}", "⁻¹", t)
        t = re.sub(r"_\{([^}]*)\}", r"_\1", t)
        return t.replace("\\", "")
    return re.sub(r"\$([^$]*)\$", math, s)


def _plain(s):
    s = re.sub(r"\\frac\{\\partial ([^}]*)\}\{\\partial ([^}]*)\}", r"d\1/d\2", s)
    s = re.sub(r"\\(mathbf|boldsymbol|mathrm|operatorname)\{([^}]*)\}", r"\2", s)
    s = s.replace(r"\times", "x").replace("$", "").replace("\\", "")
    return s


__all__ = ["DEFINITION", "Derivation", "Step", "involved_shapes", "tex_text"]
