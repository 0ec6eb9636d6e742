r"""The closed form a derivation ends with: only one that ``solve_stationary`` confirms.

``symcalc.numeric.closed_form.solve_stationary`` is the authority: it refuses a gradient that is
not affine, a singular system (½(wᵀa + b − y)²: a aᵀ has rank one) and any formula that fails its
numeric check. When it returns, the derivation writes the gradient as M θ + c, the normal
equations M₀ θ̂ = r (scalar factors and signs pulled out of M and c: Xᵀ(W + Wᵀ)X θ̂ = Xᵀ(W + Wᵀ)y,
not Xᵀ(−W − Wᵀ)X θ̂ = Xᵀ(−W − Wᵀ)y), and θ̂ with the condition it needs.
"""
from __future__ import annotations

import re

import sympy as sp

from ..errors import SymcalcError
from ..functions import is_matrix
from ..simplify import add, coefficient, mul, textbook, transpose
from .common import CLOSED
from .core import DEFINITION, Step
from .model import _Degrees, _taken, fresh
from .nodes import partial


def _positive_sums(e):
    """A product whose sum factors all have negative terms, with the signs pulled out:
    Xᵀ(−W − Wᵀ)X is −Xᵀ(W + Wᵀ)X."""
    k, core = coefficient(e)
    if not isinstance(core, sp.MatMul):
        return e
    factors = []
    for f in core.args:
        if isinstance(f, sp.MatAdd) and all(a.could_extract_minus_sign() for a in f.args):
            k, f = -k, add(f.shape, *[mul(-1, a) for a in f.args])
        factors.append(f)
    return mul(k, *factors)


def _pulled(e):
    """(α, e₀) with e = α e₀, α the common scalar of e's terms and e₀'s sums written positively."""
    from ..numeric.closed_form import _pull_factor
    alpha, e0 = _pull_factor(e)
    e0 = _positive_sums(e0)
    k, core = coefficient(e0)
    return alpha * k, core


def _hat(name):
    """The name of the solution, θ̂ for theta: "hat" before a trailing number or label (W2 -> What2,
    printed Ŵ₂), so that the hat sits on the letter."""
    m = re.match(r"([A-Za-z]+?)(\d+|_.*)?$", name)
    return m.group(1) + "hat" + (m.group(2) or "") if m else name + "hat"


def _rank_one(M):
    """Whether M = c u vᵀ (a product through a 1-wide dimension) with symbolic sides: rank one,
    so singular for every size but 1 (½(wᵀa + b − y)² has M = a aᵀ)."""
    if not isinstance(M, sp.MatMul) or M.shape[0] == 1 or sp.sympify(M.shape[0]).is_Integer:
        return False
    mats = [f for f in M.args if is_matrix(f)]
    return any(f.cols == 1 for f in mats[:-1])


_SOLVED: dict = {}


def _solved(expr, wrt, assumptions):
    """``solve_stationary``'s answer (None when it refuses), kept for the session: a lecturer
    derives the same objective in several styles and layouts, and its numeric check takes time."""
    from ..assumptions import facts
    from ..numeric.closed_form import solve_stationary
    key = (expr, wrt, facts(assumptions))  # those of an enclosing sp.assuming too: Q.symmetric(A) makes it 2Ax
    if key not in _SOLVED:
        if len(_SOLVED) > 256:
            _SOLVED.clear()
        try:
            _SOLVED[key] = solve_stationary(expr, wrt, assumptions=assumptions)
        except SymcalcError:
            _SOLVED[key] = None
    return _SOLVED[key]


def closed_form_steps(original, expr, wrt, layout, out, assumptions=None):
    """[gradient as M θ + c, normal equations, θ̂], or [] when ``solve_stationary`` refuses."""
    if not isinstance(wrt, sp.MatrixSymbol):
        return []
    from ..diff import split_affine
    from .local import diff
    from ..numeric.closed_form import _affine
    try:  # cheap refusals first: a gradient that is not affine, or a singular rank-one M
        G = diff(original, wrt, "denominator")
        if _Degrees(wrt)(G) > 1:
            return []
        M, c, right = _affine(G, wrt, split_affine)
    except SymcalcError:
        return []
    if _rank_one(M):
        return []
    cf = _solved(original, wrt, assumptions)
    if cf is None:
        return []
    M, c, right = _affine(cf.gradient, wrt, split_affine)
    alpha, M0 = _pulled(M)
    star = sp.MatrixSymbol(fresh(_hat(wrt.name), _taken(expr, wrt)), *wrt.shape)
    if isinstance(c, sp.ZeroMatrix):
        rhs = sp.ZeroMatrix(*M0.shape[:1], wrt.cols if not right else wrt.rows)
    else:
        beta, c0 = _pulled(c)
        rhs = textbook(mul(-beta / alpha, c0))
    shape = M.shape[:1] + (wrt.cols if not right else wrt.rows,)
    parts = [mul(alpha, M0, wrt if not right else transpose(wrt))]
    if not isinstance(c, sp.ZeroMatrix):
        parts.append(mul(beta, c0))
    column = sp.MatAdd(*parts) if len(parts) > 1 else parts[0]  # α M₀ θ + β c₀, as pulled out
    if right:  # the gradient acts on θ from the right: θ M₀ᵀ = r ᵀ
        lhs_eq, rhs_eq = mul(wrt, transpose(M0)), textbook(transpose(rhs))
        P = partial(out, wrt, layout)
        first = Step("the gradient is affine in {0}", P if layout == "denominator" else transpose(P),
                     textbook(transpose(column)), section=CLOSED, note_args=(wrt,))
    else:
        lhs_eq, rhs_eq = mul(M0, wrt), rhs
        P = partial(out, wrt, layout)
        if layout == "denominator" or not is_matrix(P):
            first = Step("the gradient is affine in {0}", P, column, section=CLOSED, note_args=(wrt,))
        else:
            first = Step("the gradient is affine in {0}; numerator layout lays it out as a row, "
                         "so its transpose is the column", transpose(P), column, section=CLOSED,
                         note_args=(wrt,))
    conditions = [M0] if any(getattr(cond, "matrix", None) is not None for cond in cf.conditions) else []
    solution = cf.solution if right else mul(sp.Inverse(M0), rhs)
    note = "the stationary point" + (", when %s invertible" % " and ".join(
        "{%d} is" % k for k in range(len(conditions))) if conditions else "")
    if cf.nature in ("minimum", "maximum"):
        note += "; a %s" % cf.nature
    return [
        first,
        Step("set to zero (normal equations)", lhs_eq, rhs_eq, section=CLOSED, where={wrt: star}),
        Step(DEFINITION, star, solution, section=CLOSED, note=note, note_args=tuple(conditions)),
    ]


__all__ = ["closed_form_steps"]
