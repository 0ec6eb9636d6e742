r"""The differential style over the model's DAG.

First the differential of every named node in those of its inputs (dz = X dw, da = a ⊙ (1 − a) ⊙ dz,
dR = −(dV)ᵀA − Vᵀ dA: one term per input, the others held). Then, for each target T (the output,
or each term), dT is written as a sum of pairings ⟨G, dx⟩ (gᵀ dx for a column, tr(Gᵀ dX) for a
matrix) and the named nodes are substituted one at a time from T down to the variable: each
substitution, the rearrangement that pairs the new differentials (⟨G, A dx⟩ = ⟨Aᵀ G, dx⟩,
gᵀ(v ⊙ dz) = (g ⊙ v)ᵀ dz), and the cancellations of ``teaching`` are lines of their own. When
only dw is left, dL = ⟨g, dw⟩ term by term, and the gradient is read off (identification).
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from ..errors import UnsupportedError
from ..functions import is_matrix
from ..simplify import add, mul, scalar, textbook, transpose
from .chain import _map_teaching, activation_names
from .common import DIFFERENTIALS, IDENTIFICATION, SUBSTITUTION, TERMS, dedupe, definitions, short
from ..printing import text
from .core import Step
from .local import row, differential_identity, gradient_map, has_jacobian, jvp, safe_jacobian, tidy11, untrace
from .teaching import combine
from .nodes import differential, partial


def pair(G, x):
    """⟨G, dx⟩: G dx for a scalar, gᵀ dx for a column, tr(Gᵀ dX) for a matrix."""
    dx = differential(x)
    if not is_matrix(x):
        G = scalar(G) if is_matrix(G) else G
        return G * dx
    if is_matrix(G) and G.shape == (1, 1) and x.shape != (1, 1):
        G = scalar(G)
    if not is_matrix(G):
        return mul(G, dx)
    if x.cols == 1:
        return mul(row(G), dx)
    return sp.Trace(mul(row(G), dx))


def render(state):
    """Σ ⟨G_x, dx⟩ over the state {x: G_x}."""
    terms = [pair(G, x) for x, G in state.items()]
    if len(terms) == 1:
        return untrace(terms[0])
    if any(is_matrix(t) for t in terms):
        return sp.MatAdd(*[t if is_matrix(t) else mul(t, sp.Identity(1)) for t in terms])
    return sp.Add(*terms)


def _d_of(node, names):
    """d(node) in the differentials of its inputs, one term per input."""
    parts = [jvp(node.body, i, names) for i in node.inputs]
    parts = [untrace(p) for p in parts]
    if len(parts) == 1:
        return parts[0]
    if any(is_matrix(p) for p in parts):
        shape = next(p.shape for p in parts if is_matrix(p))
        return add(shape, *[p if is_matrix(p) else mul(p, sp.Identity(1)) for p in parts])
    return sp.Add(*parts)


def _rule_for(node):
    if len(node.inputs) == 1:
        return differential_identity(node.body, node.inputs[0])
    rules = []
    for i in node.inputs:
        r = differential_identity(node.body, i)
        if r not in rules:
            rules.append(r)
    return "one term per input; " + "; ".join(rules)


def _local_gradient(node, x, names):
    """G with dT = ⟨G, dx⟩ + ... for T = node (denominator form), its other inputs held."""
    from .local import diff
    G = diff(node.body, x, layout="denominator")
    return tidy11(G.xreplace(names)) if names else tidy11(G)


def differential_steps(model, layout, result):
    steps = definitions(model)
    names = activation_names(model)
    wrt, out = model.wrt, model.output
    scalar_out = not is_matrix(out) or out.shape == (1, 1)
    if not scalar_out:
        return steps + _vector_steps(model, layout, result, names)
    dmap = {}
    terms = [s for _, s in model.terms] if model.terms else []
    order = [model.nodes[-1]] + [model.node(s) for s in terms] + \
        [n for n in reversed(model.nodes[:-1]) if n.symbol not in terms]
    for n in order:
        if n.symbol == out and model.terms:
            d = _sum([mul(c, differential(s)) if is_matrix(s) else c * differential(s)
                      for c, s in model.terms])
            rule = "the differential of a sum is the sum of the differentials"
        else:
            d = _d_of(n, names)
            rule = _rule_for(n)
        dmap[n.symbol] = d
        steps.append(Step(rule, differential(n.symbol), d, section=DIFFERENTIALS))
    targets = [s for _, s in model.terms] if model.terms else [out]
    gradients = {}
    for T in targets:
        g, lines = _substitute(model, T, names)
        steps += lines
        gradients[T] = g
    dL = differential(out)
    if model.terms:
        parts = [_scaled(c, pair(gradients[s], wrt)) for c, s in model.terms]
        steps.append(Step("the terms' differentials inserted", dL, _sum(parts), section=TERMS))
        G = textbook(add(wrt.shape, *[mul(c, gradients[s]) for c, s in model.terms])) if is_matrix(wrt) \
            else sp.Add(*[c * gradients[s] for c, s in model.terms])
        steps.append(Step("collected: one pairing with {0}", dL, untrace(pair(G, wrt)), section=TERMS,
                          note_args=(differential(wrt),)))
    else:
        G = gradients[out]
    final = untrace(pair(G, wrt))
    back = model.substitute_back(final)
    if back != final and short(back) and model.nodes[:-1]:
        section = TERMS if model.terms else SUBSTITUTION
        steps.append(Step("intermediates substituted", dL, back, section=section))
    P = partial(out, wrt, layout)
    shown = G if layout == "denominator" or not is_matrix(G) else textbook(transpose(G))
    steps.append(Step(_identification_rule(wrt, layout), P, shown, section=IDENTIFICATION))
    back = model.substitute_back(shown)
    back = textbook(back) if is_matrix(back) else back
    if back != shown and short(back):
        steps.append(Step("intermediates substituted", P, back, section=IDENTIFICATION))
    if result is not None and result != steps[-1].rhs and short(result) and \
            len(text(result)) < len(text(steps[-1].rhs)):
        steps.append(Step("textbook form", P, result, section=IDENTIFICATION))
    return dedupe(steps)


def _scaled(c, e):
    if c == 1:
        return e
    return mul(c, e) if is_matrix(e) else c * e


def _sum(parts):
    if len(parts) == 1:
        return parts[0]
    if any(is_matrix(p) for p in parts):
        return sp.MatAdd(*[p if is_matrix(p) else mul(p, sp.Identity(1)) for p in parts])
    return sp.Add(*parts)


def _substitute(model, T, names):
    """(G, steps): dT = ⟨G, dw⟩, written substitution by substitution."""
    wrt = model.wrt
    dT = differential(T)
    node = model.node(T)
    state = {}
    for i in node.inputs:
        state[i] = _local_gradient(node, i, names)
    steps = []
    order = [v for v in reversed(model.reaching(T)) if v not in (T, wrt)]
    for v in order:
        if v not in state:
            continue
        Gv = state.pop(v)
        vn = model.node(v)
        dv = untrace(_d_of(vn, names))
        substituted = dict(state)
        written = _sum([render(state)] + [_pair_expr(Gv, v, dv)]) if state else _pair_expr(Gv, v, dv)
        steps.append(Step("substitute {0}", dT, written, section=SUBSTITUTION, note_args=(differential(v),)))
        teach, before = {}, {}
        for i in vn.inputs:
            share, teach[i] = _share(model, vn, i, Gv, names)
            before[i] = substituted.get(i)
            substituted[i] = _add(before[i], share)
        state = substituted
        collected = render(state)
        if collected != written:
            steps.append(Step(_pairing_rule(vn), dT, collected, section=SUBSTITUTION))
        for i in vn.inputs:
            for rule, value in teach[i]:
                state[i] = _add(before[i], value)
                steps.append(Step(rule, dT, render(state), section=SUBSTITUTION))
        simple = {x: _simplified(G) for x, G in state.items()}
        if simple != state:
            state = simple
            steps.append(Step("simplified", dT, render(state), section=SUBSTITUTION))
    G = state.get(wrt, sp.ZeroMatrix(*wrt.shape) if is_matrix(wrt) else sp.S.Zero)
    return G, steps


def _share(model, node, i, G, names):
    """(i's share of the gradient G of ``node``, as written; its teaching steps)."""
    if has_jacobian(node.symbol, i, "denominator") and (not is_matrix(i) or i.cols == 1):
        J = safe_jacobian(node.body, i, "denominator", names)
        if isinstance(J, DiagMatrix) and is_matrix(G) and G.cols == 1:  # gᵀ(v ⊙ dz) = (g ⊙ v)ᵀ dz
            steps = combine(J, G, "denominator") or []
            return steps[0][1], steps[1:]
        if J is not None:
            steps = combine(J, G, "denominator") or []
            if is_matrix(J) and is_matrix(G) and J.cols == G.rows:
                return sp.MatMul(J, G), steps
            return (mul(J, G) if is_matrix(J) or is_matrix(G) else J * G), steps
    share = gradient_map(node.body, i, G, "denominator", names)
    return share, _map_teaching(model, node.symbol, share)


def _pair_expr(G, v, dv):
    """⟨G, dv⟩ with dv written out (a sum or product), as the substitution reads."""
    if not is_matrix(v):
        return (scalar(G) if is_matrix(G) else G) * dv
    if is_matrix(G) and G.shape == (1, 1) and v.shape != (1, 1):
        return mul(scalar(G), dv)
    if v.cols == 1:
        return mul(row(G), dv)
    return sp.Trace(mul(row(G), dv))


def _pairing_rule(node):
    body = node.body
    if isinstance(body, (sp.HadamardProduct,)) or any(isinstance(a, sp.HadamardProduct) for a in
                                                      sp.preorder_traversal(body)):
        return r"rearranged: $g^\top (v \odot h) = (g \odot v)^\top h$"
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    if isinstance(body, ElementwiseApplyFunction):
        return r"rearranged: $g^\top (v \odot \mathrm{d}z) = (g \odot v)^\top \mathrm{d}z$"
    if any(is_matrix(i) and i.cols != 1 for i in node.inputs):
        return r"rearranged: $\operatorname{tr}(G^\top A\, \mathrm{d}X\, B) = \operatorname{tr}((A^\top G B^\top)^\top \mathrm{d}X)$"
    return r"rearranged: $g^\top A\, \mathrm{d}x = (A^\top g)^\top \mathrm{d}x$"


def _add(a, b):
    if a is None:
        return b
    if is_matrix(a) or is_matrix(b):
        return add(a.shape if is_matrix(a) else b.shape, a, b)
    return a + b


def _simplified(G):
    if is_matrix(G):
        return textbook(tidy11(G))
    return sp.factor(sp.cancel(G)) if not G.has(sp.Trace) else G


def _identification_rule(wrt, layout):
    if not is_matrix(wrt):
        return r"identification: $\mathrm{d}L = g\, \mathrm{d}x \Rightarrow \partial L/\partial x = g$"
    if wrt.cols == 1:
        return (r"identification: $\mathrm{d}L = g^\top \mathrm{d}x \Rightarrow \partial L/\partial x = "
                + ("g$" if layout == "denominator" else r"g^\top$"))
    return (r"identification: $\mathrm{d}L = \operatorname{tr}(G^\top \mathrm{d}X) \Rightarrow "
            r"\partial L/\partial X = " + ("G$" if layout == "denominator" else r"G^\top$"))


def _vector_steps(model, layout, result, names):
    """A vector output: df substituted down to dx, then df = J dx."""
    out, wrt = model.output, model.wrt
    if not (out.cols == 1 and (not is_matrix(wrt) or wrt.cols == 1)):
        raise UnsupportedError(
            f"the differential style identifies a gradient (scalar output) or a Jacobian (vector by "
            f"vector); the output is {out.rows} x {out.cols} and {wrt} is "
            f"{wrt.rows if is_matrix(wrt) else 1} x {wrt.cols if is_matrix(wrt) else 1}: use "
            "sc.diff(..., vec=True) for the Kronecker form")
    steps, dmap = [], {}
    for n in reversed(model.nodes):
        dmap[n.symbol] = _d_of(n, names)
        steps.append(Step(_rule_for(n), differential(n.symbol), dmap[n.symbol], section=DIFFERENTIALS))
    df = differential(out)
    expr = dmap[out]
    for n in reversed(model.nodes[:-1]):
        new = expr.xreplace({differential(n.symbol): dmap[n.symbol]})
        if new != expr:
            expr = new
            steps.append(Step("substitute {0}", df, expr, section=SUBSTITUTION,
                              note_args=(differential(n.symbol),)))
    J = result if layout == "numerator" else textbook(transpose(result))
    form = mul(J, differential(wrt))
    if form != expr:
        steps.append(Step("rearranged", df, form, section=IDENTIFICATION))
    rule = (r"identification: $\mathrm{d}f = J\,\mathrm{d}x \Rightarrow \partial f/\partial x = J$"
            if layout == "numerator" else
            r"identification: $\mathrm{d}f = J\,\mathrm{d}x \Rightarrow \partial f/\partial x = J^\top$")
    steps.append(Step(rule, partial(out, wrt, layout), result, section=IDENTIFICATION))
    return dedupe(steps)


__all__ = ["differential_steps", "pair"]
