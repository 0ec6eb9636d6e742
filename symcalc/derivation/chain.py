r"""The chain-rule style over the model's DAG.

For each target T (the output, or each term of L = L₁ + λ L₂), the gradient is accumulated from T
back to the variable, one named node v at a time: ∂T/∂v is the sum, over the nodes u that use v,
of ∂u/∂v ∂T/∂u (the multivariable chain rule). A node used once is not written on its own: its
product is carried into the next one, so a chain without forks is one product of local
derivatives, and a variable used twice is a sum of two products, one per path. A line of its own
is written for the variable, for a node used more than once, and for a node whose local derivative
has no matrix form (z = W x by W, Z = V X by V): there the gradient map is used, read off the
differential (dz = (dW) x gives ∂T/∂W = ∂T/∂z xᵀ).

Every line is followed by its values (local derivatives inserted), the teaching steps of
``teaching`` (σ′ cancelling against the cross-entropy, the softmax Jacobian), and the simplified
result, each checked by ``Derivation.check``.
"""
from __future__ import annotations

import sympy as sp

from ..errors import UnsupportedError
from ..functions import is_matrix
from ..simplify import add, mul, textbook
from .common import CHAIN, LOCAL, TERMS, dedupe, definitions, final_steps
from .core import Step
from .local import gradient_map, has_jacobian, identity, jvp, safe_jacobian, tidy11
from .model import ACTIVATIONS, MATRIX_FUNCTIONS
from .nodes import Partial, as_factor, differential, partial
from .teaching import as_number, reduce_product, softmax_map_steps
from .teaching import LAYER_NORM, layer_norm_jacobian
from .local import map_identity
from ..functions import LayerNorm
from .teaching import _cancelled, _expanded  # noqa: F401 - the map's cancellation

ORDER = {"denominator": "from the input to the output", "numerator": "from the output to the input"}
#: A product of more local derivatives than this is not written in one line: the intermediate
#: gradient is written instead (the backward recursion of a deep network, one step per node).
MAX_FACTORS = 4


def activation_names(model):
    """{σ(z): a, det X: u, X⁻¹: V, X^{−ᵀ}: Vᵀ}: a local derivative reads a ⊙ (1 − a), not
    σ(z) ⊙ (1 − σ(z))."""
    names = {}
    for n in model.nodes:
        if isinstance(n.body, ACTIVATIONS + MATRIX_FUNCTIONS):
            names[n.body] = n.symbol
            if isinstance(n.body, sp.Inverse):
                X = n.body.arg
                names[sp.Inverse(sp.Transpose(X))] = names[sp.Transpose(n.body)] = n.symbol.T
                names[sp.Inverse(X.T)] = n.symbol.T
    return names


def written_product(factors, layout):
    """The factors (input to output) as a product in the layout's order; a scalar ∂ keeps its
    place where its neighbours allow a 1 x 1 factor (SymPy moves scalars to the front)."""
    fs = list(factors) if layout == "denominator" else list(reversed(factors))
    if len(fs) == 1:
        return fs[0]
    if not any(is_matrix(f) for f in fs):
        return sp.Mul(*fs, evaluate=False)
    out = []
    for k, f in enumerate(fs):
        if isinstance(f, Partial):
            left = out[-1] if out else None
            right = next((g for g in fs[k + 1:] if is_matrix(g)), None)
            if (left is None or (is_matrix(left) and left.cols == 1)) and \
                    (right is None or right.rows == 1):
                f = as_factor(f)
        out.append(f)
    return sp.MatMul(*out)


class _Target:
    """The accumulation of ∂T/∂v for one target T."""

    def __init__(self, model, target, layout, locals_):
        self.model, self.T, self.layout, self.locals = model, target, layout, locals_
        self.on = model.reaching(target)
        onset = set(self.on)
        self.users = {v: model.users(v, within=onset) for v in self.on if v != target}
        scalar_T = not is_matrix(target) or target.shape == (1, 1)
        self.maps = set()
        for v, us in self.users.items():
            for u in us:
                if not has_jacobian(u, v, layout) or (u, v) not in self.locals:
                    if not scalar_T:
                        raise UnsupportedError(
                            f"the chain-rule derivation of the {target.rows} x {target.cols} output by "
                            f"{model.wrt} needs every local derivative in matrix form, and ∂{u}/∂{v} has "
                            "none; use style='differential', or differentiate a scalar function of it")
                    self.maps.add((u, v))
        self.printed = {model.wrt} | {v for v, us in self.users.items() if len(us) > 1}
        self.printed |= {u for u, _ in self.maps}
        self.printed.discard(target)
        self.collapsed = {}   # v -> [factors, input to output] of ∂T/∂v, for v not printed
        self.values = {}      # v -> ∂T/∂v in the intermediates' names, for v printed
        self.steps = []

    def P(self, u, v):
        return partial(u, v, self.layout)

    def contributions(self, v):
        """[("product", factors) | ("map", u)] for ∂T/∂v, one per user u of v."""
        out = []
        for u in self.users[v]:
            if (u, v) in self.maps:
                out.append(("map", u))
            elif u == self.T:
                out.append(("product", [self.P(u, v)]))
            elif u in self.printed:
                out.append(("product", [self.P(u, v), self.P(self.T, u)]))
            else:
                out.append(("product", [self.P(u, v)] + self.collapsed[u]))
        return out

    def symbolic(self, v, parts):
        terms = []
        for kind, x in parts:
            if kind == "product":
                terms.append(written_product(x, self.layout))
            else:
                terms.append(gradient_map(self.model.node(x).body, v, self.P(self.T, x), self.layout,
                                          activation_names(self.model)))
        return _sum(terms)

    def longest_product(self):
        """The most local derivatives one collapsed product would multiply."""
        length = {}
        for v in reversed(self.on):
            if v == self.T or v in self.printed:
                continue
            u, = self.users[v]
            length[v] = 1 if u == self.T else 2 if u in self.printed else 1 + length[u]
        return max(length.values(), default=0)

    def run(self):
        if self.longest_product() > MAX_FACTORS:  # a deep chain: ∂L/∂v node by node, each
            self.printed |= set(self.on) - {self.T}  # in terms of the one after it
            self.recursive = True
        for v in reversed(self.on):
            if v == self.T:
                continue
            parts = self.contributions(v)
            if v not in self.printed:
                (kind, factors), = parts
                self.collapsed[v] = factors
                continue
            if parts == [("product", [self.P(self.T, v)])]:
                self.values[v] = self.locals[(self.T, v)]
                continue
            self.write(v, parts)
        return self.steps

    def write(self, v, parts):
        lhs = self.P(self.T, v)
        sym = self.symbolic(v, parts)
        self.steps.append(Step(self.rule(v, parts), lhs, sym, section=CHAIN,
                               note_args=self.rule_args(v, parts)))
        # values: local derivatives and earlier results inserted, path by path
        states = []
        for kind, x in parts:
            if kind == "product":
                states.append(("product", [self.value_of(f) for f in x]))
            else:
                body = self.model.node(x).body
                states.append(("value", gradient_map(body, v, self.values[x], self.layout,
                                                     activation_names(self.model))))
        inserted = self.render(states)
        rule = "local derivatives inserted" if all(k == "product" for k, _ in parts) else \
            "local derivatives and the results above inserted"
        if inserted != sym:
            self.steps.append(Step(rule, lhs, inserted, section=CHAIN))
        for k, (kind, x) in enumerate(states):
            if kind == "product":
                lines, value = reduce_product(x, self.layout)
                for rule, state in lines:
                    states[k] = ("product", state)
                    self.steps.append(Step(rule, lhs, self.render(states), section=CHAIN))
                states[k] = ("value", value)
            else:
                for rule, value in _map_teaching(self.model, parts[k][1], x):
                    states[k] = ("value", value)
                    self.steps.append(Step(rule, lhs, self.render(states), section=CHAIN))
        value = _simplify(add(_shape(lhs), *[x for _, x in states]) if is_matrix(lhs)
                          else sp.Add(*[x for _, x in states]))
        self.steps.append(Step("simplified", lhs, value, section=CHAIN))
        self.values[v] = value

    recursive = False

    def value_of(self, factor):
        if self.recursive and factor.num == self.T and factor.den in self.values:
            return factor  # the backward recursion keeps the gradient after it by its name
        if factor.num == self.T and factor.den in self.values and factor.den != self.model.wrt:
            if (self.T, factor.den) not in self.locals or factor.den in self.printed:
                return self.values[factor.den]
        return self.locals[(factor.num, factor.den)]

    def render(self, states):
        terms = []
        for kind, x in states:
            if kind == "product":
                terms.append(x[0] if len(x) == 1 else _product(x, self.layout))
            else:
                terms.append(x)
        return terms[0] if len(terms) == 1 else _sum(terms)

    def rule(self, v, parts):
        n = len(parts)
        if n > 1:
            rule = "multivariable chain rule: one term per use of {0}"
        elif parts[0][0] == "product":
            rule = "chain rule, %s layout: factors %s" % (self.layout, ORDER[self.layout])
        else:
            rule = ""
        maps = [u for kind, u in parts if kind == "map" and not self._named_map(u)]
        for u in [u for kind, u in parts if kind == "map" and self._named_map(u)]:
            rule = (rule + "; " if rule else "") + map_identity(self.model.node(u).body)
        if maps:
            diffs = ", ".join("{%d} = {%d}" % (1 + 2 * k, 2 + 2 * k) for k in range(len(maps)))
            rule = (rule + "; " if rule else "") + "from " + diffs
        return rule

    def rule_args(self, v, parts):
        args = [v]
        names = activation_names(self.model)
        for kind, u in parts:
            if kind == "map" and not self._named_map(u):
                args += [differential(u), jvp(self.model.node(u).body, v, names)]
        return tuple(args)

    def _named_map(self, u):
        """A map whose identity a lecture states (layer normalisation's backward), not its differential."""
        return map_identity(self.model.node(u).body) is not None


def _map_teaching(model, u, value):
    """Teaching steps for a gradient map's value: the batch softmax with cross-entropy, and the
    entrywise cancellation σ′ ⊙ (cross-entropy gradient) = A − Y."""
    node = model.node(u)
    from ..functions import Softmax
    if isinstance(node.body, Softmax):
        upstream = None
        # the softmax map is S ⊙ (G − 1 1ᵀ(S ⊙ G)); teaching needs G = −Y ⊘ S
        for a in sp.preorder_traversal(value):
            if isinstance(a, sp.MatMul) and a.as_coeff_mmul()[0] == -1:
                upstream = a
                break
        steps = softmax_map_steps(u, upstream) if upstream is not None else None
        return steps or []
    if isinstance(value, sp.HadamardProduct):
        sums = [a for a in value.args if isinstance(a, sp.MatAdd) and _has_denominator(a)]
        if len(sums) == 1:
            rest = [a for a in value.args if a is not sums[0]]
            v = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
            merged = _cancelled(v, sums[0])
            if merged != value and sp.count_ops(merged) <= sp.count_ops(value) + 4:
                out = [("cancel the common factors", merged)]
                done = _expanded(merged)
                if done != merged:
                    out.append(("expand and collect", done))
                return out
    return []


def _has_denominator(e):
    """Whether e divides entrywise (a^{∘−1}): something a factor ⊙ e can cancel."""
    return any(isinstance(a, sp.HadamardPower) and a.exp.is_negative for a in sp.preorder_traversal(e))


def _shape(e):
    return tuple(e.shape) if is_matrix(e) else None


def _sum(terms):
    if len(terms) == 1:
        return terms[0]
    if any(is_matrix(t) for t in terms):
        return sp.MatAdd(*terms)
    return sp.Add(*terms)


def _product(values, layout):
    fs = values if layout == "denominator" else list(reversed(values))
    if not any(is_matrix(f) for f in fs):
        return sp.Mul(*fs, evaluate=False)
    return sp.MatMul(*fs)


def _simplify(e):
    e = tidy11(e) if is_matrix(e) else e
    return textbook(e) if is_matrix(e) else sp.factor(sp.cancel(e)) if not e.has(sp.Trace) else e


def local_steps(model, layout, targets):
    """The local derivatives of every edge on the paths to ``targets`` that has a matrix form:
    {(u, v): value}, and their steps (an activation's slope is written before its value in the
    intermediates' names)."""
    names = activation_names(model)
    values, steps, seen = {}, [], set()
    edges = [e for T in targets for e in model.edges(T)]
    order = {n.symbol: k for k, n in enumerate(model.nodes)}
    for u, v in sorted(set(edges), key=lambda e: (order.get(e[0], -1), order.get(e[1], -1))):
        if (u, v) in seen or u == model.output and model.terms:
            continue
        seen.add((u, v))
        if not has_jacobian(u, v, layout):
            continue
        body = model.node(u).body
        J = safe_jacobian(body, v, layout)
        if J is None:
            continue
        P = partial(u, v, layout)
        named = J.xreplace(names) if names else J
        if not is_matrix(P):
            J, named = as_number(J), as_number(named)
        rule = identity(body, v, layout)
        steps.append(Step(rule, P, J, section=LOCAL))
        if named != J:
            steps.append(Step("in the intermediates' names: {0} = {1}", P, named, section=LOCAL,
                              note_args=(model.node(u).symbol, body)))
        if isinstance(body, LayerNorm) and body.arg == v and is_matrix(P):
            named = layer_norm_jacobian(body, model.node(u).symbol)
            steps.append(Step(LAYER_NORM, P, named, section=LOCAL))
        values[(u, v)] = named
    return values, steps


def chain_steps(model, layout, result):
    steps = definitions(model)
    wrt, out = model.wrt, model.output
    targets = [sym for _, sym in model.terms] if model.terms else [out]
    locals_, local = local_steps(model, layout, targets)
    steps += local
    lhs = partial(out, wrt, layout)
    if model.terms:
        parts = [mul(c, partial(sym, wrt, layout)) if is_matrix(lhs) else c * partial(sym, wrt, layout)
                 for c, sym in model.terms]
        steps.append(Step("sum rule: {0} = {1}", lhs, _sum(parts), section=CHAIN,
                          note_args=(out, model.node(out).body)))
    values = {}
    for T in targets:
        acc = _Target(model, T, layout, locals_)
        steps += acc.run()
        values[T] = acc.values[wrt]
    if model.terms:
        total = [mul(c, values[sym]) if is_matrix(lhs) else c * values[sym] for c, sym in model.terms]
        assembled = _sum(total)
        steps.append(Step("the terms' gradients inserted", lhs, assembled, section=TERMS))
        simplified = _simplify(add(_shape(lhs), *total) if is_matrix(lhs) else sp.Add(*total))
        steps += final_steps(lhs, simplified, model, result, TERMS)
    else:
        last = steps[-1]
        if last.lhs == lhs:
            steps += final_steps(lhs, last.rhs, model, result, CHAIN)[1:]
        else:
            steps += final_steps(lhs, values[out], model, result, CHAIN)
    return dedupe(steps)


__all__ = ["chain_steps", "local_steps", "written_product"]
