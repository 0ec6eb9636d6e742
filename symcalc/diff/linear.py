"""Reading a matrix off an expression that is linear (or affine) in a variable.

Reverse mode gives vector–Jacobian products: for a seed V, the gradient Jᵀ V. To hand back the
Jacobian J itself in matrix form, ``split`` writes an expression E that is affine in a column V as
M V + c, pulling V to the right through products, Hadamard products (a ⊙ V = diag(a) V), sums and
transposes. ``split_vec`` does the same for a matrix V in vec form, vec(E) = K vec(V) + vec(c), with
vec(A V B) = (Bᵀ ⊗ A) vec(V), vec(Vᵀ) = K vec(V) (the commutation matrix) and vec(D ⊙ V) =
diag(vec D) vec(V). Where no matrix form exists and sizes are concrete, ``explicit`` differentiates
entry by entry (exact, since E is linear).
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import limits
from ..errors import UnsupportedError
from ..functions import is_matrix
from ..simplify import add, coefficient, mul, scalar, transpose


def _nonlinear(e, v, why):
    raise UnsupportedError(f"{e} is not affine in {v} ({why}); no matrix form can be read off")


def split(e, v):
    """(M, c) with e = M v + c for a column vector v; e a column vector, a 1 x 1 matrix or a scalar.

    M is None when e does not depend on v; c is None when there is no constant part.
    """
    if not e.has(v):
        return None, e
    if e == v:
        return sp.Identity(v.rows), None
    if isinstance(e, (sp.MatAdd, sp.Add)):
        Ms, cs = zip(*(split(a, v) for a in e.args))
        return _sum(Ms, (e.rows if is_matrix(e) else 1, v.rows)), _sum(cs, e.shape if is_matrix(e) else None)
    if not is_matrix(e):
        return _split_scalar(e, v)
    if e.shape == (1, 1):
        return _split_11(e, v)
    if e.cols != 1:
        _nonlinear(e, v, f"it is a {e.rows} x {e.cols} matrix, not a column")
    if isinstance(e, sp.MatMul):
        c, core = coefficient(e)
        factors = list(core.args) if isinstance(core, sp.MatMul) else [core]
        if c.has(v):
            M, k = split(c, v)
            return _scaled(mul(*factors), M, k, v)
        hits = [i for i, f in enumerate(factors) if f.has(v)]
        if len(hits) != 1:
            _nonlinear(e, v, "the variable appears in more than one factor of a product")
        i = hits[0]
        left, f, right = factors[:i], factors[i], factors[i + 1:]
        if f.cols == 1:  # e has one column, so the product of the factors to the right is 1 x 1
            s = scalar(mul(*right)) if right else sp.S.One
            M, k = split(f, v)
            return mul(c * s, *left, M), (None if k is None else mul(c * s, *left, k, *right))
        if isinstance(f, DiagMatrix) and f.args[0].cols == 1 and len(right) == 1 and right[0].cols == 1:
            M, k = split(f.args[0], v)  # diag(a) r = r ⊙ a = diag(r) a
            return mul(c, *left, DiagMatrix(right[0]), M), (
                None if k is None else mul(c, *left, DiagMatrix(k), right[0]))
        rest = mul(*right) if right else None
        if rest is not None and rest.cols == 1 and f.rows == 1:  # f r is 1 x 1
            M, k = split(mul(f, rest), v)
            return _scaled(mul(c, *left), M, k, v)
        if isinstance(f, sp.MatAdd):  # (X − μ1ᵀ) 1 = X1 − μ 1ᵀ1 = X1 − n μ: distribute, then read off
            return split(add(e.shape, *[mul(c, *left, t, *right) for t in f.args]), v)
        _nonlinear(e, v, f"the variable sits inside the {f.rows} x {f.cols} factor {f}")
    if isinstance(e, sp.HadamardProduct):
        hits = [a for a in e.args if a.has(v)]
        if len(hits) != 1:
            _nonlinear(e, v, "the variable appears in more than one factor of an entrywise product")
        others = [a for a in e.args if not a.has(v)]
        weight = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
        M, k = split(hits[0], v)
        return mul(DiagMatrix(weight), M), (None if k is None else sp.HadamardProduct(weight, k))
    if isinstance(e, sp.Transpose) and isinstance(e.arg, sp.HadamardProduct):  # (a ⊙ b)ᵀ = aᵀ ⊙ bᵀ
        return split(sp.HadamardProduct(*[transpose(a) for a in e.arg.args]), v)
    if isinstance(e, sp.Transpose):
        return split(transpose(e.arg), v) if not isinstance(transpose(e.arg), sp.Transpose) else \
            _nonlinear(e, v, "a transpose that does not reduce")
    _nonlinear(e, v, f"{type(e).__name__} has no linear form here")


def _sum(parts, shape):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return add(shape, *parts) if any(is_matrix(p) for p in parts) else sp.Add(*parts)


def _scaled(P, M, k, v):
    """(s(v)) P with s = M v + k scalar: P M v + k P."""
    return (None if M is None else mul(P, M)), (None if k is None else mul(k, P))


def _split_11(e, v):
    """A 1 x 1 matrix is its own transpose: try it as it stands, then transposed."""
    try:
        return _split_11_once(e, v)
    except UnsupportedError:
        return _split_11_once(transpose_11(e), v)


def transpose_11(e):
    c, core = coefficient(e)
    if isinstance(core, sp.MatMul):
        return mul(c, *[transpose(a) for a in reversed(core.args)])
    return e


def _split_11_once(e, v):
    if isinstance(e, sp.MatMul):
        c, core = coefficient(e)
        factors = list(core.args) if isinstance(core, sp.MatMul) else [core]
        if c.has(v):
            M, k = split(c, v)
            return _scaled(mul(*factors), M, k, v)
        if factors[-1].has(v) and not any(f.has(v) for f in factors[:-1]):
            M, k = split(factors[-1], v)
            return (None if M is None else mul(c, *factors[:-1], M)), (
                None if k is None else mul(c, *factors[:-1], k))
        _nonlinear(e, v, "the variable is not the last factor")
    if isinstance(e, sp.MatAdd):
        return split(e, v)
    _nonlinear(e, v, f"{type(e).__name__} has no linear form here")


def _split_scalar(e, v):
    """A scalar: s = r v + k with r a row."""
    if isinstance(e, sp.Mul):
        hits = [a for a in e.args if a.has(v)]
        if len(hits) != 1:
            _nonlinear(e, v, "the variable appears in more than one factor of a product")
        c = sp.Mul(*[a for a in e.args if not a.has(v)])
        M, k = split(hits[0], v)
        return (None if M is None else mul(c, M)), (None if k is None else c * _as_scalar(k))
    if isinstance(e, sp.Trace):
        M, k = split(e.arg, v)
        return M, (None if k is None else _as_scalar(k))
    from sympy.matrices.expressions.matexpr import MatrixElement
    if isinstance(e, MatrixElement) and e.parent.shape == (1, 1):
        M, k = split(e.parent, v)
        return M, (None if k is None else _as_scalar(k))
    _nonlinear(e, v, f"{type(e).__name__} of the variable")


def _as_scalar(k):
    return scalar(k) if is_matrix(k) else k


def split_affine(e, v):
    """(M, c) with e = M v + c exactly; M and c are zero matrices when absent.

    For a column v, M is a matrix; for a matrix variable v (p x q) with e of the same row count,
    M acts on the left (e = M v + c) and the call raises UnsupportedError when e is not of that form.
    """
    shape = e.shape if is_matrix(e) else (1, 1)
    if v.cols == 1:
        M, c = split(e, v)
        return (M if M is not None else sp.ZeroMatrix(shape[0], v.rows),
                c if c is not None else sp.ZeroMatrix(*shape))
    K, c = split_left(e, v)
    return (K if K is not None else sp.ZeroMatrix(shape[0], v.rows),
            c if c is not None else sp.ZeroMatrix(*shape))


def split_left(e, v):
    """(M, c) with e = M v + c for a matrix v, where v enters only through left products."""
    if not e.has(v):
        return None, e
    if e == v:
        return sp.Identity(v.rows), None
    if isinstance(e, sp.MatAdd):
        Ms, cs = zip(*(split_left(a, v) for a in e.args))
        return _sum(Ms, (e.rows, v.rows)), _sum(cs, e.shape)
    if isinstance(e, sp.MatMul):
        c, core = coefficient(e)
        factors = list(core.args) if isinstance(core, sp.MatMul) else [core]
        if factors[-1].has(v) and not c.has(v) and not any(f.has(v) for f in factors[:-1]):
            M, k = split_left(factors[-1], v)
            return (None if M is None else mul(c, *factors[:-1], M)), (
                None if k is None else mul(c, *factors[:-1], k))
    _nonlinear(e, v, "the variable does not enter only as the right-most factor of products")


# --------------------------------------------------------------------------- vec (Kronecker) form

def split_vec(e, v):
    """K with vec(e) = K vec(v) for e linear in the matrix v (column-major vec), from the
    differential: vec(A V B) = (Bᵀ ⊗ A) vec(V), vec(Eᵀ) = K_rc vec(E) with the commutation matrix
    K_rc (none for a vector), vec(w ⊙ E) = diag(vec w) vec(E). The commutation matrix and the vec of
    a matrix weight are written out, so they need concrete sizes; anything else raises
    UnsupportedError. Each distinct sub-expression is read once (R is a DAG)."""
    below = _depends(e, v)
    if e not in below:
        return None
    memo = {}

    def walk(e):
        if e not in memo:
            memo[e] = _split_vec(e, v, below, walk)
        return memo[e]
    return walk(e)


def _depends(e, v):
    """The nodes of e that contain v, each node visited once."""
    from ..dag import postorder
    out = set()
    for n in postorder(e):
        if n == v or (isinstance(n, sp.Basic) and any(a in out for a in n.args)):
            out.add(n)
    return out


def _split_vec(e, v, below, walk):
    if e == v:
        return sp.Identity(v.rows * v.cols)
    if isinstance(e, sp.MatAdd):
        return _sum([walk(a) for a in e.args if a in below], (e.rows * e.cols, v.rows * v.cols))
    if isinstance(e, sp.MatMul):
        c, core = coefficient(e)
        if any(a in below for a in e.args if not is_matrix(a)):
            raise UnsupportedError(f"{e}: a scalar factor depends on {v}; no Kronecker form")
        factors = list(core.args) if isinstance(core, sp.MatMul) else [core]
        hits = [i for i, f in enumerate(factors) if f in below]
        if len(hits) != 1:
            _nonlinear(e, v, "the variable appears in more than one factor of a product")
        i = hits[0]
        A = mul(*factors[:i]) if i else sp.Identity(factors[i].rows)
        B = mul(*factors[i + 1:]) if i + 1 < len(factors) else sp.Identity(factors[i].cols)
        return mul(c, _kron(transpose(B), A), walk(factors[i]))
    if isinstance(e, sp.Transpose):
        f = e.arg
        return walk(f) if 1 in (f.rows, f.cols) else mul(commutation(f.rows, f.cols), walk(f))
    if isinstance(e, sp.HadamardProduct):
        hits = [a for a in e.args if a in below]
        others = [a for a in e.args if a not in below]
        if len(hits) == 1:
            weight = others[0] if len(others) == 1 else sp.HadamardProduct(*others)
            return mul(DiagMatrix(_vec_of(weight)), walk(hits[0]))
    raise UnsupportedError(f"{e} has no Kronecker (vec) form in {v} with symbolic sizes; "
                           "use concrete sizes")


def _concrete_sizes(e, what):
    if not all(sp.sympify(s).is_Integer for s in e.shape):
        raise UnsupportedError(f"{what} of the {e.rows} x {e.cols} matrix {e} needs concrete sizes")
    return int(e.rows), int(e.cols)


def _vec_of(w):
    """vec(w) as a column: w itself, wᵀ for a row, else its entries (concrete sizes)."""
    if w.cols == 1:
        return w
    if w.rows == 1:
        return transpose(w)
    r, c = _concrete_sizes(w, "vec")
    return sp.ImmutableMatrix([MatrixElement(w, i, j) for j in range(c) for i in range(r)])


def commutation(r, c):
    """K_rc with K vec(A) = vec(Aᵀ) for A r x c (Magnus–Neudecker), a 0/1 permutation matrix."""
    if not (sp.sympify(r).is_Integer and sp.sympify(c).is_Integer):
        raise UnsupportedError(f"the commutation matrix of vec(Aᵀ) for A {r} x {c} needs concrete sizes")
    r, c = int(r), int(c)
    return sp.ImmutableMatrix(r * c, r * c, lambda a, b: int(a == (b // r) + (b % r) * c))


def _kron(A, B):
    if isinstance(A, sp.Identity) and A.rows == 1:
        return B
    if isinstance(B, sp.Identity) and B.rows == 1:
        return A
    return sp.KroneckerProduct(A, B)


def explicit_jacobian(e, v):
    """∂vec(e)/∂vec(v)ᵀ, entry by entry, for concrete sizes (column-major vec).

    The entries of v are differentiated as real numbers (SymPy takes a matrix entry to be complex:
    d|X₀₀|/dX₀₀ would keep Derivative(re(X₀₀), X₀₀)); Heaviside is the ReLU's 1[x > 0]."""
    from .rules import heaviside_to_step
    shape = e.shape if is_matrix(e) else (1, 1)
    limits.check_entries(int(shape[0] * shape[1] * v.rows * v.cols),
                         lambda: f"the explicit Jacobian of {e} by {v}")
    E = e.as_explicit() if is_matrix(e) else sp.ImmutableMatrix([[e]])
    V = v.as_explicit()
    vv = [V[i, j] for j in range(V.cols) for i in range(V.rows)]
    real = {x: sp.Dummy("x", real=True) for x in vv}
    back = {d: x for x, d in real.items()}
    ve = [_entry_of(E[i, j], v, real) for j in range(E.cols) for i in range(E.rows)]

    def entry(r, c):
        d = heaviside_to_step(sp.diff(ve[r], real[vv[c]])).xreplace(back)
        if d.has(sp.Derivative, sp.Subs):
            raise UnsupportedError(f"the entry {ve[r].xreplace(back)} has no known derivative ({d})")
        return d
    return sp.ImmutableMatrix(len(ve), len(vv), entry)


def _entry_of(x, v, real):
    """An entry with v's entries made real numbers; a trace of v kept whole in it (tr(W Wᵀ) W)
    is written out first, since sp.diff by an entry would take it for a constant."""
    from .. import dag
    x = x.xreplace(real)
    if dag.has(x, v):
        x = dag.replace(x, lambda t: isinstance(t, sp.Trace) and dag.has(t, v),
                        lambda t: t.arg.as_explicit().trace()).xreplace(real)
    if dag.has(x, v):
        raise UnsupportedError(f"the entry {x} keeps {v} whole; it cannot be differentiated entry by entry")
    return x
