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

from .. import dag
from ..functions import is_matrix
from ..printing.document import tex_problem
from .nodes import SPECIAL, PartialMatrix, partial

DEFINITION = "definition"

#: The text width (points) derivations are laid out for: the standalone document's (letter paper,
#: 2.5 cm margins, 11 pt). Pass ``width=`` to ``latex()`` for a narrower page.
PAGE_WIDTH = 470.0
#: The rule column: a paragraph of fixed width.
RULE_COLUMN = "4.4cm"
RULE_POINTS = 125.2
#: A left side wider than this (points) is written on the right: "M θ = r" under "&".
LHS_POINTS = 100.0
#: The width Markdown breaks formulas at (a notebook cell).
MARKDOWN_WIDTH = 330.0

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
        """The rule and the note as one phrase, ``math(obj)`` printing the objects of
        ``note_args`` where the rule or the note says ``{0}``, ``{1}``, ..."""
        words = self.rule if self.rule != DEFINITION else ""
        note = self.note
        if self.note_args:
            printed = [math(a) for a in self.note_args]
            words, note = (_fill(t, printed) for t in (words, note))
        if note:
            words = "%s; %s" % (words, note) if words else note
        return words


def _indicator(tex, notation):
    """Rule texts write the indicator 𝟙 as ``\\mathbb{1}``; a notation for KaTeX and MathJax (whose
    fonts have no blackboard one) writes its own."""
    wanted = getattr(notation, "indicator", None)
    return tex.replace(r"\mathbb{1}", wanted) if wanted and wanted != r"\mathbb{1}" else tex


def _fill(text, printed):
    """``{k}`` replaced by the k-th printed object (LaTeX braces elsewhere are left alone)."""
    return re.sub(r"(?<![\^_])\{(\d+)\}",
                  lambda m: printed[int(m.group(1))] if int(m.group(1)) < len(printed) else m.group(0), text)


def _indices(e):
    """Index symbols of matrix entries in e (i, j in A[i, j])."""
    out = set()
    for node in dag.postorder(e):
        if isinstance(node, MatrixElement):
            out |= {s for s in (node.i, node.j) if isinstance(s, sp.Symbol)}
    return out


def involved_shapes(*exprs):
    """{matrix symbol or derivative: shape} for every one in exprs."""
    shapes = {}
    for e in exprs:
        for node in dag.postorder(e):
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
    assumptions: tuple = ()  # the Q predicates it was derived under (``symcalc.assumptions``)

    @classmethod
    def from_steps(cls, title, steps, layout, result, expr=None, wrt=None, notation=None,
                   graph=None, parameters=(), style="chain"):
        """A derivation from steps built by hand (a network's backpropagation, say)."""
        from .nodes import LAYOUTS
        if layout not in LAYOUTS and not (layout is None and style == "equalities"):
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
        """Evaluate every step at random values that satisfy the derivation's assumptions: see
        ``symcalc.derivation.check``."""
        from .check import check_steps
        return check_steps(self, sizes=sizes, seed=seed, tol=tol, assumptions=self.assumptions)

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

    def _title_text(self):
        """The title in plain text, printed by the text printer (dL/dW1), not stripped from LaTeX."""
        from ..printing import text
        if self.title or self.expr is None or self.wrt is None:
            return _plain(self._title_tex(None))
        d = partial(self._output_name(), self.wrt, self.layout)
        return "The derivative %s (%s layout, %s style)" % (text(d), self.layout, self.style)

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

    def _cells(self, steps, notation):
        """[(lhs, relation, rhs expression, shape, words)] as LaTeX, a repeated left side blank."""
        from ..printing import latex, shape_latex
        out, previous = [], None
        for s in steps:
            same = previous is not None and s.lhs == previous.lhs and s.relation == previous.relation
            lhs = "" if same else latex(s.lhs, notation)
            shape = shape_latex(s.shape, notation) if s.shape is not None and not same else ""
            words = s.words(lambda a: "$%s$" % latex(a, notation))
            if s.where:
                where = ", ".join("%s = %s" % (latex(k, notation), latex(v, notation))
                                  for k, v in s.where.items())
                words = (words + "; " if words else "") + "at $%s$" % where
            out.append((lhs, s.relation, s.rhs, shape, words))
            previous = s
        return out

    def _rows(self, steps, notation, wrap=False, budget=None):
        """Rows of an alignment; ``wrap``: the rule in a paragraph column of fixed width, and a
        right side wider than ``budget`` points broken at its top-level + or ⊙."""
        from ..printing import latex
        from ..printing.linebreak import lines
        from ..printing.linebreak import width as tex_width
        rows = []
        for lhs, rel, rhs, shape, words in self._cells(steps, notation):
            lead = ""
            if budget and tex_width(lhs) > LHS_POINTS:  # a long left side goes to the right: M θ = r
                lead, lhs = "%s %s " % (lhs, rel), ""
            parts = lines(rhs, budget - tex_width(lead), notation) if budget else [latex(rhs, notation)]
            if lead and tex_width(lead + parts[0]) > budget:  # M θ on a line, = r on the next
                parts = [lead.rsplit(" ", 2)[0]] + ["%s %s" % (rel, parts[0])] + parts[1:]
            else:
                parts[0] = lead + parts[0]
            right = parts[0] if len(parts) == 1 else \
                "\\begin{aligned}[t]&%s\\end{aligned}" % " \\\\\n&\\quad ".join(parts)
            row = r"%s &%s %s" % (lhs, "" if lead else rel, right) + " && " + shape
            if words:  # in a PDF, long rule names wrap in a column of their own
                if wrap:
                    row += " && " + r"\parbox[t]{%s}{\raggedright\small %s}" % (RULE_COLUMN, tex_text(words))
                else:
                    row += " && " + math_text(tex_text(words))
            rows.append(row)
        return rows

    def _budget(self, notation, width):
        """The points a right side may take: the page less the widest left side, the widest
        shape, the rule column and the gaps between the columns (align* sets every row in the same
        columns)."""
        from ..printing.linebreak import width as tex_width
        cells = self._cells(self.steps, notation)
        lhs = max((w for w in (tex_width(c[0]) for c in cells) if w <= LHS_POINTS), default=0.0)
        shape = max((tex_width(c[3]) for c in cells), default=0.0)
        return 0.9 * (width - RULE_POINTS - lhs - shape - 2 * 10.0 - 16.0)

    def latex(self, notation=None, width=None) -> str:
        """An amsmath ``align*`` block: the layout stated first, a heading per section; laid out
        for a text ``width`` in points (default ``PAGE_WIDTH``, the standalone document's)."""
        notation = self._notation(notation)
        budget = self._budget(notation, width or PAGE_WIDTH)
        items = [("text", _layout_sentence(self.layout))] if self.layout else []
        for section, steps in self._sections():
            if section:
                items.append(("text", r"\textbf{%s}" % tex_text(section)))
            items.extend(("row", r) for r in self._rows(steps, notation, wrap=True, budget=budget))
        out = ""
        for k, (kind, body) in enumerate(items):
            if kind == "text":
                out += "\\intertext{%s}\n" % body
            else:
                follows = k + 1 < len(items)
                out += body + (" \\\\\n" if follows else "\n")
        return "\\begin{align*}\n" + out + "\\end{align*}"

    def markdown(self, notation=None, width=MARKDOWN_WIDTH) -> str:
        """Markdown: the layout and the headings as text, each section a ``$$`` block (KaTeX,
        MathJax) whose rows are numbered; the rules follow the block as a numbered list, so that
        they wrap as text does. A right side wider than ``width`` points breaks into rows."""
        from ..printing import latex
        from ..printing.linebreak import lines
        notation = self._notation(notation)
        parts = ["**%s**" % _markdown_text(self._title_tex(notation))]
        if self.layout:
            parts.append(_markdown_text(_layout_sentence(self.layout)))
        number = 0
        for section, steps in self._sections():
            if section:
                parts.append("*%s*" % section)
            rows, notes = [], []
            for lhs, rel, rhs, shape, words in self._cells(steps, notation):
                pieces = lines(rhs, width, notation) if width else [latex(rhs, notation)]
                tag = ""
                if words:
                    number += 1
                    tag = r" && \text{(%d)}" % number
                    notes.append("%d. %s" % (number, _markdown_words(words)))
                rows.append(r"%s &%s %s && %s%s" % (lhs, rel, pieces[0], shape, tag))
                rows += [r"&\quad %s" % p for p in pieces[1:]]
            parts.append("$$\n\\begin{aligned}\n%s\n\\end{aligned}\n$$" % " \\\\\n".join(rows))
            if notes:
                parts.append("\n".join(notes))
        return _indicator("\n\n".join(parts) + "\n", notation)

    def _repr_latex_(self):
        """For Jupyter (MathJax or KaTeX) and nbconvert's LaTeX: the title and the layout as text
        with ``$...$`` math, then one ``aligned`` display per section (a page can break between
        them); words in ``\text{}`` keep their math outside it; no macro those renderers lack."""
        notation = self._notation(None)
        notation = notation.for_markdown() if notation is not None else _markdown_notation()
        parts = [self._title_tex(notation), _layout_sentence(self.layout)]
        for section, steps in self._sections():
            rows = [math_text(tex_text(section), r"\textbf")] if section else []
            rows.extend(self._rows(steps, notation))
            parts.append("$$\\begin{aligned}\n%s\n\\end{aligned}$$" % " \\\\\n".join(rows))
        return _indicator("\n\n".join(parts), notation)

    def _repr_markdown_(self):
        notation = self._notation(None)
        return self.markdown(notation.for_markdown() if notation is not None else _markdown_notation())

    # ------------------------------------------------------------------ plain text

    def __str__(self):
        from ..printing import text
        lines = [self._title_text()] + ([_plain(_layout_sentence(self.layout))] if self.layout else [])
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
                    line += "   in R^(%s)" % " x ".join(_dim(k) for k in s.shape) if s.shape != (1, 1) \
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
        return "<Derivation %s: %d steps>" % (self._title_text(), len(self.steps))

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
            names, definitions = self.graph_names()
            return picture_graph(source, parameters=params, notation=self._notation(notation),
                                 output=self._output_name(), names=names, definitions=definitions)
        except SymcalcError:
            return ""

    def graph_names(self):
        """({sub-expression of the graph: the intermediate that names it}, {sub-expression: its
        definition}) from the definitions: z1 = W1 x + b1 names the node W1 x + b1 of the loss."""
        names, definitions, full = {}, {}, {}
        for sym, rhs in self.definitions.items():
            expanded = rhs.xreplace(full)
            full[sym] = expanded
            names.setdefault(expanded, sym)
            definitions.setdefault(expanded, rhs)
        return names, definitions

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
        path.write_text(tex, encoding="utf-8")
        if compile:
            if not standalone:
                raise ValueError("compile=True needs standalone=True: a fragment is not a document")
            return compile_pdf(path)
        return path


def _dim(k) -> str:
    """A dimension in a plain-text shape: a sum in parentheses, R^((M + 1) x 1)."""
    text = str(k)
    return "(%s)" % text if isinstance(k, sp.Add) else text


def _layout_sentence(layout):
    return LAYOUT_TEXT.get(layout, "")


def math_text(s: str, command: str = r"\text") -> str:
    r"""Text with ``$...$`` math for a math environment: ``\text{words }math\text{ words}``.
    Math inside ``\text{}`` is an error to KaTeX and to nbconvert's LaTeX ("Missing $ inserted"),
    and MathJax shows its dollars."""
    out = []
    for part in re.split(r"(\$[^$]*\$)", s):
        if part.startswith("$") and part.endswith("$") and len(part) > 1:
            out.append("{%s}" % part[1:-1])
        elif part:
            out.append("%s{%s}" % (command, part))
    return "".join(out)


def _markdown_notation():
    from ..printing import Notation
    return Notation().for_markdown()


def _markdown_text(s):
    return s


def _markdown_words(words):
    """A rule's words for Markdown: its math between single dollars, as KaTeX and MathJax read it."""
    return words



_PLAIN_MATH = [(r"\partial ", "∂"), (r"\partial", "∂"), (r"\Rightarrow", "⇒"), (r"\top", "ᵀ"),
               (r"\Delta", "Δ"), (r"\delta", "δ"), (r"\sigma", "σ"), (r"\odot", "⊙"), (r"\otimes", "⊗"),
               (r"\oslash", "⊘"), (r"\lambda", "λ"), (r"\theta", "θ"), (r"\alpha", "α"), (r"\cdot", "·"),
               (r"\neq", "≠"), (r"\ne", "≠"), (r"\lVert", "‖"), (r"\rVert", "‖"), (r"\mathbb{1}", "𝟙"),
               (r"\mathrm{d}", "d"), (r"\left", ""), (r"\right", ""), (r"\tfrac", r"\frac"),
               (r"\log", "log"), (r"\exp", "exp"), (r"\tanh", "tanh"), (r"\det", "det"),
               (r"\,", " "), (r"\;", " ")]


def plain_words(s: str) -> str:
    """A rule's words for plain text: the LaTeX between ``$...$`` as Unicode (∂L/∂x, Aᵀ, ⇒)."""
    def math(m):
        t = m.group(1)
        for tex, uni in _PLAIN_MATH:
            t = t.replace(tex, uni)
        t = re.sub(r"\\(?:operatorname|mathbf|mathrm|boldsymbol)\{([^}]*)\}", r"\1", t)
        t = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", t)
        t = re.sub(r"\\bar\{([^{}]*)\}", "\\1\u0304", t)
        t = re.sub(r"\\hat\{([^{}]*)\}", "\\1\u0302", t)  # ẑ, layer normalisation's output
        t = re.sub(r"\\sqrt\{([^{}]*)\}", "√(\\1)", t).replace(r"\epsilon", "ε")
        t = re.sub(r"\^\{(\[[^}]*)\}", r"\1", t)  # W^{[k]} -> W[k], as CS229's superscripts read
        t = re.sub(r"\^\{ᵀ\}", "ᵀ", t).replace("^ᵀ", "ᵀ")
        t = re.sub(r"\^\{-1\}", "⁻¹", t)
        if re.search(r"_\{[^{}]*[-+][^{}]*\}", t):  # W_k+1 would read as W_k + 1: W[k+1], and δ[k] beside it
            t = re.sub(r"_\{([^{}]*)\}", r"[\1]", t)
        t = re.sub(r"_\{([^}]*)\}", r"_\1", t)
        t = re.sub(r"‖ (.*?) ‖", r"‖\1‖", t)
        return re.sub(r"  +", " ", t.replace("\\", ""))
    return re.sub(r"\$([^$]*)\$", math, s)


def _plain(s):
    s = re.sub(r"\\frac\{\\partial ([^}]*)\}\{\\partial ([^}]*)\}", r"d\1/d\2", s)
    s = re.sub(r"\\(mathbf|boldsymbol|mathrm|operatorname)\{([^}]*)\}", r"\2", s)
    s = s.replace(r"\times", "x").replace("$", "").replace("\\", "")
    return s


__all__ = ["DEFINITION", "Derivation", "Step", "involved_shapes", "tex_text"]
