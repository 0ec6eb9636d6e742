r"""The computation graph of an expression, drawn as lecture notes draw it: inputs first,
parameters (light blue) and data (light green), one box per operation, the output last.

Nodes and edges come from the expression (equal sub-expressions are one node); the layout is a
layered (Sugiyama) layout from a library: Graphviz ``dot`` through its Python bindings when the
``dot`` program is installed, else the pure-Python ``grandalf``. Nothing is placed by hand.
A node that a derivation names (z₁ = W₁x + b₁, a₁ = σ(z₁), L) shows its name above its
operation. Edges enter a product in operand order; where a product's factors are drawn out of
that order, each edge carries the factor's number (1 = left factor), and a subtracted term's edge
a minus sign; dot places these labels beside their own edge.

Two renderings of one layout:

* ``picture``: LaTeX's own ``picture`` environment plus xcolor and graphicx (in Debian's
  texlive-latex-base and -recommended; TikZ lives in texlive-pictures). Edges are the layout's
  curves drawn with the kernel's ``\qbezier``, arrowheads with ``\vector``.
* ``tikz``: a ``tikzpicture`` with the same positions, for documents that load TikZ.

Labels keep their size (node labels at the body size, edge labels ``\footnotesize``): a graph
that is too wide for the line is laid out top to bottom instead of left to right, and shrunk
only as a last resort (``scale``).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions import (
    HadamardProduct, Identity, KroneckerProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix,
    ZeroMatrix,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import dag
from ..errors import UnsupportedError
from .common import MUL, is_negative, positive_first
from .latex import SymcalcLatexPrinter
from .notation import Notation

_PLACEHOLDER = "symcalcgraphslot"
#: the widest picture, in pt, that keeps its labels' size (A4 or letter, 2.5 cm margins: ~455 pt)
LINE_WIDTH = 440.0
#: the tallest picture laid top to bottom before a left-to-right one is preferred, in bp
MAX_HEIGHT = 330.0
_LINE = 14.0      # pt: the height of one line of a label
_PAD = 8.0        # pt: a box's padding (both sides together)
_FRAME = 3.4      # pt: \fboxsep + \fboxrule, drawn around a box's inside
_COLLAPSE = 4     # a named definition of more operations than this is drawn as one node
_WIDEST_OPERATION = 90.0  # pt: a collapsed definition's formula wider than this is left out

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
    """One box: ``kind`` is parameter, data, constant, operation or output; ``name`` the LaTeX
    of the intermediate it computes (z_1), if a derivation names it."""

    key: sp.Basic
    label: str
    kind: str
    inputs: list = field(default_factory=list)  # (Node, mark) pairs in operand order; mark "", "-" or "1", "2"…
    name: str = ""
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0

    @property
    def lines(self):
        """The label's lines: the name (if any), then the operation."""
        if self.name and self.kind in ("operation", "output") and self.label:
            return [self.name, self.label]
        return [self.name or self.label]


@dataclass
class Edge:
    child: Node
    node: Node
    mark: str
    path: list            # points (x, y) in pt: a cubic Bezier spline, 3k + 1 points
    label_at: tuple | None = None


class ComputationGraph:
    """Nodes and edges of an expression, with a layered layout (see the module docstring).

    ``names`` maps sub-expressions to the symbols a derivation gives them ({W x + b: z1}); those
    nodes are labelled with the name. ``engine`` is "dot", "grandalf" or None (dot when its program
    is installed).
    """

    def _repr_html_(self):
        """The figure as HTML (boxes and SVG) for Jupyter."""
        from .html import _wrap, figure_html
        return _wrap(figure_html(self))

    def __init__(self, expr, parameters=(), notation: Notation | None = None, output=None,
                 names=None, engine: str | None = None, max_width: float = LINE_WIDTH,
                 definitions=None):
        self.notation = notation or Notation()
        self.printer = _SlotPrinter({"notation": self._slot_notation()})
        self.parameters = {getattr(p, "name", p) for p in parameters}
        self.names = dict(names or {})
        # {expanded sub-expression: its definition in named intermediates}: a definition that
        # expands into many operations (a loss) is drawn as one node labelled with it
        self.definitions = dict(definitions or {})
        self._expanded = {sym: e for e, sym in self.names.items()}
        self.nodes: list[Node] = []
        self._by_key: dict = {}
        expr = sp.sympify(expr, strict=True)
        self._subexpressions = _subexpressions(expr)
        root = self._visit(expr)
        if root.kind in ("parameter", "data"):
            raise UnsupportedError(f"{expr} is a single input; a computation graph needs an operation")
        if output is not None:
            label = output if isinstance(output, str) else self.printer.doprint(output)
            root.name = label
        root.kind = "output"
        self.root = root
        self.engine = engine or ("dot" if _have_dot() else "grandalf")
        self.max_width = max_width
        self._layout()

    # ------------------------------------------------------------------ building

    def _slot_notation(self) -> Notation:
        names = dict(self.notation.names)
        names[_PLACEHOLDER] = r"\cdot"
        return Notation(names=names, bold=self.notation.bold, transpose=self.notation.transpose,
                        hadamard=self.notation.hadamard, indicator=self.notation.indicator)

    def _node(self, key, label, kind, inputs=()):
        name = self.names.get(key)
        name = self.printer.doprint(name) if isinstance(name, sp.Basic) else (name or "")
        node = Node(key, label, kind, list(inputs), name)
        self.nodes.append(node)
        self._by_key[key] = node
        return node

    def _visit(self, e) -> Node:
        if e in self._by_key:
            return self._by_key[e]
        if isinstance(e, MatrixElement) and e.parent.shape == (1, 1):
            return self._visit(e.parent)
        if isinstance(e, sp.Trace) and e.arg.shape == (1, 1):  # a 1 x 1 used as a scalar
            return self._visit(e.arg)
        if isinstance(e, (MatrixSymbol, sp.Symbol)):
            kind = "parameter" if e.name in self.parameters else "data"
            return self._node(e, self.printer.doprint(e), kind)
        rhs = self.definitions.get(e)
        if rhs is not None and _operations(e, self._expanded) > _COLLAPSE:
            uses = sorted(rhs.free_symbols, key=sp.default_sort_key)
            inputs = [(self._visit(self._expanded.get(u, u)), "") for u in uses
                      if not (isinstance(u, sp.Symbol) and u.is_integer)]
            label = self.printer.doprint(rhs)
            node = self._node(e, label, "operation", inputs)
            if _estimated_width(label) > _WIDEST_OPERATION and node.name:
                node.label = ""  # too long for a box: the name says it, the derivation shows it
            return node
        if isinstance(e, (sp.Number, Identity, OneMatrix, ZeroMatrix)) or not e.free_symbols:
            return self._node(e, self.printer.doprint(e), "constant")
        if isinstance(e, (MatAdd, MatMul)) and _transposes(e):
            # SymPy distributes transposes: (y - X θ)ᵀ is stored as yᵀ - θᵀXᵀ. Where y - X θ is
            # in the expression too, draw its transpose: one shared node, as the formula reads.
            t = sp.Transpose(e).doit()
            if t in self._subexpressions and _transposes(t) < _transposes(e):
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
        if isinstance(e, sp.BlockMatrix):
            return self._blocks(e)
        return self._operation(e)

    def _blocks(self, e) -> Node:
        """[1; x]: the varying blocks are inputs, drawn as dots; constant blocks printed."""
        grid = e.blocks
        slots, inputs = {}, []
        for b in grid:
            if b.free_symbols and b not in slots:
                slots[b] = MatrixSymbol(_PLACEHOLDER, *b.shape)
                inputs.append((self._visit(b), ""))
        rows = [" & ".join(self.printer.doprint(grid[i, j].xreplace(slots) if grid[i, j] in slots
                                                else grid[i, j]) for j in range(grid.cols))
                for i in range(grid.rows)]
        label = r"\begin{bmatrix} %s \end{bmatrix}" % r" \\ ".join(rows)
        if len(inputs) > 1:
            label = r"[\cdots]"
        return self._node(e, label, "operation", inputs)

    def _operation(self, e) -> Node:
        """Any other node: its label is the node printed with its varying argument as a dot."""
        varying = [a for a in e.args if isinstance(a, sp.Basic) and a.free_symbols
                   and not isinstance(a, (sp.Tuple, sp.Lambda))]
        if isinstance(e, ElementwiseApplyFunction):
            varying = [e.expr]
        if isinstance(e, sp.MatrixSlice):
            varying = [e.parent]
        if len(varying) != 1:
            raise UnsupportedError(
                f"cannot draw {type(e).__name__} ({e}) in a computation graph: it has "
                f"{len(varying)} varying arguments; supported are sums, products, Hadamard and "
                "Kronecker products, block matrices, and operations of one argument")
        (arg,) = varying
        slot = (MatrixSymbol(_PLACEHOLDER, *arg.shape) if getattr(arg, "is_Matrix", False)
                else sp.Symbol(_PLACEHOLDER))
        label = self.printer.doprint(e.xreplace({arg: slot}))
        return self._node(e, label, "operation", [(self._visit(arg), "")])

    # ------------------------------------------------------------------ layout

    def _layout(self):
        """Positions from the layout library; left to right, or top to bottom when too wide."""
        for node in self.nodes:
            lines = node.lines
            node.width = max(_estimated_width(t) for t in lines) + _PAD
            node.height = _LINE * len(lines) + _PAD
        layout = _dot_layout if self.engine == "dot" else _grandalf_layout

        def fit(result):  # the scale that fits the line (and, laid top to bottom, half a page)
            (width, height, _, _), direction = result
            limit = self.max_width / max(width, 1.0)
            if direction == "TB":
                limit = min(limit, MAX_HEIGHT / max(height, 1.0))
            return min(1.0, limit)

        best = self._place(layout, "LR")
        if fit(best) < 1:
            other = self._place(layout, "TB")
            if fit(other) > fit(best):
                best = other
        (self.width, self.height, positions, edges), self.direction = best
        for node in self.nodes:
            node.x, node.y = positions[id(node)]
        self.edges = [Edge(child, node, mark, path, at) for child, node, mark, path, at in edges]
        self.scale = fit(best)

    def _place(self, layout, direction):
        """One layout; where it draws a product's factors out of operand order (top to bottom,
        or left to right), their edges are numbered (1 = the left factor) and it is laid again."""
        result = layout(self.nodes, direction)
        positions = result[2]
        axis, sign = (1, -1) if direction == "LR" else (0, 1)
        renumbered = False
        for node in self.nodes:
            ordered = node.label.endswith(r"\times") or node.label == r"\otimes"
            factors = [child for child, _ in node.inputs if child.kind != "constant"
                       and getattr(child.key, "is_Matrix", False)]
            if not ordered or len(factors) < 2:
                continue
            drawn = [sign * positions[id(c)][axis] for c in factors]
            if drawn != sorted(drawn) or len({id(c) for c in factors}) < len(factors):
                node.inputs = [(child, mark or str(i + 1)) for i, (child, mark) in enumerate(node.inputs)]
                renumbered = True
        if renumbered:
            result = layout(self.nodes, direction)
        return result, direction

    # ------------------------------------------------------------------ rendering

    def _box(self, node) -> str:
        """The node's box at exactly the size the layout gave it (edges end on its border)."""
        lines = node.lines
        inner = "$%s$" % lines[0] if len(lines) == 1 else \
            r"\shortstack{$%s$\\{\footnotesize $%s$}}" % tuple(lines)
        w, h = node.width - 2 * _FRAME, node.height - 2 * _FRAME
        return (r"\fcolorbox{black}{%s}{\vbox to %sbp{\vss\hbox to %sbp{\hss %s\hss}\vss}}"
                % (COLORS[node.kind], _num(h), _num(w), inner))

    def picture(self) -> str:
        r"""LaTeX ``picture`` environment (needs xcolor; graphicx when the graph is scaled), in bp."""
        out = [r"\setlength{\unitlength}{1bp}",
               r"\begin{picture}(%s,%s)" % (_num(self.width), _num(self.height))]
        for edge in self.edges:
            out += _bezier_picture(edge.path)
            if edge.label_at is not None and edge.mark:
                out.append(r"\put(%s,%s){\makebox(0,0){\footnotesize $%s$}}"
                           % (_num(edge.label_at[0]), _num(edge.label_at[1]), edge.mark))
        for node in self.nodes:
            out.append(r"\put(%s,%s){\makebox(0,0){%s}}" % (_num(node.x), _num(node.y), self._box(node)))
        out.append(r"\end{picture}")
        if self.scale < 1:
            out = [r"\scalebox{%.3f}{%%" % self.scale, *out, "}"]
        return "\n".join(out)

    def tikz(self) -> str:
        """A ``tikzpicture`` of the same layout (needs ``\\usepackage{tikz}``)."""
        out = [r"\begin{tikzpicture}[x=1bp,y=1bp,>=stealth,"
               r"box/.style={draw,rectangle,inner sep=3pt}]"]
        index = {id(n): k for k, n in enumerate(self.nodes)}
        for node in self.nodes:
            lines = node.lines
            text = "$%s$" % lines[0] if len(lines) == 1 else \
                r"\shortstack{$%s$\\{\footnotesize $%s$}}" % tuple(lines)
            out.append(r"\node[box,fill=%s] (n%d) at (%s,%s) {%s};"
                       % (COLORS[node.kind], index[id(node)], _num(node.x), _num(node.y), text))
        for edge in self.edges:
            p = edge.path
            curve = " ".join(".. controls (%s,%s) and (%s,%s) .. (%s,%s)" % tuple(
                _num(v) for pt in p[i + 1:i + 4] for v in pt) for i in range(0, len(p) - 3, 3))
            label = ""
            if edge.label_at is not None and edge.mark:
                label = r" node[font=\footnotesize] at (%s,%s) {$%s$}" % (
                    _num(edge.label_at[0]), _num(edge.label_at[1]), edge.mark)
            out.append(r"\draw[->] (%s,%s) %s;%s" % (_num(p[0][0]), _num(p[0][1]), curve,
                                                       ("\n" + r"\path" + label + ";") if label else ""))
        out.append(r"\end{tikzpicture}")
        return "\n".join(out)


# ---------------------------------------------------------------------- layout engines

def _subexpressions(expr) -> set:
    """Every distinct sub-expression, each visited once (the expression is a DAG)."""
    return {e for e in dag.postorder(expr) if isinstance(e, sp.Basic)}


def _operations(e, named) -> int:
    """How many operations the graph would draw for ``e`` down to named nodes and inputs."""
    stop = set(named.values())
    seen, stack, count = set(), list(e.args), 1
    while stack:
        a = stack.pop()
        if a in seen or a in stop or not isinstance(a, sp.Basic) or not a.free_symbols \
                or isinstance(a, (MatrixSymbol, sp.Symbol, sp.Tuple)):
            continue
        seen.add(a)
        count += 1
        stack.extend(a.args)
    return count


def _transposes(e) -> int:
    return sum(1 for node in _subexpressions(e) if isinstance(node, sp.Transpose))


def _have_dot() -> bool:
    try:
        import graphviz  # noqa: F401 - the Python bindings
    except ImportError:
        return False
    return shutil.which("dot") is not None


def _dot_layout(nodes, direction):
    """Graphviz dot: (width, height, {id(node): (x, y)}, [(child, node, mark, path, label_at)]) in bp."""
    import graphviz

    index = {id(n): "n%d" % k for k, n in enumerate(nodes)}
    g = graphviz.Digraph(graph_attr={"rankdir": direction, "nodesep": "0.12", "ranksep": "0.17",
                                     "splines": "true", "ordering": "in"},
                         node_attr={"shape": "box", "fixedsize": "true", "label": ""},
                         edge_attr={"arrowsize": "0.4", "fontsize": "9"})
    for n in nodes:
        g.node(index[id(n)], width="%.4f" % (n.width / 72), height="%.4f" % (n.height / 72))
    edges = []
    for n in nodes:
        for k, (child, mark) in enumerate(n.inputs):
            attrs = {"label": mark} if mark else {}
            g.edge(index[id(child)], index[id(n)], **attrs)
            edges.append((child, n, mark))
    plain = g.pipe(format="plain", encoding="utf-8")
    by_name = {index[id(n)]: n for n in nodes}
    positions, paths, width, height = {}, [], 0.0, 0.0
    pending = {}
    for child, n, mark in edges:
        pending.setdefault((index[id(child)], index[id(n)]), []).append((child, n, mark))
    for line in plain.splitlines():
        parts = _split_plain(line)
        if not parts:
            continue
        if parts[0] == "graph":
            width, height = float(parts[2]) * 72, float(parts[3]) * 72
        elif parts[0] == "node":
            positions[id(by_name[parts[1]])] = (float(parts[2]) * 72, float(parts[3]) * 72)
        elif parts[0] == "edge":
            count = int(parts[3])
            pts = [(float(parts[4 + 2 * i]) * 72, float(parts[5 + 2 * i]) * 72) for i in range(count)]
            rest = parts[4 + 2 * count:]
            label_at = (float(rest[1]) * 72, float(rest[2]) * 72) if len(rest) >= 5 else None
            child, n, mark = pending[(parts[1], parts[2])].pop(0)
            paths.append((child, n, mark, _arrow_tail(pts), label_at))
    return width, height, positions, paths


def _split_plain(line):
    """A line of dot's plain output, with quoted fields kept whole."""
    import shlex
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def _arrow_tail(pts, length=4.0):
    """dot ends a spline where its arrowhead (0.4 x 10 bp) starts: go on to the box's border."""
    if len(pts) < 2:
        return pts
    (x1, y1), (x2, y2) = pts[-2], pts[-1]
    norm = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    if norm == 0:
        return pts
    end = (x2 + (x2 - x1) / norm * length, y2 + (y2 - y1) / norm * length)
    return pts + [_lerp(pts[-1], end, 1 / 3), _lerp(pts[-1], end, 2 / 3), end]


def _grandalf_layout(nodes, direction):
    """grandalf's Sugiyama layout (pure Python): straight segments through its dummy nodes."""
    from grandalf.graphs import Edge as GEdge
    from grandalf.graphs import Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class View:
        def __init__(self, w, h):
            self.w, self.h, self.xy = w, h, (0.0, 0.0)

    class EdgeView:
        def setpath(self, pts):
            self._pts = pts

    across = direction == "LR"   # grandalf lays out top to bottom: swap for left to right
    vertices = {}
    for n in nodes:
        v = Vertex(n)
        v.view = View(n.height, n.width) if across else View(n.width, n.height)
        vertices[id(n)] = v
    gedges = []
    for n in nodes:
        for child, mark in n.inputs:
            e = GEdge(vertices[id(child)], vertices[id(n)])
            e.view = EdgeView()
            e.mark = mark
            gedges.append(e)
    graph = Graph(list(vertices.values()), gedges)
    positions, offset = {}, 0.0
    for component in graph.C:
        sug = SugiyamaLayout(component)
        sug.xspace, sug.yspace = 12, 24
        sug.init_all()
        sug.draw()
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = offset - min(xs)
        for v in component.sV:
            positions[id(v.data)] = (v.view.xy[0] + shift, v.view.xy[1])
        for e in component.sE:
            e.view._shift = shift
        offset = max(v.view.xy[0] + v.view.w / 2 + shift for v in component.sV) + 16
    ys = [p[1] for p in positions.values()]
    top, bottom = min(ys), max(ys)

    def place(x, y):  # grandalf: layers top to bottom, y growing downward
        return (y, -x) if across else (x, bottom - y + top)

    out = {k: place(*p) for k, p in positions.items()}
    paths = []
    for e in gedges:
        pts = getattr(e.view, "_pts", None)
        shift = getattr(e.view, "_shift", 0.0)
        child, node = e.v[0].data, e.v[1].data
        if pts:
            poly = [place(x + shift, y) for x, y in pts]
        else:
            poly = [out[id(child)], out[id(node)]]
        poly = [_border(poly[0], poly[1], child, out[id(child)]), *poly[1:-1],
                _border(poly[-1], poly[-2], node, out[id(node)])]
        spline = [poly[0]]
        for a, b in zip(poly, poly[1:]):
            spline += [_lerp(a, b, 1 / 3), _lerp(a, b, 2 / 3), b]
        a, b = poly[-2], poly[-1]
        label_at = _lerp(a, b, 0.5) if e.mark else None
        if label_at:
            label_at = (label_at[0] + 5, label_at[1] + 5)
        paths.append((child, node, e.mark, spline, label_at))
    xs = [p[0] - n.width / 2 for n in nodes for p in [out[id(n)]]]
    ys = [p[1] - n.height / 2 for n in nodes for p in [out[id(n)]]]
    dx, dy = -min(xs), -min(ys)
    out = {k: (x + dx, y + dy) for k, (x, y) in out.items()}
    paths = [(c, n, m, [(x + dx, y + dy) for x, y in p], None if at is None else (at[0] + dx, at[1] + dy))
             for c, n, m, p, at in paths]
    width = max(out[id(n)][0] + n.width / 2 for n in nodes)
    height = max(out[id(n)][1] + n.height / 2 for n in nodes)
    return width, height, out, paths


def _lerp(a, b, t):
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _border(point, toward, node, centre):
    """Where the segment from the centre of ``node`` toward ``toward`` leaves its box."""
    (cx, cy), (tx, ty) = centre, toward
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return point
    sx = (node.width / 2) / abs(dx) if dx else float("inf")
    sy = (node.height / 2) / abs(dy) if dy else float("inf")
    s = min(sx, sy, 1.0)
    return (cx + dx * s, cy + dy * s)


# ---------------------------------------------------------------------- drawing helpers

def _bezier_picture(pts):
    r"""A cubic Bezier spline as ``\qbezier`` pieces (one quadratic per cubic), and an arrowhead."""
    out = []
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i:i + 4]
        c = ((3 * (p1[0] + p2[0]) - p0[0] - p3[0]) / 4, (3 * (p1[1] + p2[1]) - p0[1] - p3[1]) / 4)
        out.append(r"\qbezier(%s,%s)(%s,%s)(%s,%s)" % tuple(map(_num, (*p0, *c, *p3))))
    if len(pts) >= 2:
        (x1, y1), (x2, y2) = pts[-2], pts[-1]
        if (x1, y1) == (x2, y2) and len(pts) >= 3:
            x1, y1 = pts[-3]
        dx, dy = _slope(x2 - x1, y2 - y1)
        out.append(r"\put(%s,%s){\vector(%d,%d){0}}" % (_num(x2), _num(y2), dx, dy))
    return out


def _slope(dx: float, dy: float) -> tuple[int, int]:
    """The picture-mode arrow direction (|x|, |y| <= 4, coprime) closest to (dx, dy)."""
    import math

    best, angle = (1, 0), math.atan2(dy, dx)

    def gap(a):
        return abs((a - angle + math.pi) % (2 * math.pi) - math.pi)

    for x in range(-4, 5):
        for y in range(-4, 5):
            if (x, y) == (0, 0) or math.gcd(abs(x), abs(y)) != 1:
                continue
            if gap(math.atan2(y, x)) < gap(math.atan2(best[1], best[0])):
                best = (x, y)
    return best


def _estimated_width(label: str) -> float:
    """A guess at a label's printed width in pt at the body size (for box sizes only)."""
    import re

    if "bmatrix" in label:  # a column [1; x]: as wide as its widest row, plus brackets
        rows = label.split("bmatrix}")[1].split(r"\\")
        return max(_estimated_width(r.replace(r"\end{", "")) for r in rows) + 10
    text = re.sub(r"\\(operatorname|mathbf|boldsymbol|mathrm|left|right|tilde|hat|,|;|!)", "", label)
    text = re.sub(r"\\[a-zA-Z]+", "x", text)          # \sigma, \times, \top: one glyph
    small = sum(len(m) for m in re.findall(r"[_^]\{([^{}]*)\}|[_^](.)", text) for m in m)
    text = re.sub(r"[{}^_ &]", "", text)
    wide = sum(1 for ch in text if ch.isupper())  # bold capitals are about 9 pt wide
    return 6.0 * (len(text) - small) + 3.0 * wide + 4.2 * small + 2


def _num(x: float) -> str:
    return ("%.1f" % x).rstrip("0").rstrip(".")


# ---------------------------------------------------------------------- public functions

def computation_graph(expr, parameters=(), notation: Notation | None = None, output=None, names=None,
                      engine=None, definitions=None):
    """The graph of ``expr``: symbols named in ``parameters`` are parameters, others data."""
    return ComputationGraph(expr, parameters, notation, output, names, engine, definitions=definitions)


def picture_graph(expr, parameters=(), notation: Notation | None = None, output=None, names=None,
                  definitions=None) -> str:
    """The graph in LaTeX's picture environment: compiles with texlive-latex-base/recommended."""
    return ComputationGraph(expr, parameters, notation, output, names, definitions=definitions).picture()


def tikz_graph(expr, parameters=(), notation: Notation | None = None, output=None,
               engine: str = "tikz", names=None) -> str:
    """The graph as a ``tikzpicture`` (``engine="tikz"``, needs TikZ from texlive-pictures) or
    in the ``picture`` environment (``engine="picture"``, needs nothing beyond xcolor)."""
    if engine not in ("tikz", "picture"):
        raise ValueError(f"engine is 'tikz' or 'picture', not {engine!r}")
    graph = ComputationGraph(expr, parameters, notation, output, names)
    return graph.tikz() if engine == "tikz" else graph.picture()
