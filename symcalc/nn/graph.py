"""The scalar computation-graph mode of the CMU backpropagation lecture.

A Python function of scalars, such as ``J = cos(sin(x**2) + 3*x**2)``, is read with ``ast`` (never
executed: a whitelist of arithmetic, ``exp log sin cos tan tanh sqrt sigmoid relu threshold``,
``max min`` and constants) and broken into one primitive operation per line: the forward table
t = x², u₁ = sin t, … . Equal operations on equal inputs are one node (x² above is computed once).
The backward table runs the nodes in reverse and adds each one's share into its inputs' adjoints,
dJ/dw += dJ/dv · ∂v/∂w.
``values(x=2)`` evaluates both tables at a point; ``gradient()`` gives the symbolic derivatives.
Names the user assigns are kept (``t = x**2`` names that node t); the others are u1, u2, … .
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass

import sympy as sp

from typing import Callable, Sequence

from ..errors import ParseError, UnsupportedError
from ..diff.rules import heaviside_to_step
from ..functions import ReLU, Sigmoid, Threshold

FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
             "tanh": sp.tanh, "sqrt": sp.sqrt, "sigmoid": Sigmoid, "relu": ReLU, "threshold": Threshold,
             "max": sp.Max, "min": sp.Min}
#: functions of two or more arguments; the others take one
VARIADIC = {"max", "min"}
CONSTANTS = {"pi": sp.pi, "e": sp.E}
MODULES = {"math", "np", "numpy", "sc", "symcalc", "sp", "sympy"}
_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}


@dataclass
class Node:
    """One line of the forward table: ``symbol = op`` with ``op`` over ``inputs``."""

    symbol: sp.Symbol
    op: sp.Expr
    inputs: tuple

    def local(self, w):
        """∂(this node)/∂w for one of its inputs (almost everywhere: max′ is 1[a > b], not a Heaviside)."""
        return heaviside_to_step(sp.diff(self.op, w))


@dataclass
class BackwardRow:
    """dJ/d``target`` += dJ/d``source`` · ∂source/∂target, with ∂source/∂target = ``local``."""

    target: sp.Symbol
    source: sp.Symbol
    local: sp.Expr


class ComputationGraph:
    """Forward and backward tables of a scalar function (see the module docstring)."""

    def __init__(self, name: str, inputs: Sequence[sp.Symbol], nodes: Sequence[Node],
                 output: sp.Symbol, function: Callable[..., object] | None = None) -> None:
        self.name = name
        self.inputs = list(inputs)
        self.nodes = list(nodes)
        self.output = output
        self.function = function

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_function(cls, fn):
        """The graph of a Python function defined in a file (its source is read, not run)."""
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError) as exc:
            raise ParseError(f"the source of {fn!r} is not on disk ({exc}); define the function "
                             "in a file or use ComputationGraph.from_source(text)") from None
        graph = cls.from_source(textwrap.dedent(source), name=fn.__name__)
        graph.function = fn
        return graph

    @classmethod
    def from_source(cls, source, name=None):
        """The graph of the ``def`` named ``name`` (the first one if None) in ``source``."""
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ParseError(f"not Python: {exc.msg} at line {exc.lineno}, column {exc.offset}") from None
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        if name is not None:
            defs = [n for n in defs if n.name == name]
        if not defs:
            raise ParseError(f"no function {name or ''} defined in the source".replace("  ", " "))
        return _Builder(defs[0]).build(cls)

    # ------------------------------------------------------------------ tables

    def forward_table(self):
        """[(symbol, operation)] from the inputs to the output."""
        return [(n.symbol, n.op) for n in self.nodes]

    def backward_table(self):
        """[BackwardRow] from the output back to the inputs, as the lecture lists them."""
        rows = []
        for node in reversed(self.nodes):
            for w in node.inputs:
                rows.append(BackwardRow(w, node.symbol, node.local(w)))
        return rows

    def expression(self, symbol=None):
        """A node (the output by default) as an expression in the inputs."""
        full = {}
        for n in self.nodes:
            full[n.symbol] = n.op.xreplace(full)
        return full[symbol if symbol is not None else self.output]

    def gradient(self):
        """{input: dJ/dinput} as expressions in the inputs, by the backward table."""
        adjoint = self._adjoints({n.symbol: n.symbol for n in self.nodes})
        full = {}
        for n in self.nodes:
            full[n.symbol] = n.op.xreplace(full)
        return {x: adjoint.get(x, sp.S.Zero).xreplace(full) for x in self.inputs}

    def _adjoints(self, value):
        adjoint = {self.output: sp.S.One}
        for node in reversed(self.nodes):
            g = adjoint.get(node.symbol, sp.S.Zero)
            for w in node.inputs:
                adjoint[w] = adjoint.get(w, sp.S.Zero) + g * node.local(w).xreplace(value)
        return adjoint

    def values(self, **point):
        """Forward values and adjoints dJ/dv at ``point`` (exact SymPy numbers; ``float()`` them)."""
        missing = [x.name for x in self.inputs if x.name not in point]
        if missing:
            raise ParseError(f"values() needs {', '.join(missing)}; the inputs are "
                             + ", ".join(x.name for x in self.inputs))
        value = {x: sp.nsimplify(point[x.name]) if isinstance(point[x.name], float)
                 else sp.sympify(point[x.name]) for x in self.inputs}
        for n in self.nodes:
            value[n.symbol] = n.op.xreplace(value)
        adjoint = self._adjoints(value)
        return {"forward": value, "adjoint": adjoint}

    # ------------------------------------------------------------------ LaTeX

    def definition_latex(self):
        """The user's function as a definition line: latexify-py for a function on disk where it is
        installed (it is not on Python 3.14 and later), else SymPy's LaTeX of the expression."""
        if self.function is not None:
            try:
                import latexify
            except ImportError:
                pass
            else:
                return str(latexify.get_latex(self.function))
        args = ", ".join(sp.latex(x) for x in self.inputs)
        return rf"{self.name}({args}) = {sp.latex(self.expression())}"

    def latex(self, point=None):
        """Definition line, forward table and backward table (amsmath), with values at ``point``."""
        vals = self.values(**point) if point else None

        def num(v):
            return "" if vals is None else rf" &&= {sp.N(v, 6)}"

        fwd = [rf"{sp.latex(s)} &= {sp.latex(op)}" + (num(vals['forward'][s]) if vals else "")
               for s, op in self.forward_table()]
        out = sp.latex(self.output)
        bwd = [rf"\frac{{d{out}}}{{d{out}}} &= 1"]
        for r in self.backward_table():
            src, tgt = sp.latex(r.source), sp.latex(r.target)
            local = rf"\frac{{\partial {src}}}{{\partial {tgt}}}"
            bwd.append(rf"\frac{{d{out}}}{{d{tgt}}} &\mathrel{{+}}= \frac{{d{out}}}{{d{src}}}\,{local}, "
                       rf"\quad {local} = {sp.latex(r.local)}")
        if vals:
            bwd += [rf"\frac{{d{out}}}{{d{sp.latex(x)}}} &= {sp.N(vals['adjoint'].get(x, 0), 6)}"
                    for x in self.inputs]
        parts = [r"\[" + self.definition_latex() + r"\]",
                 r"\paragraph{Forward}", r"\begin{align*}", " \\\\\n".join(fwd), r"\end{align*}",
                 r"\paragraph{Backward}", r"\begin{align*}", " \\\\\n".join(bwd), r"\end{align*}"]
        return "\n".join(parts)

    def _repr_html_(self):
        """An HTML table for Jupyter (the printing side, loaded on first use)."""
        from ..printing.html import computation_graph_html
        return computation_graph_html(self)

    def __str__(self):
        lines = [f"{self.name}({', '.join(map(str, self.inputs))}) = {self.expression()}", "forward:"]
        lines += [f"  {s} = {op}" for s, op in self.forward_table()]
        lines += ["backward:"]
        lines += [f"  d{self.output}/d{r.target} += d{self.output}/d{r.source} * {r.local}"
                  for r in self.backward_table()]
        return "\n".join(lines)


def computation_graph(fn_or_source: Callable[..., object] | str,
                      name: str | None = None) -> ComputationGraph:
    """A ComputationGraph of a function (read from its file) or of source text."""
    if isinstance(fn_or_source, str):
        return ComputationGraph.from_source(fn_or_source, name=name)
    return ComputationGraph.from_function(fn_or_source)


class _Builder:
    """Turns the AST of one function into nodes, one primitive operation each."""

    def __init__(self, fdef: ast.FunctionDef):
        self.fdef = fdef
        self.env: dict[str, sp.Expr] = {}
        self.nodes: list[Node] = []
        self.by_op: dict[sp.Expr, sp.Symbol] = {}
        self.used: set[str] = set()
        self.counter = 0

    def fail(self, node, what):
        raise ParseError(f"line {getattr(node, 'lineno', '?')}, column "
                         f"{getattr(node, 'col_offset', -1) + 1}: {what}")

    def build(self, cls):
        f = self.fdef
        a = f.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults:
            self.fail(f, "only plain positional arguments are supported")
        inputs = []
        for arg in a.args:
            s = sp.Symbol(arg.arg, real=True)
            self.env[arg.arg] = s
            self.used.add(arg.arg)
            inputs.append(s)
        output = None
        body = [s for s in f.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                          and isinstance(s.value.value, str))]
        for k, stmt in enumerate(body):
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    self.fail(stmt, "assign to one plain name, as in t = x**2")
                target = stmt.targets[0].id
                if target in self.env:
                    self.fail(stmt, f"{target} is assigned twice; give each value its own name")
                self.used.add(target)
                self.env[target] = self.node(stmt.value, name=target)
            elif isinstance(stmt, ast.Return):
                if k != len(body) - 1 or stmt.value is None:
                    self.fail(stmt, "return one expression, as the last statement")
                out_name = f.name if f.name not in self.env else f.name + "_out"
                if isinstance(stmt.value, ast.Name) and stmt.value.id in self.env:
                    output = self.env[stmt.value.id]
                else:
                    self.used.add(out_name)
                    output = self.node(stmt.value, name=out_name)
            else:
                self.fail(stmt, f"{type(stmt).__name__} statements are not supported; use "
                                "assignments and one return")
        if output is None:
            self.fail(f, "the function returns nothing")
        if output in inputs or not isinstance(output, sp.Symbol) or output not in {n.symbol for n in self.nodes}:
            self.fail(f, "the function returns an input or a constant: there is nothing to differentiate")
        return cls(f.name, inputs, self.nodes, output)

    def fresh(self):
        while True:
            self.counter += 1
            name = f"u{self.counter}"
            if name not in self.used:
                self.used.add(name)
                return name

    def emit(self, op, name=None):
        """The symbol of operation ``op``: an existing node for an equal op, else a new node."""
        if op.is_number:
            return op
        if op in self.by_op:
            sym = self.by_op[op]
            if name is None:
                return sym
            # a user-named copy of an existing value: keep the name as its own node
        if isinstance(op, sp.Symbol) and name is None:
            return op
        sym = sp.Symbol(name or self.fresh(), real=True)
        inputs = tuple(sorted((s for s in op.free_symbols), key=lambda s: s.name))
        self.nodes.append(Node(sym, op, inputs))
        self.by_op.setdefault(op, sym)
        return sym

    def node(self, e, name=None):
        """Decompose expression AST ``e``; the root operation gets ``name``."""
        return self.emit(self.op(e), name)

    def operand(self, e):
        return self.emit(self.op(e))

    def op(self, e):
        """The root operation of ``e`` over the symbols of its operands (operands emitted first)."""
        if isinstance(e, ast.Constant) and isinstance(e.value, (int, float)) and not isinstance(e.value, bool):
            return sp.nsimplify(e.value) if isinstance(e.value, float) else sp.Integer(e.value)
        if isinstance(e, ast.Name):
            if e.id in self.env:
                return self.env[e.id]
            if e.id in CONSTANTS:
                return CONSTANTS[e.id]
            self.fail(e, f"unknown name {e.id!r}; use the function's arguments or earlier assignments")
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id in MODULES \
                and e.attr in CONSTANTS:
            return CONSTANTS[e.attr]
        if isinstance(e, ast.BinOp) and type(e.op) in _BINARY:
            a, b = self.operand(e.left), self.operand(e.right)
            return _BINARY[type(e.op)](a, b)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            a = self.operand(e.operand)
            return -a if isinstance(e.op, ast.USub) else a
        if isinstance(e, ast.Call):
            fname = self.function_name(e.func)
            if fname in VARIADIC:
                if e.keywords or len(e.args) < 2:
                    self.fail(e, f"{fname} takes two or more positional arguments, as {fname}(0, z)")
            elif e.keywords or len(e.args) != 1:
                self.fail(e, f"{fname} takes one positional argument")
            return FUNCTIONS[fname](*[self.operand(a) for a in e.args])
        self.fail(e, f"{type(e).__name__} is not supported; use + - * / **, numbers, names and "
                     + ", ".join(sorted(FUNCTIONS)))

    def function_name(self, f):
        if isinstance(f, ast.Name):
            name = f.id
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in MODULES:
            name = f.attr
        else:
            self.fail(f, "call a function by name, as sin(x) or math.sin(x)")
        if name not in FUNCTIONS:
            raise UnsupportedError(f"line {f.lineno}: unknown function {name!r}; supported: "
                                   + ", ".join(sorted(FUNCTIONS)))
        return name
