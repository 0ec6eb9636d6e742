r"""The computation graph of an expression, drawn as in lecture notes: inputs on the left,
parameters (light blue) above the data (light green), operations in between, the output right.

TikZ is not in Debian's texlive-latex-base or texlive-latex-recommended (pgf lives in
texlive-pictures), and neither is pict2e. So one layout has two renderings:

* ``picture_graph``: LaTeX's own ``picture`` environment plus xcolor and graphicx (both in
  those two packages). Edges are straight lines of any slope drawn with the kernel's
  ``\qbezier``; arrowheads use the kernel's ``\vector`` at the nearest slope it has. This is
  what ``standalone`` documents include.
* ``tikz_graph``: a ``tikzpicture`` with the same positions, for documents that load TikZ
  (``standalone(body, packages=["tikz"])``).

Layout (a small Sugiyama layout): a node's column is its distance from the output, so every
node sits just left of its first use; a long edge bends through one waypoint per column it
crosses, so it never runs through a box; rows follow the barycentres of a node's inputs, with
parameters above operations above data. Edges enter a node top to bottom in operand order; a
product whose factors are drawn out of that order numbers them (1 = left factor), and a
subtracted term's edge carries a minus sign. Equal sub-expressions are one node, and SymPy's
distributed transposes (``yᵀ - θᵀXᵀ``) are drawn as one transpose of the shared node.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions import (
    HadamardProduct, Identity, KroneckerProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix,
    ZeroMatrix,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from ..errors import UnsupportedError
from .common import MUL, is_negative, positive_first
from .latex import SymcalcLatexPrinter
from .notation import Notation

_PLACEHOLDER = "symcalcgraphslot"
_GAP = 24  # pt between columns

COLORS = {  # xcolor fills: parameters light blue, data light green (as in the NYU notes)
    "parameter": "blue!12",
    "data": "green!15",
    "constant": "white",
    "operation": "white",
    "output": "orange!20",
}


class _SlotPrinter(SymcalcLatexPrinter):
    r"""Prints an operation with a dot for its argument: ``(\cdot)^{\top}``, ``\sigma(\cdot)``."""

    def _level(self, e):
        if getattr(e, "name", None) == _PLACEHOLDER:
            return MUL  # parenthesized under a superscript, bare inside a function call
        return super()._level(e)


@dataclass
class Node:
    """One box: ``kind`` is parameter, data, constant, operation or output."""

    key: sp.Basic
    label: str
    kind: str
    inputs: list = field(default_factory=list)  # (Node, mark) pairs in operand order; mark "" or "-"
    column: int = 0
    row: int = 0


class ComputationGraph:
    """Nodes and edges of an expression, with a layout (columns and rows)."""

    def __init__(self, expr, parameters=(), notation: Notation | None = None, output=None):
        self.notation = notation or Notation()
        self.printer = _SlotPrinter({"notation": self._slot_notation()})
        self.parameters = {getattr(p, "name", p) for p in parameters}
        self.nodes: list[Node] = []
        self._by_key: dict = {}
        root = self._visit(sp.sympify(expr, strict=True))
        if root.kind in ("parameter", "data"):
            raise UnsupportedError(f"{expr} is a single input; a computation graph needs an operation")
        if output is not None:  # the named result, fed by the last operation
            label = output if isinstance(output, str) else self.printer.doprint(output)
            root = self._node(sp.Symbol(_PLACEHOLDER + "output"), label, "output", [(root, "")])
        else:
            root.kind = "output"
        self.root = root
        self._layout()

    # ------------------------------------------------------------------ building

    def _slot_notation(self) -> Notation:
        names = dict(self.notation.names)
        names[_PLACEHOLDER] = r"\cdot"
        return Notation(names=names, bold=self.notation.bold, transpose=self.notation.transpose,
                        hadamard=self.notation.hadamard, indicator=self.notation.indicator)

    def _node(self, key, label, kind, inputs=()):
        node = Node(key, label, kind, list(inputs))
        self.nodes.append(node)
        self._by_key[key] = node
        return node

    def _visit(self, e) -> Node:
        if e in self._by_key:
            return self._by_key[e]
        if isinstance(e, MatrixElement) and e.parent.shape == (1, 1):
            return self._visit(e.parent)
        if isinstance(e, (MatrixSymbol, sp.Symbol)):
            kind = "parameter" if e.name in self.parameters else "data"
            return self._node(e, self.printer.doprint(e), kind)
        if isinstance(e, (sp.Number, Identity, OneMatrix, ZeroMatrix)) or not e.free_symbols:
            return self._node(e, self.printer.doprint(e), "constant")
        if isinstance(e, (MatAdd, MatMul)) and _transposes(e):
            # SymPy distributes transposes: (y - X θ)ᵀ is stored as yᵀ - θᵀXᵀ. Drawn as the
            # transpose of y - X θ, it shares that node with the other use of y - X θ.
            t = sp.Transpose(e).doit()
            if _transposes(t) < _transposes(e):
                slot = MatrixSymbol(_PLACEHOLDER, *t.shape)
                return self._node(e, self.printer.doprint(sp.Transpose(slot)), "operation",
                                  [(self._visit(t), "")])
        if isinstance(e, (MatAdd, sp.Add)):
            inputs = []
            for term in positive_first(e.args):
                mark = "-" if is_negative(term) else ""
                inputs.append((self._visit(-term if mark else term), mark))
            return self._node(e, "+", "operation", inputs)
        if isinstance(e, (MatMul, sp.Mul)):
            scalar, matrices = e.as_coeff_matrices() if isinstance(e, MatMul) else (e, [])
            coeff, rest = scalar.as_coeff_Mul()
            factors = [f for f in (*sp.Mul.make_args(rest), *matrices) if f != 1]
            c = self.printer.doprint(coeff)
            if len(factors) == 1:  # a multiple of one input: the coefficient is the operation
                label = "-" if coeff == -1 else r"%s\,\cdot" % c
            else:
                label = {1: r"\times", -1: r"-\times"}.get(coeff, r"%s\,\times" % c)
            return self._node(e, label, "operation", [(self._visit(f), "") for f in factors])
        if isinstance(e, sp.Pow) and e.exp.is_positive and not e.exp.free_symbols:
            return self._node(e, r"(\cdot)^{%s}" % self.printer.doprint(e.exp), "operation",
                              [(self._visit(e.base), "")])
        if isinstance(e, HadamardProduct):
            return self._node(e, self.notation.hadamard, "operation",
                              [(self._visit(a), "") for a in e.args])
        if isinstance(e, KroneckerProduct):
            return self._node(e, r"\otimes", "operation", [(self._visit(a), "") for a in e.args])
        return self._operation(e)

    def _operation(self, e) -> Node:
        """Any other node: its label is the node printed with its varying argument as a dot."""
        varying = [a for a in e.args if isinstance(a, sp.Basic) and a.free_symbols
                   and not isinstance(a, (sp.Tuple, sp.Lambda))]
        if isinstance(e, ElementwiseApplyFunction):
            varying = [e.expr]
        if len(varying) != 1:
            raise UnsupportedError(
                f"cannot draw {type(e).__name__} ({e}) in a computation graph: it has "
                f"{len(varying)} varying arguments; supported are sums, products, Hadamard and "
                "Kronecker products, and operations of one argument")
        (arg,) = varying
        slot = (MatrixSymbol(_PLACEHOLDER, *arg.shape) if getattr(arg, "is_Matrix", False)
                else sp.Symbol(_PLACEHOLDER))
        label = self.printer.doprint(e.xreplace({arg: slot}))
        return self._node(e, label, "operation", [(self._visit(arg), "")])

    # ------------------------------------------------------------------ layout

    def _layout(self):
        """Columns by distance from the output, then rows by barycenters (a small Sugiyama
        layout): every node sits just left of its first use, so side branches such as
        ``1 - y`` stand next to where they are used instead of far left."""
        depth = {}
        for node in self.nodes:  # children are created before parents
            depth[id(node)] = 1 + max((depth[id(c)] for c, _ in node.inputs), default=-1)
        self.root.column = depth[id(self.root)]
        for node in reversed(self.nodes):
            if node is not self.root:
                node.column = min(p.column for p in self.nodes
                                  if any(c is node for c, _ in p.inputs)) - 1
        shift = min(n.column for n in self.nodes)
        for node in self.nodes:
            node.column -= shift
        # a long edge bends through one waypoint per column it crosses
        self.edges = []  # (child, node, mark, operand index, waypoints)
        columns: dict[int, list] = {}
        for node in self.nodes:
            columns.setdefault(node.column, []).append(node)
        for node in self.nodes:
            for i, (child, mark) in enumerate(node.inputs):
                points = [_Waypoint(c) for c in range(child.column + 1, node.column)]
                for point in points:
                    columns[point.column].append(point)
                self.edges.append((child, node, mark, i, points))
        self._columns = [columns[c] for c in sorted(columns)]
        band = {"parameter": 0, "data": 2, "constant": 2}  # parameters above data, ops between

        def key(item, position):
            return (band.get(getattr(item, "kind", ""), 1), position)

        preds = {id(n): [] for col in self._columns for n in col}
        for child, node, _, i, points in self.edges:
            chain = [child, *points, node]
            for a, b in zip(chain, chain[1:]):
                preds[id(b)].append((a, i))
        for _ in range(3):
            for col in self._columns:
                for rank, item in enumerate(col):
                    item.row = rank
            for col in self._columns:
                def bary(item):
                    ps = preds[id(item)]
                    if not ps:
                        return item.row
                    # operand order breaks ties: a product's left factor above its right one
                    return sum(a.row + 0.01 * i for a, i in ps) / len(ps)
                col.sort(key=lambda item: key(item, bary(item)))
        for col in self._columns:
            for rank, item in enumerate(col):
                item.row = rank

    def _positions(self, row_height: float):
        """Centre of every node and waypoint, in pt; columns centred vertically."""
        widths = [max((_estimated_width(n.label) for n in col if isinstance(n, Node)), default=0)
                  for col in self._columns]
        tallest = max(len(col) for col in self._columns)
        pos, x = {}, 0.0
        for col, w in zip(self._columns, widths):
            x += w / 2
            offset = (tallest - len(col)) * row_height / 2
            for item in col:
                pos[id(item)] = (x, (tallest - 1 - item.row) * row_height + row_height / 2 - offset)
            x += w / 2 + _GAP
        return pos, x - _GAP, tallest * row_height

    # ------------------------------------------------------------------ rendering

    def picture(self, row_height: float = 30, fit: bool = True) -> str:
        r"""LaTeX ``picture`` environment (needs xcolor, and graphicx when ``fit``); in pt.

        Edges are straight lines drawn with the kernel's ``\qbezier`` (any slope), under the
        boxes; each carries a small arrowhead halfway along its last segment. ``fit`` shrinks
        a picture wider than the line to the line width."""
        pos, width, height = self._positions(row_height)
        numbered = self._numbered(pos)
        out = [r"\setlength{\unitlength}{1pt}",
               r"\begin{picture}(%s,%s)" % (_num(width), _num(height))]
        for child, node, mark, i, points in self.edges:
            chain = [pos[id(child)], *(pos[id(p)] for p in points), pos[id(node)]]
            k = len(node.inputs)
            xt, yt = chain[-1]
            chain[-1] = (xt, yt + (k - 1 - 2 * i) * 2.0)  # operands arrive top to bottom
            for (x1, y1), (x2, y2) in zip(chain, chain[1:]):
                out.append(r"\qbezier(%s,%s)(%s,%s)(%s,%s)" % tuple(map(_num, (
                    x1, y1, (x1 + x2) / 2, (y1 + y2) / 2, x2, y2))))
            (x1, y1), (x2, y2) = chain[-2], chain[-1]
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            dx, dy = _slope(x2 - x1, y2 - y1)
            out.append(r"\put(%s,%s){\vector(%d,%d){%s}}" % (_num(mx), _num(my), dx, dy,
                                                              _num(3)))
            if mark:
                out.append(r"\put(%s,%s){\makebox(0,0)[b]{$\scriptstyle -$}}"
                           % (_num(mx), _num(my + 3)))
            elif id(node) in numbered:
                out.append(r"\put(%s,%s){\makebox(0,0)[b]{$\scriptscriptstyle %d$}}"
                           % (_num(mx), _num(my + 3), i + 1))
        for node in self.nodes:
            x, y = pos[id(node)]
            out.append(r"\put(%s,%s){\makebox(0,0){\fcolorbox{black}{%s}{$%s$}}}"
                       % (_num(x), _num(y), COLORS[node.kind], node.label))
        out.append(r"\end{picture}")
        if fit:
            out = [r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
                   *out, "}"]
        return "\n".join(out)

    def _numbered(self, pos) -> set:
        """Products whose factors do not come from top to bottom in order: their edges get
        the factor's number (1 for the left factor), so X θ is not read as θ X."""
        numbered = set()
        for node in self.nodes:
            ordered = node.label.endswith(r"\times") or node.label == r"\otimes"
            heights = [pos[id(child)][1] for child, _ in node.inputs]
            if ordered and len(heights) > 1 and heights != sorted(heights, reverse=True):
                numbered.add(id(node))
        return numbered

    def tikz(self, row_height: float = 30) -> str:
        """A ``tikzpicture`` of the same layout (needs ``\\usepackage{tikz}``)."""
        pos, _, _ = self._positions(row_height)
        out = [r"\begin{tikzpicture}[x=1pt,y=1pt,>=stealth,"
               r"box/.style={draw,rectangle,inner sep=3pt}]"]
        index = {id(n): k for k, n in enumerate(self.nodes)}
        for node in self.nodes:
            x, y = pos[id(node)]
            out.append(r"\node[box,fill=%s] (n%d) at (%s,%s) {$%s$};"
                       % (COLORS[node.kind], index[id(node)], _num(x), _num(y), node.label))
        for child, node, mark, _, points in self.edges:
            via = "".join(" -- (%s,%s)" % tuple(map(_num, pos[id(p)])) for p in points)
            label = r" node[midway,above,font=\scriptsize] {$-$}" if mark else ""
            out.append(r"\draw[->] (n%d)%s --%s (n%d);"
                       % (index[id(child)], via, label, index[id(node)]))
        out.append(r"\end{tikzpicture}")
        return "\n".join(out)


class _Waypoint:
    """Where a long edge crosses a column (so it bends around the boxes there)."""

    kind = "waypoint"

    def __init__(self, column):
        self.column, self.row = column, 0


def _slope(dx: float, dy: float) -> tuple[int, int]:
    """The picture-mode arrow direction (|x|, |y| <= 4, coprime) closest to (dx, dy)."""
    import math

    best, angle = (1, 0), math.atan2(dy, dx)
    for x in range(0, 5):
        for y in range(-4, 5):
            if (x, y) == (0, 0) or math.gcd(x, abs(y)) != 1:
                continue
            if abs(math.atan2(y, x) - angle) < abs(math.atan2(best[1], best[0]) - angle):
                best = (x, y)
    return best


def _transposes(e) -> int:
    return sum(1 for node in sp.preorder_traversal(e) if isinstance(node, sp.Transpose))


def _estimated_width(label: str) -> float:
    """A generous guess at a label's printed width in pt (for spacing columns only)."""
    visible = label
    for command in ("\\operatorname", "\\mathbf", "\\boldsymbol", "\\left", "\\right", "\\top"):
        visible = visible.replace(command, "x" if command == "\\top" else "")
    for ch in "{}^_ \\":
        visible = visible.replace(ch, "")
    return 6.5 * len(visible) + 8


def _num(x: float) -> str:
    return ("%.1f" % x).rstrip("0").rstrip(".")


# ---------------------------------------------------------------------- public functions

def computation_graph(expr, parameters=(), notation: Notation | None = None, output=None):
    """The graph of ``expr``: symbols named in ``parameters`` are parameters, others data."""
    return ComputationGraph(expr, parameters, notation, output)


def picture_graph(expr, parameters=(), notation: Notation | None = None, output=None) -> str:
    """The graph in LaTeX's picture environment: compiles with texlive-latex-base/recommended."""
    return ComputationGraph(expr, parameters, notation, output).picture()


def tikz_graph(expr, parameters=(), notation: Notation | None = None, output=None,
               engine: str = "tikz") -> str:
    """The graph as a ``tikzpicture`` (``engine="tikz"``, needs TikZ from texlive-pictures) or
    in the ``picture`` environment (``engine="picture"``, needs nothing beyond xcolor)."""
    graph = ComputationGraph(expr, parameters, notation, output)
    if engine == "tikz":
        return graph.tikz()
    if engine == "picture":
        return graph.picture()
    raise ValueError(f"engine is 'tikz' or 'picture', not {engine!r}")
