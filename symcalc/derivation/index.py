r"""The single-element (index) style: one entry written as a sum over indices, differentiated term
by term, then reassembled into matrix form (CMU's single-element method).

Entry indices are i, j, k, ... chosen to avoid the expression's own names; the derivative of an
entry by an entry is the indicator 𝟙[k = j] (not δ_kj, which a derivation uses for error signals).
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..diff.indices import sum_to_matrix
from ..errors import ShapeError, UnsupportedError
from ..functions import is_matrix
from .common import ENTRY, dedupe
from .core import Step
from .model import _taken
from .nodes import partial

_INDEXABLE = (sp.MatrixSymbol, sp.MatMul, sp.MatAdd, sp.Transpose, sp.Trace, sp.Identity, sp.ZeroMatrix,
              MatrixElement, sp.Add, sp.Mul, sp.Symbol, sp.Number, sp.HadamardProduct, sp.Tuple)


def _index_names(expr, taken):
    free = [n for n in ("i", "j", "k", "l", "m", "p", "q", "r", "s", "t") if n not in taken]
    return [sp.Symbol(n, integer=True) for n in free]


def _clean_dummies(e, names):
    dummies = sorted(e.atoms(sp.Dummy), key=str)
    return e.xreplace({dm: nm for dm, nm in zip(dummies, names)})


def _entry_of(expr, a, b):
    if isinstance(expr, sp.Trace):
        k = sp.Dummy("k", integer=True)
        return sp.Sum(expr.arg[k, k], (k, 0, expr.arg.rows - 1)).doit()
    if is_matrix(expr):
        return expr[a, b]
    return expr


def _index_applies(expr, wrt):
    """None if the single-element method applies, else why not."""
    ykind = "scalar" if not is_matrix(expr) or expr.shape == (1, 1) else (
        "column" if expr.cols == 1 else "matrix")
    xkind = "scalar" if not is_matrix(wrt) else ("column" if wrt.cols == 1 else "matrix")
    if ykind == "scalar" and xkind == "scalar":
        return "the derivative of a scalar by a scalar has no entries to generalize"
    if ykind == "matrix" or (ykind == "column" and xkind == "matrix"):
        return (f"the derivative of a {ykind} by a {xkind} is a 3- or 4-way array, with no matrix of "
                "entries to reassemble")
    bad = [n for n in sp.preorder_traversal(expr) if isinstance(n, sp.Basic)
           and not isinstance(n, _INDEXABLE) and not isinstance(n, (sp.Integer, sp.Rational))
           and not (isinstance(n, sp.Basic) and not n.args and not isinstance(n, sp.Expr))]
    bad = [n for n in bad if isinstance(n, sp.Expr)]
    if bad:
        return (f"its entries are not sums of products of entries ({type(bad[0]).__name__} in "
                f"{bad[0]}); the index style handles matrix products, sums, transposes and traces")
    return None


def index_steps(expr, wrt, layout, out, result):
    why = _index_applies(expr, wrt)
    if why is not None:
        applicable = [s for s in ("chain", "differential") if _applies(s, expr, wrt)]
        raise UnsupportedError(
            f"the index (single-element) style does not apply to ∂({expr})/∂({wrt}): {why}. "
            f"Styles that apply here: {', '.join(applicable) if applicable else 'none (use sc.diff with vec=True)'}")
    taken = _taken(expr, wrt)
    i, j, *rest = _index_names(expr, taken)
    P = partial(out, wrt, layout)
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    # which entry of y and of x entry (i, j) of the layout pairs
    if scalar_out:
        if wrt.cols == 1:
            pos, yent, xent = ((i, 0) if layout == "denominator" else (0, i)), (0, 0), (i, 0)
            words = "entry $i$ is $\\partial L/\\partial x_i$"
        else:
            pos = (i, j)
            xent = (i, j) if layout == "denominator" else (j, i)
            yent = (0, 0)
            words = ("entry $(i, j)$ is $\\partial L/\\partial X_{ij}$" if layout == "denominator"
                     else "entry $(i, j)$ is $\\partial L/\\partial X_{ji}$")
    elif not is_matrix(wrt):
        pos = (i, 0) if layout == "numerator" else (0, i)
        yent, xent = (i, 0), None
        words = "entry $i$ is $\\partial y_i/\\partial x$"
    else:
        pos = (i, j)
        yent, xent = ((i, 0), (j, 0)) if layout == "numerator" else ((j, 0), (i, 0))
        words = ("entry $(i, j)$ is $\\partial y_i/\\partial x_j$" if layout == "numerator"
                 else "entry $(i, j)$ is $\\partial y_j/\\partial x_i$")
    lhs = P[pos[0], pos[1]]
    y_entry = MatrixElement(out, *yent) if is_matrix(out) and out.shape != (1, 1) else out
    x_entry = wrt[xent[0], xent[1]] if xent is not None else wrt
    steps = [Step(f"{layout} layout: {words}", lhs, partial(y_entry, x_entry), section=ENTRY)]
    as_sum = _clean_dummies(_entry_of(expr, *yent) if is_matrix(expr) or isinstance(expr, sp.Trace)
                            else expr, rest)
    if as_sum != y_entry:
        steps.append(Step("the entry written as a sum", lhs, partial(as_sum, x_entry), section=ENTRY))
    derived = sp.diff(as_sum, x_entry)
    steps.append(Step("differentiate term by term: $\\partial x_k/\\partial x_j = \\mathbb{1}[k = j]$", lhs,
                      _clean_dummies(derived, rest), section=ENTRY))
    done = _clean_dummies(derived.replace(lambda e: isinstance(e, sp.Sum), _collapse), rest)
    steps.append(Step("the indicator keeps one term of each sum", lhs, done, section=ENTRY))
    if done.has(sp.Sum):
        as_matrix = done.replace(lambda e: isinstance(e, sp.Sum), sum_to_matrix)
        if as_matrix != done:
            steps.append(Step("sums read as matrix products", lhs, as_matrix, section=ENTRY))
    steps.append(Step("reassembled: the entries above, for every index", P, result,
                      section="Matrix form"))
    return dedupe(steps)


def _collapse(total):
    """Σ_k 𝟙[i = k] f(k) = f(i): in each term, an indicator keeps one term of the sum over its
    index (SymPy's Sum.doit does this too, after seconds of trying closed forms)."""
    out = []
    for term in sp.Add.make_args(sp.expand(total.function)):
        limits = list(total.limits)
        found = True
        while found:
            found = False
            for kd in (a for a in sp.Mul.make_args(term) if isinstance(a, sp.KroneckerDelta)):
                i, j = kd.args[:2]
                for k, other in ((j, i), (i, j)):
                    if any(lim[0] == k for lim in limits):
                        term = (term / kd).xreplace({k: other})
                        limits = [lim for lim in limits if lim[0] != k]
                        found = True
                        break
                if found:
                    break
        out.append(sp.Sum(term, *limits) if limits else term)
    return sp.Add(*out)


def _applies(style, expr, wrt):
    from .styles import derive
    try:
        derive(expr, wrt, style=style, closed_form=False)
        return True
    except (UnsupportedError, ShapeError):
        return False


__all__ = ["index_steps"]
