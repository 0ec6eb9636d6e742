"""What the styles share: section names, the definitions of the model, the closing lines."""
from __future__ import annotations

import sympy as sp

from ..functions import is_matrix
from ..simplify import textbook
from .core import DEFINITION, Step

INTERMEDIATES = "Intermediate variables"
LOCAL = "Local derivatives"
CHAIN = "Chain rule"
TERMS = "Adding the terms"
DIFFERENTIALS = "Differentials"
SUBSTITUTION = "Substitution"
IDENTIFICATION = "Identification"
ENTRY = "One entry"
CLOSED = "Closed form"

#: A result wider than this (points of LaTeX) stays in terms of the intermediates: substituting
#: them back would only make a long line longer.
SUBSTITUTE_LIMIT = 200.0

#: rules whose step only restates the line before when nothing changed
RESTATING = ("simplified", "rearranged", "intermediates substituted", "textbook form")


def short(e):
    """Short enough to print in a line. A tree of more nodes than a line of SUBSTITUTE_LIMIT points
    holds is not, and is never printed to find out (a deep network's result written out is
    exponentially long: at depth 10, printing it took 100 s)."""
    from ..printing import latex
    from ..printing.linebreak import width
    count, stack = 0, [e]
    while stack:
        count += 1
        if count > SUBSTITUTE_LIMIT:  # a node is at least a point wide
            return False
        node = stack.pop()
        if not isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
            stack.extend(getattr(node, "args", ()))
    return width(latex(e)) <= SUBSTITUTE_LIMIT


def size(e):
    from .model import _size
    return _size(e)


def definitions(model):
    return [Step(DEFINITION, n.symbol, n.body, section=INTERMEDIATES) for n in model.nodes]


def dedupe(steps):
    """Steps without repeats: the same line twice in a section, or a restating line that changed
    nothing."""
    from ..printing import text
    out = []
    for s in steps:
        if out and s.lhs == out[-1].lhs and s.section == out[-1].section and \
                (s.rhs == out[-1].rhs or text(s.rhs) == text(out[-1].rhs)):
            continue  # the same line again, or a step that changes nothing a reader sees
        if out and s.lhs == out[-1].lhs and s.rule in RESTATING and _reordered(s.rhs, out[-1].rhs):
            continue
        out.append(s)
    return out


def _reordered(a, b):
    """Whether a is b, or the same sum with its terms in another order."""
    if a == b:
        return True
    return isinstance(a, (sp.MatAdd, sp.Add)) and type(a) is type(b) and set(a.args) == set(b.args)


def final_steps(lhs, simplified, model, result, section):
    """The result in the intermediates' names, then in the input's symbols, then the textbook
    form of ``sc.diff`` when that is shorter."""
    out = [Step("simplified", lhs, simplified, section=section)]
    back = textbook(model.substitute_back(simplified)) if is_matrix(simplified) else \
        model.substitute_back(simplified)
    if back != simplified and short(back):
        out.append(Step("intermediates substituted", lhs, back, section=section))
    if result is not None and result != out[-1].rhs and short(result) and size(result) < size(out[-1].rhs):
        out.append(Step("textbook form", lhs, result, section=section))
    return out
