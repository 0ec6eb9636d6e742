"""diff, gradient, jacobian and hessian: the layout is applied here, at the edges.

Inside, every derivative is gradient-shaped (reverse mode, ``engine.backward``). A scalar output's
gradient has the variable's shape, which is the denominator layout; the numerator layout is its
transpose. A matrix output Y is differentiated with a seed V of Y's shape; the result Jᵀ V is linear
in V and ``linear`` reads the Jacobian off it in matrix form (``diag(σ'(z)) W``), or in vec form
(``Bᵀ ⊗ A``), or, for concrete sizes where no matrix form exists, entry by entry.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import dag, limits
from ..assumptions import Assumptions, as_boolean, symmetric_transposes
from ..errors import LayoutError, ShapeError, UnsupportedError
from ..functions import InternalMatrix, as_expression, is_matrix
from ..hints import Expr, Layout, Variable
from ..shapes import kind
from ..simplify import add, textbook, transpose
from .engine import backward, prepare
from .linear import explicit_jacobian, split, split_vec

LAYOUTS = ("numerator", "denominator")


def check_layout(layout):
    if layout not in LAYOUTS:
        raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")


def check_variable(expr, wrt):
    if not isinstance(wrt, (sp.Symbol, sp.MatrixSymbol)):
        raise UnsupportedError(f"differentiate with respect to a sp.Symbol or sp.MatrixSymbol; {wrt} is a "
                               f"{type(wrt).__name__}")
    sizes = set()
    for m in dag.atoms(sp.sympify(expr), sp.MatrixSymbol):
        sizes |= m.shape[0].free_symbols | m.shape[1].free_symbols
    if wrt in sizes:
        raise UnsupportedError(f"{wrt} is a size in {expr}, not a variable of it")


def _concrete(*exprs):
    return all(sp.sympify(s).is_Integer for e in exprs if is_matrix(e) for s in e.shape)


@limits.deep
def gradient(expr: Expr, wrt: Variable, assumptions: Assumptions = None) -> Expr:
    """The gradient of a scalar (or 1 x 1) expression: always the shape of ``wrt``.

    ``assumptions``: SymPy ``Q`` predicates, a list of them, or none (those of an enclosing
    ``sp.assuming`` hold as well); see ``symcalc.assumptions``.
    """
    assumptions = as_boolean(assumptions)
    expr = as_expression(expr)
    check_variable(expr, wrt)
    if kind(expr) != "scalar":
        raise ShapeError(f"gradient takes a scalar expression, but {expr} is {expr.rows} x {expr.cols}; "
                         "use jacobian or diff")
    g = backward(expr, [wrt], assumptions=assumptions).gradients[wrt]
    return g


@limits.deep
def diff(expr: Expr, wrt: Variable, layout: Layout = "denominator", vec: bool = False,
         assumptions: Assumptions = None) -> Expr:
    """∂expr/∂wrt in the given layout (docs/layouts.md); ``vec=True`` for the Magnus–Neudecker form.

    An expression built from explicit matrices (``sp.Matrix`` of scalars) gets an explicit result.
    ``assumptions`` as for ``gradient``: ``[Q.symmetric(A)]`` gives 2Ax for xᵀAx.
    """
    assumptions = as_boolean(assumptions)
    expr = as_expression(expr)
    result = symmetric_transposes(_diff(expr, wrt, layout, vec, assumptions), expr, assumptions)
    # (SymPy's expr.has(sp.MatrixBase) is always False: MatrixBase is no Basic class)
    if isinstance(expr, sp.MatrixBase) and is_matrix(result) and not isinstance(result, sp.MatrixBase):
        return sp.ImmutableMatrix(result.as_explicit())
    return result


def _diff(expr, wrt, layout, vec, assumptions):
    check_layout(layout)
    check_variable(expr, wrt)
    expr = sp.sympify(expr)
    if kind(expr) == "scalar":
        G = gradient(expr, wrt, assumptions)
        if not is_matrix(wrt):
            return G
        if vec and wrt.cols != 1:
            G = _vec(G)
        return G if layout == "denominator" else textbook(transpose(G))
    if expr.rows == 1 and is_matrix(wrt) and wrt.cols == 1:
        expr = _as_column(expr)  # a 1 x m row by a column: the m x n Jacobian of the column, ∂(xᵀB)/∂x = B
    V = InternalMatrix("V", *expr.shape)  # equal to no symbol of the user's, whatever its name
    R = backward(expr, [wrt], seed=V, assumptions=assumptions).gradients[wrt]
    if not is_matrix(wrt):  # matrix by scalar: R = ⟨V, dY/dx⟩, and its gradient in V is dY/dx
        D = backward(R, [V]).gradients[V]
        return D if layout == "numerator" else textbook(transpose(D))
    if expr.cols == 1 and wrt.cols == 1:  # vector by vector: R = J_den V
        try:
            M, _ = split(R, V)
            J_den = textbook(M) if M is not None else sp.ZeroMatrix(wrt.rows, expr.rows)
        except UnsupportedError:
            if not _concrete(expr, wrt):
                raise _no_form(expr, wrt, "matrix") from None
            J_den = _explicit(expr, wrt, R, V).T
        return J_den if layout == "denominator" else textbook(transpose(J_den))
    if vec:
        try:
            K = split_vec(R, V)
            K = textbook(K) if K is not None else sp.ZeroMatrix(wrt.rows * wrt.cols, expr.rows * expr.cols)
        except UnsupportedError:
            if not _concrete(expr, wrt):
                raise _no_form(expr, wrt, "Kronecker (vec)") from None
            K = _explicit(expr, wrt, R, V).T
        return K if layout == "denominator" else textbook(transpose(K))
    if not _concrete(expr, wrt):
        raise UnsupportedError(
            f"the derivative of the {expr.rows} x {expr.cols} expression {expr} by the {wrt.rows} x {wrt.cols} "
            f"matrix {wrt} is a 4-way array with no matrix form for symbolic sizes; pass vec=True for "
            "the Kronecker form ∂vec(Y)/∂vec(X)ᵀ, or use concrete sizes for the array")
    return _array(_explicit(expr, wrt, R, V), expr.shape, wrt.shape, layout)


def _explicit(expr, wrt, R, V):
    """The numerator Jacobian ∂vec(Y)/∂vec(X)ᵀ at concrete sizes, entry by entry: differentiated
    entry by entry when that is cheap, else read off the vector–Jacobian product R = Σ V_ij ∂Y_ij/∂X
    (with V the unit matrix E_ij, entry (k, l) of R), which writes out no symbolic inverse."""
    prepared, restore = prepare(expr)
    prepared = prepared.xreplace(restore) if restore else prepared
    if not _costly_explicit(prepared):
        return explicit_jacobian(prepared, wrt)
    m, n = (int(s) for s in expr.shape)
    p, q = (int(s) for s in wrt.shape)
    limits.check_entries(m * n * p * q, lambda: f"the {m * n} x {p * q} Jacobian of {expr} by {wrt}",
                         "use symbolic sizes, or smaller ones")
    seeded = [R.xreplace({V: sp.ImmutableMatrix(m, n, lambda a, b: int((a, b) == (i, j)))})
              for j in range(n) for i in range(m)]
    return sp.ImmutableMatrix(m * n, p * q, lambda r, c: MatrixElement(seeded[r], c % p, c // p))


def _costly_explicit(expr):
    """Whether writing expr out entry by entry means a symbolic inverse, determinant or power (a
    4 x 4 symbolic inverse has thousands of terms, and differentiating it ran for minutes)."""
    seen, stack = set(), [expr]
    while stack:
        e = stack.pop()
        if e in seen or not isinstance(e, sp.Basic):
            continue
        if isinstance(e, (sp.Inverse, sp.Determinant, sp.MatPow)) and e.args[0].shape != (1, 1):
            return True
        seen.add(e)
        stack.extend(e.args)
    return False


def _no_form(expr, wrt, form):
    """The error for a Jacobian with no ``form`` form, about the user's expression (the reasons
    the reading-off gives are about the internal seed)."""
    return UnsupportedError(
        f"the derivative of the {expr.rows} x {expr.cols} expression {expr} by the {wrt.rows} x "
        f"{wrt.cols} matrix {wrt} has no {form} form that symcalc can read off with symbolic sizes "
        "(it reads off products, sums, transposes and entrywise weights of the variable); "
        "use concrete sizes")


def _as_column(e):
    """The transpose of a row, pushed into entrywise nodes: σ(xᵀB)ᵀ = σ(Bᵀx)."""
    if isinstance(e, ElementwiseApplyFunction):
        return ElementwiseApplyFunction(e.function, _as_column(e.expr))
    if isinstance(e, sp.HadamardProduct):
        return sp.HadamardProduct(*[_as_column(a) for a in e.args])
    if isinstance(e, sp.HadamardPower):
        return sp.HadamardPower(_as_column(e.base), e.exp)
    if isinstance(e, sp.MatAdd):
        return add((e.cols, e.rows), *[_as_column(a) for a in e.args])
    return transpose(e)


def _vec(G):
    if not _concrete(G):
        raise UnsupportedError(f"vec of the {G.rows} x {G.cols} gradient {G} needs concrete sizes")
    E = G.as_explicit()
    return sp.ImmutableMatrix([E[i, j] for j in range(E.cols) for i in range(E.rows)])


def _array(J, yshape, xshape, layout):
    """The numerator Jacobian ∂vec(Y)/∂vec(X)ᵀ as an array [i,j,k,l] = ∂Y_ij/∂X_kl (or (p,q,m,n))."""
    m, n = (int(s) for s in yshape)
    p, q = (int(s) for s in xshape)
    if layout == "numerator":
        return sp.ImmutableDenseNDimArray(
            [[[[J[i + j * m, k + l * p] for l in range(q)] for k in range(p)] for j in range(n)]
             for i in range(m)])
    return sp.ImmutableDenseNDimArray(
        [[[[J[i + j * m, k + l * p] for j in range(n)] for i in range(m)] for l in range(q)]
         for k in range(p)])


def jacobian(f: Expr, x: Variable, layout: Layout = "numerator", vec: bool = False,
             assumptions: Assumptions = None) -> Expr:
    """The Jacobian of f by x; numerator layout (m x n for f m x 1, x n x 1) unless told otherwise."""
    return diff(f, x, layout=layout, vec=vec, assumptions=assumptions)


@limits.deep
def hessian(expr: Expr, wrt: Variable, wrt2: Variable | None = None,
            assumptions: Assumptions = None) -> Expr:
    """Second derivatives of a scalar: H[i, j] = ∂²L/∂wrt_i ∂wrt2_j (vec form for matrices)."""
    assumptions = as_boolean(assumptions)
    g = gradient(expr, wrt, assumptions)
    other = wrt if wrt2 is None else wrt2
    if is_matrix(g) and g.cols != 1 and is_matrix(other) and other.cols != 1:
        # ∂vec(G)/∂vec(W)ᵀ of the matrix gradient itself, in Kronecker form (its vec would be entries)
        try:
            return diff(g, other, layout="numerator", vec=True, assumptions=assumptions)
        except UnsupportedError:
            if _concrete(g, other):
                raise
            raise UnsupportedError(
                f"the vec Hessian of {expr} by the {wrt.rows} x {wrt.cols} matrix {wrt}"
                f"{'' if wrt2 is None else f' and {other}'} has no Kronecker form at symbolic sizes: a "
                "transpose or an entrywise function of the variable needs the commutation matrix or "
                "diag(vec D), written out only at concrete sizes; use concrete sizes") from None
    if is_matrix(g) and g.cols != 1:
        g = _vec(g)
    return diff(g, other, layout="numerator", vec=is_matrix(other) and other.cols != 1,
                assumptions=assumptions)
