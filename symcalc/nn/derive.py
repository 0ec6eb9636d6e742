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
        if weight:  # the differential the gradient is read off: dz = (dW) a ⇒ ∂L/∂W = δ aᵀ
            dz, dW = self.ix("dZ" if batch else "dz", "k"), self.ix("dW", "k")
            dWT = r"(%s)^{\top}" % dW
            A_ = self.ix("A" if batch else "a", "k-1")
            if batch == "rows":
                dz_is = "%s = %s %s" % (dz, A_, "(%s)" % dW if self.in_out else dWT)
            else:
                dz_is = "%s = %s %s" % (dz, dWT if self.in_out else "(%s)" % dW, A_)
            lhs = r"%s$, so $\partial %s/\partial %s = " % (dz_is, self.L, self.ix("W", "k"))
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
        steps.append(_delta_definition(net, s, layout))
        note = ""
        if s is stages[-1]:
            words, formula = _FUSED.get(type(net.loss), ("output layer: the loss gradient through the "
                                                         "activation", None))
            rule = words + (_math(formula, net.batch) if formula else "")
            if isinstance(net.loss, nlo.CrossEntropy):
                note = "holds when each sample's target is one-hot (its entries sum to 1)"
            derived = _output_steps(bp, s) if single else _batch_output_steps(bp, s)
            if derived:
                rule = "the steps above: " + rule
        else:
            rule = rules.recursion()
            derived = _recursion_steps(bp, s, stages[s.k]) if single else []
        steps += derived
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
            if net.weights == "out_in":
                return {"note": "{0} $= [\\,%s\\;$ {1} $\\,]$: the intercepts in column 0" % b,
                        "note_args": (s.W, s.W[:, 1:])}
            return {"note": "{0} $= [\\,%s^{\\top};$ {1} $\\,]$: the intercepts in row 0" % b,
                    "note_args": (s.W, s.W[1:, :])}
    return {}


def _delta_definition(net, s, layout):
    """δ[k] ≜ ∂L/∂z[k] in denominator layout; in numerator layout ∂L/∂z[k] is a row and δ[k] its
    transpose, the column (so ∂L/∂z[k] = δ[k]ᵀ, and every line below says so)."""
    P = partial(net.L, s.z, layout)
    if layout == "denominator" or s.z.shape == (1, 1):
        return Step(DEFINITION, s.delta, P, section=BACKWARD, relation=r"\triangleq")
    shaped = "the column" if s.z.cols == 1 else "shaped like {3}"
    return Step(DEFINITION, s.delta, transpose(P), section=BACKWARD, relation=r"\triangleq",
                note="numerator layout lays the gradient {0} out transposed; {1} is its transpose, "
                     + shaped + ", so {0} = {2}", note_args=(P, s.delta, transpose(s.delta), s.z))


def _sample(bp, s):
    """(z, a) of one sample at stage s, as the local Jacobians name them."""
    k = s.k - 1
    return bp.sample_symbols["z"][k], bp.sample_symbols["a"][k]


def _output_steps(bp, s):
    """∂L/∂z[L] = ∂a/∂z ∂L/∂a, the local Jacobians inserted, and their product reduced with the
    steps of ``symcalc.derivation.teaching`` (σ′ against the cross-entropy's gradient: a − y)."""
    net, layout = bp.network, bp.layout
    z, a = _sample(bp, s)
    if a is z:
        return []
    lhs = partial(net.L, s.z, layout)
    factors = [partial(a, z, layout), partial(net.L, a, layout)]
    values = [bp.jacobians[(a, z)], bp.jacobians[(net.L, a)]]
    return _reduced(lhs, factors, values, layout, "chain rule in " + layout + " layout")


def _recursion_steps(bp, s, nxt):
    """∂L/∂z[k] = ∂a/∂z ∂z[k+1]/∂a ∂L/∂z[k+1], then the Jacobians and δ[k+1] inserted and reduced."""
    net, layout = bp.network, bp.layout
    z, a = _sample(bp, s)
    znext = _sample(bp, nxt)[0]
    factors = [partial(a, z, layout)] if a is not z else []
    values = [bp.jacobians[(a, z)]] if a is not z else []
    factors.append(partial(znext, a, layout))
    values.append(bp.jacobians[(znext, a)])
    factors.append(partial(net.L, nxt.z, layout))
    values.append(transpose(nxt.delta) if layout == "numerator" else nxt.delta)
    return _reduced(partial(net.L, s.z, layout), factors, values, layout,
                    "chain rule in " + layout + " layout")


def _reduced(lhs, factors, values, layout, rule):
    from ..derivation.chain import written_product
    from ..derivation.teaching import reduce_product
    out = [Step(rule, lhs, written_product(factors, layout), section=BACKWARD),
           Step("local Jacobians inserted", lhs, _as_written(values, layout), section=BACKWARD)]
    lines, _ = reduce_product(values, layout)
    for words, state in lines:
        out.append(Step(words, lhs, _as_written(state, layout), section=BACKWARD))
    return out


def _as_written(values, layout):
    """Values (from the input to the output) as the layout's product."""
    fs = list(values) if layout == "denominator" else list(reversed(values))
    if len(fs) == 1:
        return fs[0]
    if not any(getattr(f, "is_Matrix", False) for f in fs):
        return sp.Mul(*fs, evaluate=False)
    return sp.MatMul(*fs)


def _batch_output_steps(bp, s):
    """A batch: ∂L/∂Z[L] through the activation's gradient map, the loss gradient inserted, and
    the cancellations written out (A − Y)."""
    from ..derivation.teaching import _cancelled, _expanded, softmax_map_steps
    net, layout = bp.network, bp.layout
    if s.a is s.z:
        return []
    lhs = partial(net.L, s.z, layout)
    G = net.loss.gradient(s.a, net.y, net.samples)
    P = partial(net.L, s.a, layout)  # ∂L/∂A as printed; as a matrix of A's shape:
    Gs = P if layout == "denominator" else transpose(P)
    inserted = (r"the loss gradient {0} inserted", (P, G if layout == "denominator" else transpose(G)))
    if isinstance(s.activation, nl.Softmax):
        if net.batch != "columns":
            return []
        steps = softmax_map_steps(s.a, G) or []
        if not steps:
            return []
        shown = [(r"softmax, column by column: $\partial L/\partial Z = S \odot G - S \odot "
                  r"(\mathbf{1}\mathbf{1}^{\top} (S \odot G))$ for $G = \partial L/\partial S$",
                  _softmax_written(s.a, Gs), ()),
                 (inserted[0], _softmax_written(s.a, G), inserted[1])] + [(w, e, ()) for w, e in steps]
    else:
        v = s.activation.slope(s.z, s.a)
        first = sp.HadamardProduct(G, v)
        shown = [(r"entrywise activation: $\partial L/\partial Z = \partial L/\partial A \odot f'(Z)$",
                  sp.HadamardProduct(Gs, v), ()), (inserted[0], first, inserted[1])]
        merged = _cancelled(v, G)
        if merged != first:
            shown.append(("cancel the common factors", merged, ()))
            done = _expanded(merged)
            if done != merged:
                shown.append(("expand and collect", done, ()))
    if layout == "numerator":
        shown = [(w, transpose(e) if not isinstance(e, sp.HadamardProduct) else
                  sp.HadamardProduct(*[transpose(a) for a in e.args]), args) for w, e, args in shown]
    return [Step(w, lhs, e, section=BACKWARD, note_args=args) for w, e, args in shown]


def _softmax_written(S, G):
    ones = sp.MatMul(sp.OneMatrix(S.rows, 1), sp.OneMatrix(1, S.rows))  # 1 1ᵀ, written as such
    SG = sp.HadamardProduct(S, G)
    return sp.MatAdd(SG, sp.MatMul(-1, sp.HadamardProduct(S, sp.MatMul(ones, SG))))


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
