"""A network's backpropagation written out as a ``symcalc.derivation.Derivation``.

Sections as CS229's Algorithms 3–4 and the CMU lecture write them: the forward pass (definitions),
the local Jacobians of one sample, the backward pass (δ[k] ≜ ∂L/∂z[k], the chain rule as a product
of local Jacobians in the layout's order, then the δ recursion), and the parameter gradients.
δ[k] is always the column ∂L/∂z[k] (denominator shape); in numerator layout the steps are about
δ[k]ᵀ, the row the Jacobian convention gives.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import DEFINITION, Derivation, Step, partial
from ..derivation.nodes import as_factor
from ..simplify import transpose
from . import layers as nl
from . import losses as nlo

FORWARD, JACOBIANS, ENTRIES, BACKWARD, GRADIENTS = (
    "Forward pass", "Local Jacobians (one sample)", "Weights, entry by entry", "Backward pass",
    "Parameter gradients")

_FUSED = {
    nlo.BinaryCrossEntropy: ("sigmoid output with binary cross-entropy: ", "%(d)s = %(a)s - %(y)s"),
    nlo.CrossEntropy: (r"softmax output with cross-entropy, one-hot targets ($\mathbf{1}^{\top} y = 1$): ",
                       "%(d)s = %(a)s - %(y)s"),
    nlo.LogisticLoss: ("logistic loss on logits: ", r"%(d)s = \sigma(%(z)s) - %(y)s"),
}


def _math(s: str, batch) -> str:
    """A rule's formula in the network's form: ``%(d)s`` is δ (Δ for a batch), ``%(a)s`` a."""
    d, a, y, z = (r"\Delta", "A", "Y", "Z") if batch else (r"\delta", "a", "y", "z")
    return "$" + s % {"d": d, "a": a, "y": y, "z": z, "T": r"^{\top}"} + "$"


class _Rules:
    """Rule texts in the network's convention: W_{k+1} or W^{[k+1]}, its objective's letter, its
    weights' orientation, the same way the main column writes them."""

    def __init__(self, net, num):
        self.conv, self.batch, self.num = net.convention, net.batch, num
        self.in_out = net.weights == "in_out"
        self.L = net.convention.objective

    def ix(self, base, k):
        return self.conv.indexed(base, k)

    def T(self, base, k):  # W^{[k]}ᵀ without a double superscript
        return self.ix(base, k) + r"^{\top}" if self.conv.index == "sub" else r"{%s}^{\top}" % self.ix(base, k)

    def recursion(self):
        """δ[k] = (W[k+1]ᵀ δ[k+1]) ⊙ f′(z[k]) as the batch form, the layout and the orientation write it."""
        d = r"\Delta" if self.batch else r"\delta"
        z = "Z" if self.batch else "z"
        dk, dk1, zk = self.ix(d, "k"), self.ix(d, "k+1"), self.ix(z, "k")
        W, WT = self.ix("W", "k+1"), self.T("W", "k+1")
        if self.in_out:
            W, WT = WT, W
        if self.batch == "rows":
            body = r"%s = (%s %s) \odot f'(%s)" % (dk, dk1, W, zk)
        else:
            body = r"%s = (%s %s) \odot f'(%s)" % (dk, WT, dk1, zk)
        if self.num:
            body = r"%s^{\top} = (%s)^{\top}" % (dk, body.split(" = ", 1)[1])
        return r"$\delta$ recursion: $" + body + "$"

    def gradient(self, weight: bool):
        """∂L/∂W[k] = δ[k] a[k−1]ᵀ and ∂L/∂b[k] = δ[k], as the batch form, layout and orientation write them."""
        batch, num = self.batch, self.num
        d = r"\Delta" if batch else r"\delta"
        a = "A" if batch else "a"
        dk, ak = self.ix(d, "k"), self.ix(a, "k-1")
        dT, aT = self.T(d, "k"), self.T(a, "k-1")
        if weight:
            lhs = r"\partial %s/\partial %s = " % (self.L, self.ix("W", "k"))
            if batch == "rows":
                body = "%s %s" % (aT, dk) if self.in_out else "%s %s" % (dT, ak)
            else:
                body = "%s %s" % (ak, dT) if self.in_out else "%s %s" % (dk, aT)
            if num:
                body = r"(%s)^{\top}" % body
        else:
            lhs = r"\partial %s/\partial %s = " % (self.L, self.ix("b", "k"))
            one = r"\mathbf{1}"
            body = {None: dk, "columns": "%s %s" % (dk, one), "rows": "%s %s" % (dT, one)}[batch]
            if num:
                body = {None: dT, "columns": r"%s^{\top} %s" % (one, dT),
                        "rows": r"%s^{\top} %s" % (one, dk)}[batch]
        return "linear layer: $" + lhs + body + "$"


def network_derivation(bp) -> Derivation:
    net, layout = bp.network, bp.layout
    num = layout == "numerator"
    rules = _Rules(net, num)
    row = (lambda e: transpose(e)) if num else (lambda e: e)
    steps = [Step(DEFINITION, sym, e, section=FORWARD, **_intercept_note(net, sym))
             for sym, e in bp.forward]

    single = net.batch is None
    if single:
        for (out, inp), J in bp.jacobians.items():
            if isinstance(inp, sp.MatrixSymbol) and inp in bp.parameters and inp.name.startswith("W"):
                continue  # ∂z/∂W is matrix by matrix: its vec form is in bp.jacobians, not a step
            steps.append(Step(_jacobian_rule(net, out, inp, num), partial(out, inp, layout), J,
                              section=JACOBIANS))

    steps += _weight_entries(net)

    stages = net.stages
    for s in reversed(stages):
        steps.append(Step(DEFINITION, s.delta, partial(net.L, s.z, "denominator"),
                          section=BACKWARD, relation=r"\triangleq"))
        note = ""
        if s is stages[-1]:
            words, formula = _FUSED.get(type(net.loss), ("output layer: the loss gradient through the "
                                                         "activation", None))
            rule = words + (_math(formula, net.batch) if formula else "")
            if isinstance(net.loss, nlo.CrossEntropy):
                note = "holds when each sample's target is one-hot (its entries sum to 1)"
        else:
            rule = rules.recursion()
            if single:
                nxt = stages[s.k]
                factors = [partial(s.a, s.z, layout)] if s.a is not s.z else []
                factors.append(partial(nxt.z, s.a, layout))
                chain = factors + [partial(net.L, nxt.z, layout)]
                if num:
                    chain = list(reversed(chain))
                steps.append(Step("chain rule in " + layout + " layout", partial(net.L, s.z, layout),
                                  sp.MatMul(*map(as_factor, chain)), section=BACKWARD))
        steps.append(Step(rule, row(s.delta), bp.deltas[s.k], section=BACKWARD, note=note))

    for p, g in bp.gradients.items():
        rule = rules.gradient(p.name.startswith("W"))
        steps.append(Step(rule, partial(net.L, p, layout), g, section=GRADIENTS))

    title = "Backpropagation" + {None: " (one sample)", "columns": " (samples as columns)",
                                 "rows": " (samples as rows)"}[net.batch]
    return Derivation.from_steps(title, steps, layout=layout, result=dict(bp.gradients),
                                 graph=bp.loss_expr, parameters=bp.parameters, notation=bp.notation)


def _intercept_note(net, sym):
    """z = W̃ ã for an intercept layer says what W̃ is: [b W], the intercepts in column 0 (row 0
    when W is in × out), W the weights that act on a."""
    for s in net.stages:
        if s.z == sym and s.linear.intercept:
            conv = net.convention
            label = s.linear.name if s.linear.name and not s.linear.name.isdigit() else s.k
            b = conv.indexed(conv.styled(conv.letter("b"), "b", s.linear.out_features != 1), label)
            b = b.replace("{", "{{").replace("}", "}}")  # the note is a format string
            if net.weights == "out_in":
                return {"note": "{0} $= [\\,%s\\;$ {1}$\\,]$: the intercepts in column 0" % b,
                        "note_args": (s.W, s.W[:, 1:])}
            return {"note": "{0} $= [\\,%s^{\\top};$ {1}$\\,]$: the intercepts in row 0" % b,
                    "note_args": (s.W, s.W[1:, :])}
    return {}


def _weight_entries(net):
    """∂z[k]_i / ∂W[k]_jk = 1[i = j] a[k−1]_k (index form of the matrix-by-matrix derivative)."""
    sizes = [d for s in net.stages for d in (*s.W.shape, *s.z.shape)] + list(net.x.shape)
    taken = {str(d) for d in sizes if isinstance(d, sp.Symbol)}
    names = [n for n in ("i", "j", "k", "s", "p", "q", "r", "t") if n not in taken][:4]
    if len(names) < 4:
        return []
    i, j, k, m = sp.symbols(names, integer=True)
    steps = []
    for s in net.stages:
        inp = s.augmented if s.augmented is not None else s.input
        if s.linear.out_features == 1:          # one output: W is a row, no δ_ij
            i = j = sp.S.Zero
        else:
            i, j = sp.symbols(names[:2], integer=True)
        if net.weights == "in_out":  # z_i = Σ_j W_ji a_j: entry (j, k) of W reaches z_k only
            entry = s.z[m, i] if net.batch == "rows" else s.z[i, m] if net.batch else s.z[i, 0]
            value = inp[m, j] if net.batch == "rows" else inp[j, m] if net.batch else inp[j, 0]
            lhs, rhs = partial(entry, s.W[j, k]), sp.KroneckerDelta(i, k) * value
        elif net.batch == "rows":
            lhs, rhs = partial(s.z[m, i], s.W[j, k]), sp.KroneckerDelta(i, j) * inp[m, k]
        elif net.batch == "columns":
            lhs, rhs = partial(s.z[i, m], s.W[j, k]), sp.KroneckerDelta(i, j) * inp[k, m]
        else:
            lhs, rhs = partial(s.z[i, 0], s.W[j, k]), sp.KroneckerDelta(i, j) * inp[k, 0]
        what = "column" if net.weights == "in_out" else "row"
        rule = "affine map, one entry" + ("" if i == 0 else ": $z_i$ depends on %s $i$ of $W$ only" % what)
        steps.append(Step(rule, lhs, rhs, section=ENTRIES))
    return steps


def _jacobian_rule(net, out, inp, num):
    weight = r"W" if num == (net.weights == "out_in") else r"W^{\top}"
    if out == net.L:
        return "loss gradient"
    for s in net.stages:
        if inp == s.b:
            return r"affine map: $\partial z/\partial b = I$"
        if out == s.a and inp == s.z:
            if isinstance(s.activation, nl.Softmax):
                return r"softmax: $\operatorname{diag}(s) - s s^{\top}$"
            return r"activation, entry by entry: $\operatorname{diag}(f'(z))$"
        if out == s.z and s.linear.intercept:
            return r"affine map with intercept: $\partial z/\partial a = %s$ ($W$: the weights that act on $a$)" % weight
    return r"affine map: $\partial z/\partial a = %s$" % weight
