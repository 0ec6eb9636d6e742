"""Closed-form stationary points of objectives whose gradient is affine in the variable.

``solve_stationary`` sets the gradient to zero and solves it in matrix form, with symbolic sizes:
the gradient is written as M θ + c (``symcalc.diff.split_affine``; for a matrix variable M acts
on the left), scalar factors are pulled out of M and c, and the solution is −(β/α) M₀⁻¹ c₀. The
result names the matrix it inverts (the condition it relies on) and says whether the point is a
minimum, from the Hessian; that is decided only when it can be shown (a Gram matrix XᵀX, XᵀWX
with W declared positive semidefinite, λI with λ > 0), and otherwise said to be unknown.

A formula is never returned unchecked: ``check_closed_form`` evaluates it with NumPy at random
sizes and data and confirms that the objective's gradient (central differences of the objective
itself, not symcalc's gradient) vanishes there, and that it equals ``np.linalg.solve`` of the
normal equations and, for sums of squares, ``np.linalg.lstsq``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.assumptions import Predicate
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.multipledispatch import Dispatcher

from .. import limits
from ..errors import ShapeError, SymcalcError, UnsupportedError
from ..functions import FrobeniusSquared, InternalMatrix, SquaredNorm, is_matrix
from ..simplify import add, coefficient, mul, transpose
from ..assumptions import Assumptions, as_boolean, declared, facts
from ..hints import Expr, Variable
from .verify import Sampler, compile_at, concrete, leaves, reference_at, show

__all__ = ["ClosedForm", "ClosedFormCheck", "Condition", "check_closed_form", "positive_semidefinite",
           "solve_stationary"]


class PositiveSemidefinitePredicate(Predicate):
    """``positive_semidefinite(W)``: W is symmetric with xᵀWx ≥ 0 (SymPy's Q has no such predicate)."""

    name = "positive_semidefinite"
    handler = Dispatcher("PositiveSemidefiniteHandler")


#: Declare a matrix positive semidefinite: ``assumptions=positive_semidefinite(W)``.
positive_semidefinite = PositiveSemidefinitePredicate()

RESIDUAL_TOL = 1e-7   # the gradient at the solution, relative to the problem's scale
AGREE_TOL = 1e-6      # agreement with np.linalg.solve / lstsq, relative
MAX_COND = 1e8        # random data whose normal equations are worse than this are redrawn


# --------------------------------------------------------------------------- results

@dataclass
class Condition:
    """What the formula relies on: ``matrix`` must be invertible. ``proven`` when the assumptions
    already guarantee it (a positive definite matrix)."""

    matrix: object
    text: str
    proven: bool = False

    def __str__(self):
        return self.text


@dataclass(repr=False)
class ClosedFormCheck:
    """Numeric confirmation of a closed form at random data (``bool(check)`` is ``check.ok``)."""

    ok: bool
    gradient_residual: float          # max over trials of ‖∇f(θ*)‖ / scale
    solve_difference: float | None    # max relative difference from np.linalg.solve
    lstsq_difference: float | None    # ... from np.linalg.lstsq; None when not a sum of squares
    sizes: list = field(default_factory=list)
    message: str = ""

    def __bool__(self):
        return self.ok

    def __str__(self):
        def num(x):
            return "not applicable" if x is None else f"{x:.2e}"
        sizes = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in self.sizes) or "-"
        lines = [f"{'OK' if self.ok else 'FAILED'}: closed form checked at sizes {sizes}",
                 f"  gradient at the solution (relative): {num(self.gradient_residual)}",
                 f"  difference from np.linalg.solve: {num(self.solve_difference)}",
                 f"  difference from np.linalg.lstsq: {num(self.lstsq_difference)}"]
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)

    __repr__ = __str__


@dataclass(repr=False)
class ClosedForm:
    """The stationary point of ``objective`` in ``variable``: M θ + c = 0 ⇒ θ* = ``solution``."""

    solution: object
    variable: object
    objective: object
    gradient: object
    hessian: object                 # the Hessian (vector variable) or M (matrix variable: I ⊗ M)
    conditions: list
    nature: str                     # "minimum", "maximum" or "unknown"
    reason: str                     # why the nature is what it says
    check: ClosedFormCheck

    @property
    def is_minimum(self):
        """True when shown to be a minimum, False when shown to be a maximum, None when unknown."""
        return {"minimum": True, "maximum": False}.get(self.nature)

    def _repr_html_(self):
        """An HTML table for Jupyter (the printing side, loaded on first use)."""
        from ..printing.html import closed_form_html
        return closed_form_html(self)

    def __str__(self):
        lines = [f"{self.variable}* = {show(self.solution)}",
                 f"  from: gradient {show(self.gradient)} = 0"]
        lines += [f"  requires: {c}" for c in self.conditions]
        lines.append(f"  stationary point: {self.nature} ({self.reason})")
        lines.append("  " + str(self.check).replace("\n", "\n  "))
        return "\n".join(lines)

    __repr__ = __str__


# --------------------------------------------------------------------------- solve_stationary

@limits.deep
def solve_stationary(expr: Expr, wrt: Variable, assumptions: Assumptions = None,
                     seed: int = 0) -> ClosedForm:
    """The stationary point of a scalar objective whose gradient is affine in ``wrt``.

    ``assumptions`` are SymPy ``Q`` predicates (``Q.positive(lam)``, ``Q.symmetric(A)``,
    ``Q.positive_definite(A)``) and ``positive_semidefinite(W)``. Raises UnsupportedError when
    the gradient is not affine (no closed form is derived), and SymcalcError if the derived formula
    fails its numeric check (it is then not returned).
    """
    from ..diff import gradient, hessian, split_affine

    expr = sp.sympify(expr)
    if is_matrix(expr) and tuple(expr.shape) != (1, 1):
        raise ShapeError(f"solve_stationary takes a scalar objective; {show(expr)} is "
                         f"{expr.rows} x {expr.cols}")
    if not isinstance(wrt, sp.MatrixSymbol):
        raise UnsupportedError(f"solve_stationary solves for a vector or matrix variable (a MatrixSymbol); "
                               f"{wrt} is a {type(wrt).__name__}")
    given = as_boolean(assumptions)
    G = gradient(expr, wrt, assumptions=given)
    try:
        M, c, right = _affine(G, wrt, split_affine)
    except UnsupportedError as err:
        form = f"M {wrt} + C or {wrt} M + C" if wrt.cols != 1 else f"M {wrt} + c"
        part = _nonlinear_part(G, wrt)
        why = f"{show(part)} is not linear in {wrt}" if part is not None else str(err)
        raise UnsupportedError(
            f"no closed form is derived for the stationary point in {wrt}: the gradient {show(G)} is not "
            f"of the affine form {form} ({why}), so setting it to zero gives an equation with no "
            "matrix-form solution here; minimise iteratively (gradient descent, Newton) with "
            "symcalc's gradient and Hessian instead") from err
    if isinstance(M, sp.ZeroMatrix):
        raise UnsupportedError(f"the gradient {show(G)} of {show(expr)} does not depend on {wrt}: the "
                               f"objective is linear in {wrt}, so it has no stationary point unless the "
                               "gradient is zero")
    if M.rows != M.cols:
        raise UnsupportedError(f"the gradient of {show(expr)} is {show(M)} {wrt} + c with a non-square "
                               f"{M.rows} x {M.cols} matrix; no inverse gives the stationary point")

    alpha, M0 = _pull_factor(M)
    rank = _rank_bound(M0)
    if rank is not None and sp.sympify(M0.rows - rank).is_positive is not False:
        raise UnsupportedError(
            f"the gradient {show(G)} is affine in {wrt}, M {wrt} + c, but M = {show(M)} is singular: its rank "
            f"is at most {rank}, less than its size {M0.rows}" + ("" if M0.rows.is_Integer else f" (for {M0.rows} > {rank})")
            + f"; the stationary points are not unique, or there are none, so no inverse gives {wrt}")
    if isinstance(c, sp.ZeroMatrix):
        solution = sp.ZeroMatrix(*wrt.shape)
    else:
        beta, c0 = _pull_factor(c)
        solution = mul(sp.cancel(-beta / alpha), *([] if isinstance(M0, sp.Identity) else [sp.Inverse(M0)]), c0)
        if right:  # solved for Bᵀ
            solution = transpose(solution)

    facts_ = facts(assumptions)
    definite = _definite(M0, facts_, given)
    conditions = [] if isinstance(M0, sp.Identity) else [_invertible(M0, definite, given)]
    if wrt.cols == 1:
        try:
            H = hessian(expr, wrt, assumptions=given)
        except SymcalcError:
            H = M
    else:
        H = transpose(M) if right else M
    nature, reason = _nature(H, wrt, facts_, given, right)

    report = check_closed_form(solution, expr, wrt, assumptions=assumptions, seed=seed)
    if not report.ok:
        raise SymcalcError(f"the derived stationary point {wrt} = {show(solution)} of {show(expr)} failed "
                           f"its numeric check, so it is not returned:\n{report}")
    return ClosedForm(solution, wrt, expr, G, H, conditions, nature, reason, report)


def _affine(G, wrt, split_affine):
    """(M, c, right): G = M wrt + c, or, for a matrix variable, Gᵀ = M wrtᵀ + c (right=True),
    which is G = wrt Mᵀ + cᵀ (the gradient 2(BZ − Y)Zᵀ of ‖BZ − Y‖² acts on B from the right)."""
    try:
        return (*split_affine(G, wrt), False)
    except UnsupportedError as err:
        if wrt.cols == 1:
            raise
        reason = err
    flipped = InternalMatrix(f"{wrt.name}_T", wrt.cols, wrt.rows)  # equal to no user symbol
    Gt = transpose(G).xreplace({sp.Transpose(wrt): flipped})
    try:
        if Gt.has(wrt):
            raise UnsupportedError(f"{wrt} is not transposed everywhere in {Gt}")
        M, c = split_affine(Gt, flipped)
    except UnsupportedError:
        raise reason from None  # the first reason: the variable is not in a linear position
    return M, c, True


def _nonlinear_part(G, wrt):
    """The smallest sub-expression of G that is not linear in wrt (σ(Xw), tanh(W₁x)), or None."""
    def nonlinear(e):
        if not e.has(wrt):
            return False
        if isinstance(e, (ElementwiseApplyFunction, sp.Inverse, sp.Determinant, sp.HadamardPower,
                          sp.MatPow, sp.Pow)):
            return True
        if isinstance(e, sp.Function) and not isinstance(e, sp.Trace):
            return True
        if isinstance(e, (sp.HadamardProduct, sp.MatMul, sp.Mul)):
            return sum(a.has(wrt) for a in e.args) > 1
        return False
    found = [e for e in sp.preorder_traversal(G) if nonlinear(e)]
    return min(found, key=sp.count_ops) if found else None


def _terms(e):
    return list(e.args) if isinstance(e, sp.MatAdd) else [e]


def _pull_factor(e):
    """(α, e₀) with e = α e₀, α the common scalar factor of e's terms (2XᵀX + 2λI → 2)."""
    parts = [coefficient(t) for t in _terms(e)]
    g = functools.reduce(sp.gcd, [k for k, _ in parts])
    if g == 0:
        return sp.S.One, e
    if all(sp.sympify(k / g).could_extract_minus_sign() for k, _ in parts):
        g = -g
    inner = [mul(sp.simplify(k / g), core) for k, core in parts]
    return g, (inner[0] if len(inner) == 1 else add(e.shape, *inner))


def _rank_bound(M):
    """An upper bound on rank(M) smaller than its size from its structure (an outer product u vᵀ,
    the all-ones matrix, a product through a thinner factor, sums of these), else None."""
    if isinstance(M, sp.OneMatrix):
        return sp.S.One
    if isinstance(M, sp.MatMul):
        core = coefficient(M)[1]
        factors = list(core.args) if isinstance(core, sp.MatMul) else [core]
        inner = [f.cols for f in factors[:-1]] + [r for f in factors if (r := _rank_bound(f)) is not None]
        bound = min(inner, key=lambda k: (not sp.sympify(k).is_Integer, str(k))) if inner else None
        return bound if bound is not None and sp.sympify(bound).is_Integer else None
    if isinstance(M, sp.MatAdd):
        parts = [_rank_bound(t) for t in M.args]
        return None if any(p is None for p in parts) else sp.Add(*parts)
    return None


def _invertible(M0, definite, given):
    if definite == "pd":
        return Condition(M0, f"{show(M0)} is positive definite, hence invertible (shown from the "
                         "assumptions)", proven=True)
    text = f"{show(M0)} must be invertible"
    gram = _gram_factor(M0)
    if gram is not None:
        text += (f" (it is when {show(gram)} has linearly independent columns, which needs "
                 f"{gram.rows} ≥ {gram.cols})")
    return Condition(M0, text)


def _gram_factor(M0):
    """X for M₀ = XᵀX, else None."""
    core = coefficient(M0)[1]
    if isinstance(core, sp.MatMul) and len(core.args) == 2 and transpose(core.args[1]) == core.args[0]:
        return core.args[1]
    return None


# --------------------------------------------------------------------------- definiteness

def _scalar_sign(k, given):
    """'pos', 'nonneg', 'neg', 'nonpos' or None for a scalar factor."""
    k = sp.sympify(k)
    if k.is_positive or sp.ask(sp.Q.positive(k), given):
        return "pos"
    if k.is_nonnegative or sp.ask(sp.Q.nonnegative(k), given):
        return "nonneg"
    if k.is_negative or sp.ask(sp.Q.negative(k), given):
        return "neg"
    if k.is_nonpositive or sp.ask(sp.Q.nonpositive(k), given):
        return "nonpos"
    return None


def _definite(E, fs, given):
    """'pd' or 'psd' when E is shown positive (semi)definite, else None. A structural proof: Gram
    products BᵀSB with S psd, sums, positive multiples, I, declared matrices."""
    if isinstance(E, sp.Identity):
        return "pd"
    if isinstance(E, sp.ZeroMatrix):
        return "psd"
    if isinstance(E, sp.MatrixSymbol):
        if E in declared(fs, "positive_definite") or sp.ask(sp.Q.positive_definite(E), given):
            return "pd"
        if E in declared(fs, "positive_semidefinite"):
            return "psd"
        return None
    if isinstance(E, sp.Inverse):
        return "pd" if _definite(E.arg, fs, given) == "pd" else None
    if isinstance(E, sp.MatAdd):
        parts = [_definite(t, fs, given) for t in E.args]
        if any(p is None for p in parts):
            return None
        return "pd" if "pd" in parts else "psd"
    if isinstance(E, sp.MatMul):
        k, core = coefficient(E)
        if k != 1:
            sign = _scalar_sign(k, given)
            inner = _definite(core, fs, given)
            if inner is None or sign not in ("pos", "nonneg"):
                return None
            return inner if sign == "pos" else "psd"
        f = list(core.args)
        half = len(f) // 2
        if all(transpose(f[i]) == f[-1 - i] for i in range(half)):
            if len(f) % 2 == 0:
                return "psd"
            return "psd" if _definite(f[half], fs, given) is not None else None
    return None


def _nature(H, wrt, fs, given, right=False):
    """('minimum' | 'maximum' | 'unknown', why) from the Hessian H (constant: the gradient is affine)."""
    if wrt.cols == 1:
        where = "the Hessian"
    elif right:
        where = f"M in the gradient {wrt} M + C (the Hessian is M ⊗ I)"
    else:
        where = f"M in the gradient M {wrt} + C (the Hessian is I ⊗ M)"
    up = _definite(H, fs, given)
    if up is not None:
        kind = "definite" if up == "pd" else "semidefinite"
        return "minimum", (f"{where} {show(H)} is positive {kind}: the objective is convex, so every "
                           "stationary point is a global minimum")
    down = _definite(mul(-1, H), fs, given)
    if down is not None:
        return "maximum", (f"{where} {show(H)} is negative {'definite' if down == 'pd' else 'semidefinite'}: "
                           "every stationary point is a global maximum")
    return "unknown", (f"{where} {show(H)} is not shown to be semidefinite; declare it, e.g. "
                       "Q.positive_definite(A), to decide")


# --------------------------------------------------------------------------- numeric check

@limits.deep
def check_closed_form(solution: Expr, expr: Expr, wrt: Variable, assumptions: Assumptions = None,
                      seed: int = 0, trials: int = 3) -> ClosedFormCheck:
    """Evaluate ``solution`` at random sizes and data and confirm it is a stationary point of ``expr``.

    The gradient at the solution is taken by central differences of the objective (independent of
    symcalc's derivative). For a quadratic objective the normal equations H θ = −g are read off
    the objective numerically and solved with ``np.linalg.solve``; when the objective is a sum of
    squares (‖r‖², rᵀr, ‖R‖_F², tr(RᵀR), rᵀWr with W positive semidefinite, times positive
    constants) with residuals affine in ``wrt``, ``np.linalg.lstsq`` gives a second reference.
    Draws whose normal equations are ill-conditioned (a rank-deficient design) are redrawn.
    """
    expr, solution = sp.sympify(expr), sp.sympify(solution)
    if tuple(solution.shape) != tuple(wrt.shape):
        return ClosedFormCheck(False, np.inf, None, None, message=(
            f"the solution has shape {solution.shape}, but {wrt} has shape {wrt.shape}"))
    symbols = leaves(expr, solution, exclude=[wrt])
    squares = _squares(expr, wrt)
    sampler = Sampler([expr, solution], [*symbols, wrt], assumptions, seed)
    residual, d_solve, d_lstsq = 0.0, 0.0, (0.0 if squares else None)
    used: list = []
    attempts = 0
    while len(used) < trials:
        attempts += 1
        if attempts > 20 * trials:
            return ClosedFormCheck(False, residual, d_solve, d_lstsq, used, message=(
                "no random data with well-conditioned normal equations were found; not confirmed"))
        sizes = sampler.draw_sizes()
        values = sampler.draw_values(sizes)
        f = reference_at(expr, [*symbols, wrt], sizes)
        shape = tuple(int(k) for k in concrete(tuple(wrt.shape), sizes))

        def objective(theta):
            return float(np.asarray(f({**values, wrt: theta.reshape(shape, order="F")})).reshape(()))

        limits.check_numeric(shape[0], shape[-1], f"the variable {wrt}", "MAX_CHECK_ENTRIES")  # H is n x n
        with np.errstate(all="ignore"):
            H, g0 = _quadratic(objective, int(np.prod(shape)))
            if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g0))) or np.linalg.cond(H) > MAX_COND:
                continue
            theta = np.asarray(compile_at(solution, symbols, sizes)(values), float)
        if theta.shape != shape or not np.all(np.isfinite(theta)):
            continue
        t = theta.reshape(-1, order="F")
        g = _gradient(objective, t)
        scale = np.linalg.norm(g0) + np.linalg.norm(H, 2) * np.linalg.norm(t) + 1e-300
        residual = max(residual, float(np.linalg.norm(g) / scale))
        ref = np.linalg.solve(H, -g0)
        d_solve = max(d_solve, _rel(t, ref))
        if squares:
            d = _lstsq_difference(squares, symbols, wrt, sizes, values, shape, t)
            d_lstsq = None if d is None or d_lstsq is None else max(d_lstsq, d)
        used.append({str(k): v for k, v in sizes.items()})
    ok = residual <= RESIDUAL_TOL and d_solve <= AGREE_TOL and (d_lstsq is None or d_lstsq <= AGREE_TOL)
    message = "" if ok else "the solution does not make the gradient vanish (or disagrees with NumPy)"
    return ClosedFormCheck(ok, residual, d_solve, d_lstsq, used, message)


def _rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


def _quadratic(f, n):
    """(H, g₀) of f(θ) = f₀ + g₀ᵀθ + ½θᵀHθ; exact for a quadratic (unit steps, no truncation)."""
    e = np.eye(n)
    f0 = f(np.zeros(n))
    fp = np.array([f(e[i]) for i in range(n)])
    fm = np.array([f(-e[i]) for i in range(n)])
    g0 = (fp - fm) / 2
    H = np.empty((n, n))
    for i in range(n):
        H[i, i] = fp[i] - 2 * f0 + fm[i]
        for j in range(i + 1, n):
            H[i, j] = H[j, i] = f(e[i] + e[j]) - fp[i] - fp[j] + f0
    return H, g0


def _gradient(f, t, step=1e-3):
    """Central differences of f at t."""
    g = np.empty_like(t)
    for i in range(t.size):
        h = step * max(1.0, abs(t[i]))
        up, down = t.copy(), t.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


# --------------------------------------------------------------------------- least squares

def _squares(expr, wrt, k=sp.S.One):
    """[(weight, r, middle)] when expr is Σ weight·rᵀ(middle)r plus terms free of wrt, else None."""
    if not expr.has(wrt):
        return []
    if isinstance(expr, (sp.MatAdd, sp.Add)):
        out = []
        for t in expr.args:
            part = _squares(t, wrt, k)
            if part is None:
                return None
            out += part
        return out
    if isinstance(expr, sp.Trace):
        return _squares(expr.arg, wrt, k)
    if isinstance(expr, (SquaredNorm, FrobeniusSquared)):
        return [(k, expr.args[0], None)]
    if isinstance(expr, sp.MatMul):
        c, core = coefficient(expr)
        if c.has(wrt):
            return None
        f = list(core.args) if isinstance(core, sp.MatMul) else [core]
        if len(f) == 2 and transpose(f[1]) == f[0]:
            return [(k * c, f[1], None)]
        if len(f) == 3 and transpose(f[2]) == f[0] and not f[1].has(wrt):
            return [(k * c, f[2], f[1])]
        return _squares(core, wrt, k * c) if len(f) == 1 else None
    if isinstance(expr, sp.Mul):  # after MatMul, which is a Mul too
        scalars = [a for a in expr.args if not a.has(wrt)]
        rest = [a for a in expr.args if a.has(wrt)]
        if len(rest) == 1:
            return _squares(rest[0], wrt, k * sp.Mul(*scalars))
    return None


def _lstsq_difference(squares, symbols, wrt, sizes, values, shape, t):
    """Relative difference of t from np.linalg.lstsq of the stacked residuals, or None when the
    weights are not positive or a middle matrix is not positive semidefinite at these values."""
    n = int(np.prod(shape))
    rows, rhs = [], []
    for weight, r, middle in squares:
        scalars = {s: sp.Float(v) for s, v in values.items() if not isinstance(s, sp.MatrixSymbol)}
        w = float(sp.sympify(weight).xreplace(sizes).xreplace(scalars))
        if w < 0:
            return None
        rf = reference_at(r, [*symbols, wrt], sizes)

        def res(theta):
            return np.asarray(rf({**values, wrt: theta.reshape(shape, order="F")}), float)

        r0 = res(np.zeros(n))
        A = np.column_stack([(res(np.eye(n)[i]) - r0).reshape(-1, order="F") for i in range(n)])
        b = -r0.reshape(-1, order="F")
        L = np.sqrt(w) * np.eye(r0.shape[0])
        if middle is not None:
            S = np.asarray(compile_at(middle, symbols, sizes)(values), float)
            vals, vecs = np.linalg.eigh((S + S.T) / 2)
            if not np.allclose(S, S.T) or vals.min() < -1e-12 * max(1.0, abs(vals).max()):
                return None
            L = np.sqrt(w) * (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
        cols = r0.shape[1]
        K = np.kron(np.eye(cols), L)   # vec(L R) = (I ⊗ L) vec(R)
        rows.append(K @ A)
        rhs.append(K @ b)
    ref = np.linalg.lstsq(np.vstack(rows), np.concatenate(rhs), rcond=None)[0]
    return _rel(t, ref)
