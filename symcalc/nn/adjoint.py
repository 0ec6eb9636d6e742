r"""Backpropagation over a graph of modules: one adjoint per intermediate, in matrix form.

For each let-binding s = f(u₁, …) of a ``Model``, from the loss back to the input, the adjoint
s̄ ≜ ∂L/∂s is the sum over the users of s of their backward functions (a skip connection adds its
two adjoints, a weight used twice sums its gradients). Each backward function is the engine's
vector–Jacobian product of one binding with the adjoint of its output as the seed, read off the one
rule table (``symcalc.diff.rules``): ∂L/∂V = Aᵀ Ȳ, Ā = Ȳ Vᵀ, S̄ = A ⊙ (Ā − ((Ā ⊙ A) 1) 1ᵀ), the layer
norm's textbook backward. Values the forward pass has named are written by their names.

In numerator layout every adjoint is ∂L/∂s in that layout (the transpose of the gradient), and
every line is the transpose of its denominator form.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from .. import dag, limits
from ..derivation import DEFINITION, Derivation, Step, partial
from ..diff.engine import backward
from ..errors import LayoutError
from ..functions import OneHot, Softmax
from ..simplify import add, hadamard, textbook, transpose
from . import losses as nlo
from .modules import Model

FORWARD, BACKWARD, GRADIENTS = "Forward pass", "Backward pass", "Parameter gradients"
LAYOUTS = ("denominator", "numerator")
_FUSED = {
    nlo.CrossEntropy: "softmax output with cross-entropy (one-hot targets, $\\mathbf{1}^{\\top} y = 1$): "
                      "the logits' adjoint is the prediction minus the targets, scaled as the loss is",
    nlo.BinaryCrossEntropy: ("sigmoid output with binary cross-entropy: the logits' adjoint is the "
                             "prediction minus the targets, scaled as the loss is"),
}


def _fuses(loss, binding) -> bool:
    """Softmax with cross-entropy, sigmoid with binary cross-entropy: the output's adjoint is
    written for the logits at once (Ȳ = A − Y)."""
    if binding is None or binding.kind != "activation":
        return False
    if isinstance(loss, nlo.CrossEntropy):
        return isinstance(binding.expr, Softmax)
    if isinstance(loss, nlo.BinaryCrossEntropy):
        from ..functions import Sigmoid
        return isinstance(getattr(binding.expr, "function", None), sp.Lambda) and isinstance(
            binding.expr.function.expr, Sigmoid)
    return False


def _written_transpose(e):
    """Eᵀ as a student writes it: through sums, products and entrywise products, (A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ
    (a line of the backward pass is short: its values have names)."""
    return _entrywise_transposes(transpose(e))


def _entrywise_transposes(e):
    return dag.rebuild(e, lambda n: hadamard(*[_entrywise_transposes(transpose(a)) for a in n.arg.args])
                       if isinstance(n, sp.Transpose) and isinstance(n.arg, sp.HadamardProduct) else n)


def _bar(symbol) -> sp.MatrixSymbol:
    """The adjoint's name: Q1 → Qbar1 (printed \\bar{Q}_{1})."""
    name = symbol.name
    stem = name.rstrip("0123456789")
    return stem + "bar" + name[len(stem):]


class ModelBackprop:
    """The backward pass of a ``Model`` in ``layout``.

    ``forward``    [(symbol, expression)] ending with the loss
    ``backward``   [(adjoint symbol, expression, rule, the objects the rule names)], output first
    ``adjoints``   {intermediate: its adjoint symbol}
    ``gradients``  {parameter or input: ∂L/∂θ in the layout, in the names above}
    """

    def __init__(self, model: Model, layout="denominator") -> None:
        if layout not in LAYOUTS:
            raise LayoutError(f"layout is 'denominator' or 'numerator', not {layout!r}")
        self.model, self.layout = model, layout
        self.forward = model.forward_bindings()
        self.backward: list = []
        self.adjoints: dict = {}
        self.gradients: dict = {}
        self._expanded: dict = {}
        self._derivation: Derivation | None = None
        self._derive()

    @property
    def loss(self):
        return self.model.L

    @property
    def variables(self):
        """What gets a gradient: the parameters, then the inputs that are not one-hot tokens."""
        return self.model.parameters + [x for x in self.model.inputs if not isinstance(x, OneHot)]

    # ------------------------------------------------------------------ the sweep

    @limits.deep
    def _derive(self):
        model, num = self.model, self.layout == "numerator"
        bindings = model.bindings
        by_symbol = {b.symbol: b for b in bindings}
        named = {b.expr: b.symbol for b in bindings if b.kind != "loss"}
        wanted = set(self.variables) | set(by_symbol)
        output = by_symbol.get(model.output_value.symbol)
        fused = self._fused = output if _fuses(model.loss, output) else None

        shares: dict = {}      # value -> [(share in denominator form, the user's symbol)]
        loss = bindings[-1]
        expr = loss.expr if fused is None else dag.xreplace(loss.expr, {fused.symbol: fused.expr})
        self._vjp(expr, None, wanted, named, shares, loss.symbol)
        for b in reversed(bindings[:-1]):
            if b is fused or b.symbol not in shares:
                continue
            G = self._total(b.symbol, shares.pop(b.symbol))
            if G in self.adjoints.values() or (num and transpose(G) in self.adjoints.values()):
                self.adjoints[b.symbol] = transpose(G) if num else G   # a skip connection passes its
                self._vjp(b.expr, G, wanted, named, shares, b.symbol)  # adjoint on unchanged
                continue
            bar = sp.MatrixSymbol(_bar(b.symbol), *(b.symbol.shape[::-1] if num else b.symbol.shape))
            self.adjoints[b.symbol] = bar
            self.backward.append((bar, _written_transpose(G) if num else G, *self._rule(b.symbol)))
            self._vjp(b.expr, transpose(bar) if num else bar, wanted, named, shares, b.symbol)
        for v in self.variables:
            g = self._total(v, shares.pop(v, []))
            self.gradients[v] = _written_transpose(g) if num else g

    def _vjp(self, expr, seed, wanted, named, shares, user):
        """Each value ``expr`` uses gets its share: the engine's vector–Jacobian product."""
        targets = [s for s in dag.atoms(expr, sp.MatrixSymbol) if s in wanted and s != user]
        if not targets:
            return
        sweep = backward(expr, targets, seed=seed)
        for t in targets:
            g = sweep.gradients[t]
            if getattr(g, "is_ZeroMatrix", False) or g == 0:
                continue
            shares.setdefault(t, []).append(dag.xreplace(g, named) if named else g)

    def _total(self, value, parts):
        if not parts:
            return sp.ZeroMatrix(*value.shape)
        return textbook(add(value.shape, *parts))

    def _rule(self, symbol):
        """(the rule's words, the objects its {0}, {1} … print): the backward function of the
        module that uses ``symbol``, or the sum over its uses naming each."""
        users = [u for u in self.model.bindings if symbol in dag.atoms(u.expr, sp.MatrixSymbol)]
        if len(users) > 1:
            kinds = ", ".join(dict.fromkeys(self._words(u) for u in users))
            return "sum over the uses of {0} (multivariable chain rule): " + kinds, (symbol,)
        return "backward of " + self._words(users[0]) if users[0] is not self._fused and \
            users[0].kind != "loss" else self._words(users[0]), ()

    def _words(self, u):
        if u is self._fused:
            return _FUSED[type(self.model.loss)]
        if u.kind == "loss":
            return "loss gradient"
        return u.rule or u.kind

    # ------------------------------------------------------------------ expressions in the data

    def expand(self, e):
        """``e`` in the parameters and the data alone (every name substituted)."""
        if not self._expanded:
            table: dict = {}
            for s, v in self.forward:
                table[s] = dag.xreplace(v, table)
            for bar, v, *_ in self.backward:
                table[bar] = dag.xreplace(v, table)
            self._expanded = table
        return dag.xreplace(e, self._expanded)

    @property
    def loss_expr(self):
        return self.expand(self.loss)

    def check(self, sizes=None, seed=0, tol=1e-6):
        """Every gradient against central finite differences of the loss, evaluated from the
        forward definitions by the reference evaluator: {variable: CheckReport}."""
        from ..numeric.check import check
        L = self.loss_expr
        return {v: check(L, v, self.layout, sizes=sizes, seed=seed, derivative=self.expand(g), tol=tol)
                for v, g in self.gradients.items()}

    # ------------------------------------------------------------------ derivation

    @property
    def derivation(self) -> Derivation:
        if self._derivation is None:
            self._derivation = self._write()
        return self._derivation

    def _write(self):
        steps = [Step(DEFINITION, s, e, section=FORWARD, note=b.rule if b.kind != "loss" else "")
                 for (s, e), b in zip(self.forward, self.model.bindings)]
        for i, (bar, e, rule, args) in enumerate(self.backward):
            value = next(s for s, a in self.adjoints.items() if a == bar)
            note = ("numerator layout: an adjoint is shaped like the transpose of its value"
                    if i == 0 and self.layout == "numerator" else "")
            steps.append(Step(DEFINITION, bar, partial(self.loss, value, self.layout), section=BACKWARD,
                              relation=r"\triangleq", note=note))
            steps.append(Step(rule, bar, e, section=BACKWARD, note_args=args))
        for v, g in self.gradients.items():
            rule, args = self._rule(v)
            steps.append(Step(rule, partial(self.loss, v, self.layout), g, section=GRADIENTS, note_args=args))
        title = f"Backpropagation through the model ({self.layout} layout)"
        return Derivation.from_steps(title, steps, self.layout, dict(self.gradients),
                                     parameters=tuple(self.model.parameters))

    # ------------------------------------------------------------------ NumPy

    @limits.deep
    def numpy(self):
        """(forward, backward): forward(params, *inputs) -> prediction; backward(params, *inputs,
        y) -> {name: gradient in this layout}. ``params`` maps parameter names to arrays."""
        from ..numeric.lambdify import lambdify
        params, inputs = self.model.parameters, self.model.inputs
        fwd = lambdify(params + inputs, self.expand(self.model.output_value.symbol), "forward")
        names = [v.name for v in self.gradients]
        bwd = lambdify(params + inputs + [self.model.target],
                       [self.expand(g) for g in self.gradients.values()], "backward")

        def arrays(p):
            missing = [q.name for q in params if q.name not in p]
            if missing:
                raise KeyError(f"params lacks {missing}; this model's parameters are {[q.name for q in params]}")
            return [np.asarray(p[q.name], dtype=float) for q in params]

        def forward(p, *xs):
            return fwd(*arrays(p), *[np.asarray(x, dtype=float) for x in xs])

        def backward_(p, *xs_y):
            return dict(zip(names, bwd(*arrays(p), *[np.asarray(x, dtype=float) for x in xs_y])))

        forward.source, backward_.source = fwd.source, bwd.source
        return forward, backward_

    def __repr__(self):
        return f"ModelBackprop({self.model!r}, layout={self.layout!r})"


__all__ = ["ModelBackprop"]
