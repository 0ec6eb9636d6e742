r"""A scalar function of a scalar, differentiated rule by rule, then written in its textbook form.

``scalar_steps`` rewrites d/db f(b) one rule at a time, outermost first, each a line: the sum
rule, a constant factor, the power rule with the chain rule (d uⁿ = n uⁿ⁻¹ du), d eᵘ = eᵘ du,
d log u = du/u, a named function by its definition (σ(u) = 1/(1 + e^{−u})) or by its derivative
(d tanh u = (1 − tanh² u) du). The derivative of an affine inner function (−b, 2b + 1) is taken in
the same line, as a lecture does. Expressions are built unevaluated, so that a line shows what the
rule did (−(1 + e^{−b})^{−2} · (−e^{−b})) before it is simplified.

Then the textbook form: σ′ is rewritten as lecture 13 of CMU 10-601 does (add and subtract 1,
split the fraction, factor out σ) to σ(b)(1 − σ(b)); tanh′ to 1 − tanh²(b). Every line is a
``Step`` the derivation check evaluates (d/db by central differences).
"""
from __future__ import annotations

import sympy as sp

from ..functions import Sigmoid, Softplus
from .common import INTERMEDIATES
from .core import DEFINITION, Step
from .nodes import OrdinaryDerivative, ordinary

DERIVATIVE = "Derivative"
TEXTBOOK = "Textbook form"


def _d(f, b):
    return OrdinaryDerivative(f, b)


def _unevaluated(e, old, new):
    """e with old replaced by new, rebuilt without SymPy's evaluation (so −a · (−b) stays)."""
    if e == old:
        return new
    if not e.args or not e.has(old):
        return e
    args = [_unevaluated(a, old, new) for a in e.args]
    if isinstance(e, (sp.Add, sp.Mul, sp.Pow)):
        return e.func(*args, evaluate=False)
    return e.func(*args)


def _first_derivative(e):
    for node in sp.preorder_traversal(e):
        if isinstance(node, OrdinaryDerivative):
            return node
    return None


def _affine(g, b):
    return sp.Poly(g, b).degree() <= 1 if g.is_polynomial(b) else False


def _inner(g, b):
    """d g/d b written as the rule needs it: taken at once when g is affine in b."""
    if not g.has(b):
        return sp.S.Zero
    if _affine(g, b):
        return sp.diff(g, b)
    return _d(g, b)


def _times(*factors):
    """A product as written, left unevaluated: its numbers gathered in front (−e^{−b}, not
    (−1)·e^{−b}), ones dropped."""
    coeff = sp.Mul(*[f for f in factors if f.is_number])
    fs = [f for f in factors if not f.is_number]
    if coeff == 0:
        return sp.S.Zero
    if not fs:
        return coeff
    if len(fs) == 1:
        return coeff * fs[0]
    return sp.Mul(*([coeff] if coeff != 1 else []), *fs, evaluate=False)


def _evaluated(e):
    """e rebuilt with SymPy's evaluation: what the unevaluated lines add up to."""
    if not e.args:
        return e
    return e.func(*[_evaluated(a) for a in e.args])


def rule(f, b):
    """(the rewrite of d f/d b, the rule's words)."""
    if not f.has(b):
        return sp.S.Zero, "the derivative of a constant is 0"
    if f == b:
        return sp.S.One, r"$\mathrm{d}b/\mathrm{d}b = 1$"
    if isinstance(f, sp.Add):
        parts = [_inner(t, b) for t in f.args if t.has(b)]
        return (parts[0] if len(parts) == 1 else sp.Add(*parts, evaluate=False)), \
            "sum rule (a constant's derivative is 0)"
    if isinstance(f, sp.Mul):
        const = [a for a in f.args if not a.has(b)]
        vary = [a for a in f.args if a.has(b)]
        if const:
            rest = vary[0] if len(vary) == 1 else sp.Mul(*vary)
            return _times(sp.Mul(*const), _inner(rest, b)), "a constant factor stays"
        u, v = vary[0], sp.Mul(*vary[1:])
        return sp.Add(_times(_inner(u, b), v), _times(u, _inner(v, b)), evaluate=False), \
            r"product rule: $\mathrm{d}(uv) = v\,\mathrm{d}u + u\,\mathrm{d}v$"
    if isinstance(f, sp.Pow) and not f.exp.has(b):
        u, n = f.base, f.exp
        power = sp.Pow(u, n - 1, evaluate=False) if n - 1 != 1 else u
        return _times(n, power, _inner(u, b)), \
            r"power rule and chain rule: $\mathrm{d}u^n = n u^{n-1} \mathrm{d}u$"
    if isinstance(f, sp.exp):
        return _times(f, _inner(f.args[0], b)), r"$\mathrm{d}e^u = e^u \mathrm{d}u$"
    if isinstance(f, sp.log):
        u = f.args[0]
        return _times(sp.Pow(u, -1, evaluate=False), _inner(u, b)), r"$\mathrm{d}\log u = \mathrm{d}u / u$"
    if isinstance(f, Sigmoid):
        u = f.args[0]
        return _d(1 / (1 + sp.exp(-u)), b), r"the sigmoid's definition: $\sigma(u) = 1/(1 + e^{-u})$"
    if isinstance(f, Softplus):
        u = f.args[0]
        return _d(sp.log(1 + sp.exp(u)), b), r"the definition: $\operatorname{softplus}(u) = \log(1 + e^u)$"
    if isinstance(f, sp.Function) and len(f.args) == 1:
        u = f.args[0]
        slope = f.fdiff(1)
        return _times(slope, _inner(u, b)), r"chain rule: $\mathrm{d}f(u) = f'(u)\,\mathrm{d}u$"
    return sp.diff(f, b), "differentiated"


def rule_lines(start, b, limit=20):
    """[(words, expression)] from d/db start until no derivative is left, then simplified."""
    lines, e = [], _d(start, b)
    for _ in range(limit):
        node = _first_derivative(e)
        if node is None:
            break
        new, words = rule(node.num, node.den)
        e = _unevaluated(e, node, new)
        lines.append((words, e))
    if _first_derivative(e) is not None:
        return lines, None
    done = _evaluated(e)
    if sp.srepr(done) != sp.srepr(e):
        lines.append(("simplified", done))
    return lines, done


def sigmoid_lines(b, value):
    """e^{−b}/(1 + e^{−b})² = … = σ(b)(1 − σ(b)), the lines of CMU 10-601 lecture 13."""
    E = sp.exp(-b)
    u = sp.Add(E, 1, evaluate=False)
    inv = sp.Pow(u, -1, evaluate=False)
    sq = sp.Pow(u, -2, evaluate=False)
    plus_minus = sp.Add(E, 1, -1, evaluate=False)
    lines = [
        ("add and subtract 1 in the numerator", sp.Mul(plus_minus, sq, evaluate=False)),
        ("split the fraction", sp.Add(sp.Mul(u, sq, evaluate=False), sp.Mul(-1, sq, evaluate=False),
                                      evaluate=False)),
        (r"$u/u^2 = 1/u$", sp.Add(inv, sp.Mul(-1, sq, evaluate=False), evaluate=False)),
        ("a square is a product", sp.Add(inv, sp.Mul(-1, sp.Mul(inv, inv, evaluate=False),
                                                         evaluate=False), evaluate=False)),
        (r"factor out $1/(1 + e^{-b})$", sp.Mul(inv, sp.Add(1, sp.Mul(-1, inv, evaluate=False),
                                                              evaluate=False), evaluate=False)),
        (r"$\sigma(b) = 1/(1 + e^{-b})$", sp.Mul(Sigmoid(b), sp.Add(1, -Sigmoid(b), evaluate=False),
                                                  evaluate=False)),
    ]
    return lines


def scalar_steps(model, result):
    """The steps for a scalar function of a scalar variable, or None when it is not one."""
    expr, b, out = model.expr, model.wrt, model.output
    steps = [Step(DEFINITION, out, expr, section=INTERMEDIATES)]
    lhs = ordinary(out, b)
    lines, done = rule_lines(expr, b)
    if done is None:
        return None
    steps.append(Step("{0} = {1}", lhs, ordinary(expr, b), section=DERIVATIVE, note_args=(out, expr)))
    for words, e in lines:
        steps.append(Step(words, lhs, e, section=DERIVATIVE))
    if isinstance(expr, Sigmoid) and expr.args[0] == b:
        for words, e in sigmoid_lines(b, done):
            steps.append(Step(words, lhs, e, section=TEXTBOOK))
    elif result != done and sp.simplify(result - done) == 0 and sp.srepr(result) != sp.srepr(done):
        steps.append(Step(r"in terms of the function itself", lhs, result, section=TEXTBOOK))
    return steps


__all__ = ["rule", "rule_lines", "scalar_steps", "sigmoid_lines"]
