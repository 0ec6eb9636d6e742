"""Worked numbers of a network, as the slides and recitations work them by hand.

``Backprop.worked(params, x, y, lr=0.1, digits=4)`` evaluates the derivation's own expressions
(generated NumPy code of the let-bindings, not a second implementation) at one point and gives,
in order: the forward values, the loss, every δ and ∂L/∂a of the backward pass, every parameter
gradient, one gradient step with its learning rate, and the loss after it. Numbers are printed to
a fixed number of significant digits with their trailing zeros (z₃ = 1.230, not 1.23); a quantity
whose entries are all whole numbers is printed exactly (∂ℓ/∂β = [4, 12, 8]).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..errors import ShapeError

INPUTS, FORWARD, BACKWARD, GRADIENTS, STEP = (
    "Given", "Forward pass", "Backward pass", "Parameter gradients", "One gradient step")


@dataclass
class Row:
    """``lhs`` (a SymPy object, or LaTeX text) = ``value``, under ``section``."""

    section: str
    lhs: object
    value: np.ndarray
    text: str = ""          # plain-text name when lhs is LaTeX
    formula: str = ""       # LaTeX shown between lhs and value (W₁ − η ∂L/∂W₁)


@dataclass
class WorkedExample:
    """The numbers of one forward and backward pass and one gradient step (see the module)."""

    backprop: object
    params: dict
    x: np.ndarray
    y: np.ndarray
    lr: float
    digits: int
    rows: list = field(default_factory=list)
    loss: float = 0.0
    new_loss: float = 0.0
    new_params: dict = field(default_factory=dict)
    gradients: dict = field(default_factory=dict)
    ascent: bool = False

    # ------------------------------------------------------------------ numbers

    def number(self, v: float) -> str:
        """``digits`` significant digits, trailing zeros kept: 1.230, 0.002634, 1.200e-05."""
        v = float(v)
        if v == 0:
            return "0"
        return f"{v:#.{self.digits}g}".rstrip(".")

    def _cells(self, value, given=False):
        a = np.atleast_2d(np.asarray(value, dtype=float))
        if given:  # the data and the starting weights, as they were given: 0.1, not 0.1000
            return [[f"{v:.{self.digits + 4}g}" for v in row] for row in a]
        exact = np.all(np.abs(a - np.round(a)) <= 1e-12 * np.maximum(1.0, np.abs(a)))
        if exact:
            return [[str(int(round(v))) for v in row] for row in a]
        return [[self.number(v) for v in row] for row in a]

    def _tex_number(self, s: str) -> str:
        if "e" in s:
            mantissa, exponent = s.split("e")
            return r"%s \times 10^{%d}" % (mantissa, int(exponent))
        return s

    def value_latex(self, value, given=False) -> str:
        cells = self._cells(value, given)
        if len(cells) == 1 and len(cells[0]) == 1:
            return self._tex_number(cells[0][0])
        body = r" \\ ".join(" & ".join(self._tex_number(c) for c in row) for row in cells)
        return r"\begin{bmatrix} %s \end{bmatrix}" % body

    def value_text(self, value, given=False) -> str:
        cells = self._cells(value, given)
        if len(cells) == 1 and len(cells[0]) == 1:
            return cells[0][0]
        return "[" + "; ".join(", ".join(row) for row in cells) + "]"

    # ------------------------------------------------------------------ output

    def _sections(self):
        groups = []
        for r in self.rows:
            if not groups or groups[-1][0] != r.section:
                groups.append((r.section, []))
            groups[-1][1].append(r)
        return groups

    def _lhs(self, r, notation):
        from ..printing import latex
        return r.lhs if isinstance(r.lhs, str) else latex(r.lhs, notation)

    def _heading(self, section, plain=False):
        if section == STEP and plain:
            return "One gradient %s step, learning rate η = %g: θ ← θ %s η ∂%s/∂θ" % (
                "ascent" if self.ascent else "descent", self.lr, "+" if self.ascent else "−",
                self.backprop.loss)
        if section == STEP:
            eta = f"{self.lr:g}"
            sign = "+" if self.ascent else "-"
            return (r"One gradient %s step with learning rate $\eta = %s$: "
                    r"$\theta \leftarrow \theta %s \eta\, \partial %s/\partial \theta$"
                    % ("ascent" if self.ascent else "descent", eta, sign, self._objective()))
        return section

    def _objective(self):
        from ..printing import latex
        return latex(self.backprop.loss, self._notation())

    def _notation(self):
        return getattr(self.backprop, "notation", None)

    def latex(self, notation=None) -> str:
        """An ``align*`` block: a heading per section, one quantity per line."""
        notation = notation or self._notation()
        out = []
        for section, rows in self._sections():
            out.append(r"\intertext{\textbf{%s}}" % self._heading(section))
            for r in rows:
                middle = (" &= %s = " % r.formula) if r.formula else " &= "
                out.append(self._lhs(r, notation) + middle
                           + self.value_latex(r.value, r.section == INPUTS) + r" \\")
        out[-1] = out[-1].removesuffix(r" \\")
        return "\\begin{align*}\n" + "\n".join(out) + "\n\\end{align*}"

    def markdown(self, notation=None) -> str:
        notation = notation or self._notation()
        parts = []
        for section, rows in self._sections():
            parts.append("**%s**" % self._heading(section))
            lines = [self._lhs(r, notation) + " &= " + self.value_latex(r.value, r.section == INPUTS)
                     for r in rows]
            parts.append("$$\n\\begin{aligned}\n%s\n\\end{aligned}\n$$" % " \\\\\n".join(lines))
        return "\n\n".join(parts) + "\n"

    def __str__(self):
        from ..printing import text
        lines = []
        for section, rows in self._sections():
            lines += ["", self._heading(section, plain=True) + ":"]
            for r in rows:
                name = r.text or text(r.lhs)
                lines.append("  %s = %s" % (name, self.value_text(r.value, r.section == INPUTS)))
        return "\n".join(lines).strip("\n")

    def _repr_latex_(self):
        return "$$" + self.latex().replace(r"\begin{align*}", r"\begin{aligned}").replace(
            r"\end{align*}", r"\end{aligned}").replace(r"\intertext", r"\text") + "$$"

    def check(self, h=1e-6):
        """The largest difference between the gradients and central differences of the loss."""
        loss = self.backprop.numpy_loss()
        worst = 0.0
        for name, value in self.params.items():
            g = self.gradients[name]
            fd = np.zeros_like(value)
            for idx in np.ndindex(value.shape):
                up, down = value.copy(), value.copy()
                up[idx] += h
                down[idx] -= h
                fd[idx] = (loss({**self.params, name: up}, self.x, self.y)
                           - loss({**self.params, name: down}, self.x, self.y)) / (2 * h)
            worst = max(worst, float(np.max(np.abs(fd - g))))
        return worst


def worked_example(bp, params, x, y, lr=0.1, digits=4) -> WorkedExample:
    """See ``Backprop.worked``."""
    net = bp.network
    concrete = [d for p in bp.parameters for d in p.shape] + list(bp.x.shape)
    symbolic = sorted({str(d) for d in concrete if not sp.sympify(d).is_Integer})
    if symbolic:
        raise ShapeError(f"worked numbers need integer sizes; this network's sizes {', '.join(symbolic)} "
                         "are symbols: build it with integers (nn.Linear(2, 3), linear(2,3))")
    params = {p.name: _as_array(params, p) for p in bp.parameters}
    x, y = _shaped(x, bp.x, "x"), _shaped(y, bp.y, "y")
    maximise = bool(getattr(net.loss, "maximise", False))
    ex = WorkedExample(bp, params, x, y, float(lr), int(digits), ascent=maximise)

    forward = [s for s, _ in bp.forward if s != bp.loss]
    deltas = [s for s, _ in bp.backward]
    up = bp.activation_gradients
    exprs = [bp.expand(s) for s in forward] + [bp.expand(bp.loss)]
    exprs += [bp.expand(s) for s in deltas] + [bp.expand(g) for g in up.values()]
    exprs += [bp.expand(bp.gradients[p]) for p in bp.parameters]
    fn = bp._compile(exprs, bp.parameters + [bp.x, bp.y], "worked")
    values = fn(*[params[p.name] for p in bp.parameters], x, y)
    values = [np.asarray(v, dtype=float) for v in values]
    k = 0
    given = [(p, params[p.name]) for p in bp.parameters] + [(bp.x, x), (bp.y, y)]
    ex.rows += [Row(INPUTS, s, v) for s, v in given]
    for s in forward:
        ex.rows.append(Row(FORWARD, s, values[k]))
        k += 1
    ex.loss = float(values[k].reshape(-1)[0])
    ex.rows.append(Row(FORWARD, bp.loss, values[k]))
    k += 1
    delta_values = dict(zip(deltas, values[k:k + len(deltas)]))
    k += len(deltas)
    up_values = dict(zip(up, values[k:k + len(up)]))
    k += len(up)
    from ..derivation import partial
    num = bp.layout == "numerator"
    by_stage = {st.delta: st for st in net.stages}
    for d in deltas:  # from the output back: δ[L], ∂L/∂a[L−1], δ[L−1], …
        st = by_stage[d]
        lhs = sp.Transpose(d) if num else d
        ex.rows.append(Row(BACKWARD, lhs, delta_values[d]))
        if st.k - 1 in up_values:
            prev = net.stages[st.k - 2]
            ex.rows.append(Row(BACKWARD, partial(bp.loss, prev.a, bp.layout), up_values[st.k - 1]))
    for p in bp.parameters:
        g = values[k]
        k += 1
        ex.gradients[p.name] = g.T if num and g.shape != params[p.name].shape else g
        ex.rows.append(Row(GRADIENTS, partial(bp.loss, p, bp.layout), g))
    sign = 1.0 if maximise else -1.0
    ex.new_params = {name: v + sign * ex.lr * ex.gradients[name] for name, v in params.items()}
    from ..printing import latex
    notation = getattr(bp, "notation", None)
    for p in bp.parameters:
        name = latex(p, notation)
        formula = r"%s %s \eta\, %s" % (name, "+" if maximise else "-", latex(partial(bp.loss, p, "denominator"), notation))
        ex.rows.append(Row(STEP, r"{%s}^{\text{new}}" % name, ex.new_params[p.name],
                           text=p.name + "_new", formula=formula))
    ex.new_loss = float(bp.numpy_loss()(ex.new_params, x, y))
    L = latex(bp.loss, notation)
    ex.rows.append(Row(STEP, r"{%s}^{\text{new}}" % L, np.array([[ex.new_loss]]),
                       text=str(bp.loss) + "_new"))
    ex.rows.append(Row(STEP, r"{%s}^{\text{new}} - %s" % (L, L), np.array([[ex.new_loss - ex.loss]]),
                       text=f"{bp.loss}_new - {bp.loss}"))
    return ex


def _as_array(params, p):
    if p.name not in params:
        raise ShapeError(f"no value for the parameter {p.name} ({p.shape[0]} x {p.shape[1]}); "
                         f"values were given for {', '.join(params) or 'nothing'}")
    return _shaped(params[p.name], p, p.name)


def _shaped(value, sym, what):
    """A value as a 2-D float array of the symbol's shape: a flat list fills a row or a column."""
    a = np.asarray(value, dtype=float)
    rows, cols = (int(d) for d in sym.shape)
    if a.shape == (rows, cols):
        return a
    if a.size == rows * cols and (rows == 1 or cols == 1) and a.ndim <= 1:
        return a.reshape(rows, cols)
    if a.ndim == 0 and rows * cols == 1:
        return a.reshape(1, 1)
    raise ShapeError(f"{what} is {rows} x {cols} in this network, but the value given has shape "
                     f"{a.shape}; give a {rows} x {cols} array")
