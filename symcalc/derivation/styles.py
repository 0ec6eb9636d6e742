r"""``derive``: one step model, printed in the chain-rule, differential or single-element style.

``model.build_model`` names the intermediates once (over the expression's DAG); ``chain``,
``differential`` and ``index`` each turn the model into steps; ``closed`` appends the stationary
point when ``solve_stationary`` confirms one; ``scalar`` writes the rule-by-rule derivative of a
scalar function of a scalar (σ(b) = 1/(1 + e^{−b}) to σ(1 − σ)). Adding a style is one function
from (model, layout, result) to a list of ``Step``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import dag, limits
from ..assumptions import Assumptions, given
from ..convolution import Shift
from ..errors import LayoutError, UnsupportedError
from ..functions import as_expression, is_matrix
from ..hints import Expr, Layout, Variable
from .chain import chain_steps
from .closed import closed_form_steps
from .common import INTERMEDIATES
from .core import DEFINITION, Derivation, Step
from .differential import differential_steps
from .index import index_steps
from .local import diff
from .model import model_of
from .nodes import LAYOUTS

if TYPE_CHECKING:  # printing is imported by its users, not by the math
    from ..printing.notation import Notation

STYLES = ("chain", "differential", "index")


@limits.deep
def derive(expr: Expr, wrt: Variable, layout: Layout = "denominator", style: str = "chain",
           notation: Notation | None = None, name: str | sp.Basic | None = None,
           closed_form: bool = True, assumptions: Assumptions = None) -> Derivation:
    """A step-by-step derivation of ∂expr/∂wrt in ``layout``.

    style
        "chain" (named intermediates, local derivatives, their product in layout order, summed
        over the uses of a variable), "differential" (dL = … dθ, then identification), or
        "index" (one entry, then reassembled; for products, sums, transposes and traces)
    notation
        a ``symcalc.printing.Notation`` for the derivation's LaTeX (checked against expr)
    name
        the output's name (default L for a scalar, f otherwise)
    closed_form
        end with the stationary point when ``solve_stationary`` confirms one
    assumptions
        SymPy ``Q`` predicates, as for ``diff`` (with those of ``sp.assuming``); every step uses
        them, and ``Derivation.check`` draws values that satisfy them
    """
    with given(assumptions) as facts:
        d = _derive(expr, wrt, layout, style, notation, name, closed_form)
    d.assumptions = facts
    return d


def _derive(expr, wrt, layout, style, notation, name, closed_form):
    if layout not in LAYOUTS:
        raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")
    if style not in STYLES:
        raise UnsupportedError(f"style is one of {', '.join(STYLES)}, not {style!r}")
    if not isinstance(wrt, (sp.Symbol, sp.MatrixSymbol)):
        raise UnsupportedError(f"derive differentiates with respect to a sp.Symbol or sp.MatrixSymbol, "
                               f"not the {type(wrt).__name__} {wrt}")
    original = expr = as_expression(expr)
    if notation is not None:
        notation.validate(original, wrt)
    model, expr = model_of(original, wrt, name)
    if not dag.has(expr, wrt):
        raise UnsupportedError(f"{original} does not depend on {wrt}")
    result = diff(original, wrt, layout=layout)
    if style == "chain":
        from .scalar import scalar_steps
        steps = scalar_steps(model, result) if _scalar_function(expr, wrt) else None
        if steps is None:
            steps = chain_steps(model, layout, result)
    elif style == "differential":
        steps = differential_steps(model, layout, result)
    else:
        steps = [Step(DEFINITION, model.output, expr, section=INTERMEDIATES)]
        steps += index_steps(expr, wrt, layout, model.output, result)
    steps = shift_steps(expr) + steps
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    if closed_form and scalar_out and style != "index":
        steps += closed_form_steps(original, expr, wrt, layout, model.output)
    return Derivation(original, wrt, layout, style, result, steps, notation=notation,
                      parameters=(wrt,), output=model.output)


def _scalar_function(expr, wrt):
    """A scalar function of a scalar variable with no matrix in it."""
    return not is_matrix(wrt) and not is_matrix(expr) and not any(
        is_matrix(a) for a in sp.preorder_traversal(expr))


def decompose(expr, wrt, output_name=None):
    """The step model of ``expr`` as a function of ``wrt`` (see ``symcalc.derivation.model``)."""
    return model_of(expr, wrt, output_name)[0]


_ROW, _COL = sp.Symbol("i", integer=True, nonnegative=True), sp.Symbol("t", integer=True, nonnegative=True)


def shift_steps(expr):
    """The entries of the shift matrices of the convolutions in ``expr``, (Sⱼ)ᵢₜ = 1[t = s i + j − 1 − p]
    (rows and columns from 0), stated before the intermediates and checked as every step is."""
    shifts = sorted(dag.atoms(expr, Shift),
                    key=lambda S: (S.name, S.kernel, S.stride, S.padding, str(S.length), S.tap))
    steps, said = [], set()
    for S in shifts:
        kind = (S.kernel, S.stride, S.padding, S.length, S.name)
        rule = "" if kind in said else (
            f"shift matrices: {S.kernel} taps, stride {S.stride}, padding {S.padding} (indices from 0)")
        said.add(kind)
        steps.append(Step(rule, MatrixElement(S, _ROW, _COL),
                          sp.KroneckerDelta(_COL, S.stride * _ROW + S.offset), section=INTERMEDIATES))
    return steps


__all__ = ["STYLES", "decompose", "derive", "shift_steps"]
