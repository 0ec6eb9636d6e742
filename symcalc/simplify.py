"""Canonical textbook forms.

The engine builds every expression through the small constructors here (``add``, ``mul``,
``transpose``, ``hadamard``, ``scalar``) instead of SymPy's ``doit``: ``doit`` distributes
products over sums (``2(y − Xθ)`` becomes ``2y − 2Xθ``), while a textbook keeps the factored form.
Each constructor does only the cheap, always-true rewrites (drop identities, collect like terms,
push transposes to the leaves, cancel ``A A⁻¹`` and ``a ⊙ a^{∘−1}``), so expressions stay small and
shared. ``textbook`` adds the final factoring ``Ax + Aᵀx → (A + Aᵀ)x``.
"""
from __future__ import annotations

import functools
from collections import Counter, OrderedDict

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixElement

from .dag import node, shape as shape_of, sort_key, table
from .functions import LogSumExp, OneHot, Softmax, is_matrix
from .functions import _Normalising
from .hints import Expr

__all__ = ["add", "mul", "transpose", "hadamard", "scalar", "as_matrix11", "coefficient", "textbook", "zero"]


def zero(shape):
    return sp.ZeroMatrix(*shape)


def _is_zero(e):
    return isinstance(e, sp.ZeroMatrix) or (not is_matrix(e) and e == 0)


def coefficient(e):
    """Split ``e`` into (scalar coefficient, matrix core)."""
    if isinstance(e, sp.MatMul):
        scalars = [a for a in e.args if not is_matrix(a)]
        mats = [a for a in e.args if is_matrix(a)]
        if scalars:
            core = mats[0] if len(mats) == 1 else node(sp.MatMul, *mats)
            return sp.Mul(*scalars), core
    return sp.S.One, e


def _is_unit(m):
    """Factors that act as the identity in a product: I, and the 1 x 1 all-ones matrix."""
    return isinstance(m, sp.Identity) or (isinstance(m, sp.OneMatrix) and m.shape == (1, 1))


def _is_ones(m):
    """The all-ones matrix, which the 1 x 1 identity also is: the unit of ⊙."""
    return isinstance(m, sp.OneMatrix) or (isinstance(m, sp.Identity) and m.shape == (1, 1))


def _cancels(a, b):
    """A A⁻¹ = I."""
    return (isinstance(b, sp.Inverse) and b.arg == a) or (isinstance(a, sp.Inverse) and a.arg == b)


def _diagonal_column(m):
    """diag(a) of a column a."""
    return isinstance(m, DiagMatrix) and shape_of(m.args[0])[1] == 1


def _power_base(m):
    return m.base if isinstance(m, sp.MatPow) else m


def _power_exp(m):
    return m.exp if isinstance(m, sp.MatPow) else sp.S.One


def _one_hot_along(m):
    """0 when the columns of m are one-hot (OneHot, or the transpose of one with one-hot rows), 1 for
    rows, else None."""
    if isinstance(m, OneHot):
        return m.axis
    if isinstance(m, sp.Transpose) and isinstance(m.arg, OneHot):
        return 1 - m.arg.axis
    return None


def mul(*factors):
    """A product with scalars collected in front, identities dropped and A A⁻¹ cancelled."""
    scalars, mats = [], []
    for f in factors:
        if isinstance(f, sp.MatMul):
            for a in f.args:
                (mats if is_matrix(a) else scalars).append(a)
        elif is_matrix(f):
            mats.append(f)
        else:
            scalars.append(f)
    c = sp.Mul(*scalars)
    if not mats:
        return c
    shape = (shape_of(mats[0])[0], shape_of(mats[-1])[1])
    if c == 0 or any(isinstance(m, sp.ZeroMatrix) for m in mats):
        return zero(shape)
    out = []
    for m in mats:
        if out and _cancels(out[-1], m):
            out.pop()
            continue
        if out and isinstance(out[-1], sp.OneMatrix) and isinstance(m, sp.OneMatrix):
            c *= m.rows  # 1 1ᵀ-style products of all-ones matrices
            out[-1] = sp.OneMatrix(out[-1].rows, m.cols)
            continue
        if out and not _is_unit(m) and _power_base(out[-1]) == _power_base(m):
            out[-1] = sp.MatPow(_power_base(m), _power_exp(out[-1]) + _power_exp(m))
            continue
        if out and _diagonal_column(out[-1]) and _diagonal_column(m):
            out[-1] = DiagMatrix(hadamard(out[-1].args[0], m.args[0]))  # diag(a) diag(b) = diag(a ⊙ b)
            continue
        if out and isinstance(out[-1], DiagMatrix) and isinstance(m, sp.OneMatrix) and m.cols == 1:
            out[-1] = out[-1].args[0]  # diag(a) 1 = a
            continue
        if out and isinstance(m, DiagMatrix) and isinstance(out[-1], sp.OneMatrix) and out[-1].rows == 1 \
                and m.args[0].cols == 1:
            out[-1] = transpose(m.args[0])  # 1ᵀ diag(a) = aᵀ
            continue
        if out and isinstance(out[-1], sp.OneMatrix) and _one_hot_along(m) == 0:
            out[-1] = sp.OneMatrix(out[-1].rows, m.cols)  # 1ᵀ Y = 1ᵀ for one-hot columns
            continue
        if out and _one_hot_along(out[-1]) == 1 and isinstance(m, sp.OneMatrix):
            out[-1] = sp.OneMatrix(out[-1].rows, m.cols)  # Y 1 = 1 for one-hot rows
            continue
        out.append(m)
    kept = [m for m in out if not _is_unit(m)]
    if not kept:
        kept = [sp.Identity(shape[0])] if shape[0] == shape[1] else [sp.OneMatrix(*shape)]
    core = kept[0] if len(kept) == 1 else node(sp.MatMul, *kept)
    if c == 1:
        return core
    if isinstance(core, sp.MatMul):
        return node(sp.MatMul, c, *core.args)
    return node(sp.MatMul, c, core)


def add(shape, *terms, keep=()):
    """A sum with like terms collected (``u + u → 2u``), keeping each term's factored form.

    Sums among ``terms`` are flattened, except those in ``keep`` (named intermediates, such as
    the adjoints of a reverse sweep: flattened, a residual network's would repeat L²/2 terms) and
    those that occur more than once (r + r is 2r, not 2a + 2b).
    """
    collected: OrderedDict = OrderedDict()
    sums = Counter(t for t in terms if isinstance(t, (sp.MatAdd, sp.Add)))
    for t in terms:
        parts = t.args if t in sums and t not in keep and sums[t] == 1 else (t,)
        for p in parts:
            if _is_zero(p):
                continue
            c, core = coefficient(p) if is_matrix(p) else p.as_coeff_Mul()
            collected[core] = collected.get(core, 0) + c
    explicit = [core for core in collected if isinstance(core, sp.MatrixBase)]
    if len(explicit) > 1:  # explicit matrices add up entry by entry: one matrix
        total = sp.ImmutableMatrix(functools.reduce(
            lambda a, b: a + b, [collected.pop(core) * core for core in explicit]))
        collected[total] = collected.get(total, 0) + 1
    out = []
    for core, c in collected.items():
        if c == 0 or (isinstance(core, sp.MatrixBase) and core.is_zero_matrix):
            continue
        out.append(mul(c, core) if is_matrix(core) else c * core)
    if not out:
        return zero(shape) if shape is not None else sp.S.Zero
    if len(out) == 1:
        return out[0]
    parts = [coefficient(t) for t in out] if is_matrix(out[0]) else []
    if parts and all(_diagonal_column(core) for _, core in parts):  # c diag(a) + diag(b) = diag(c a + b)
        return DiagMatrix(add((shape_of(out[0])[0], sp.S.One), *[mul(c, core.args[0]) for c, core in parts]))
    if is_matrix(out[0]):
        return node(sp.MatAdd, *sorted(out, key=sort_key))  # one order: equal sums compare equal
    return sp.Add(*out)


def transpose(e):
    """Push a transpose through products, (AB)ᵀ = BᵀAᵀ, down to the factors.

    Entrywise products and functions keep their transpose outside, ``σ(z)ᵀ``: that keeps the cost of
    a transpose independent of the depth of a network.
    A 1 x 1 matrix is its own transpose.
    """
    if not is_matrix(e):
        return e
    got = _TRANSPOSES.get(e)
    if got is None:
        got = _TRANSPOSES[e] = _transpose(e)
        if isinstance(e, sp.MatAdd) and got not in _TRANSPOSES:
            _TRANSPOSES[got] = e  # (Sᵀ)ᵀ is S itself, its terms in its own order
    return got


_TRANSPOSES = table()


def _transpose(e):
    """A sum nested in a sum (a named adjoint) stays one term."""
    if shape_of(e) == (1, 1) and not isinstance(e, sp.MatrixSymbol):
        return e
    if isinstance(e, sp.Transpose):
        return e.arg
    if isinstance(e, sp.MatrixBase):  # an explicit matrix: its entries, transposed
        return sp.ImmutableMatrix(e.T)
    if isinstance(e, sp.MatMul):
        c, core = coefficient(e)
        if isinstance(core, sp.MatMul):
            return mul(c, *[transpose(a) for a in reversed(core.args)])
        return mul(c, transpose(core))
    if isinstance(e, sp.MatAdd):
        terms = [transpose(a) for a in e.args]
        nested = [t for a, t in zip(e.args, terms) if isinstance(a, sp.MatAdd)]
        return add(shape_of(e)[::-1], *terms, keep=nested)
    if isinstance(e, sp.KroneckerProduct):
        return sp.KroneckerProduct(*[transpose(a) for a in e.args])
    if isinstance(e, sp.Inverse):
        return sp.Inverse(transpose(e.arg))
    if isinstance(e, sp.Identity):
        return e
    if isinstance(e, (sp.ZeroMatrix, sp.OneMatrix)):
        return type(e)(e.cols, e.rows)
    if isinstance(e, DiagMatrix) and e.args[0].shape[1] == 1:
        return e
    if isinstance(e, sp.MatPow):
        return sp.MatPow(transpose(e.base), e.exp)
    if isinstance(e, sp.MatrixSymbol):
        return e.T  # a SymmetricMatrix is its own transpose
    if isinstance(e, (Softmax, LogSumExp)) and (e.axis == 1 or isinstance(e.arg, sp.Transpose)):
        return type(e)(transpose(e.arg), 1 - e.axis)  # along the rows of Z = along the columns of Zᵀ
    if isinstance(e, _Normalising) and (e.axis == 1 or isinstance(e.arg, sp.Transpose)):
        return type(e)(transpose(e.arg), 1 - e.axis, e.eps)  # LN_row(X)ᵀ = LN_col(Xᵀ)
    return node(sp.Transpose, e)  # not e.T: SymPy's transpose runs a deep doit


def hadamard(*factors):
    """An entrywise product: ones dropped, scalars pulled out, a ⊙ a^{∘p} merged."""
    scalar_part, powers, shape = sp.S.One, OrderedDict(), shape_of(factors[0])
    for f in factors:
        c, f = coefficient(f)
        scalar_part *= c
        for a in (f.args if isinstance(f, sp.HadamardProduct) else (f,)):
            c, a = coefficient(a)
            scalar_part *= c
            if isinstance(a, sp.ZeroMatrix):
                return a
            if _is_ones(a):
                continue
            base, p = (a.base, a.exp) if isinstance(a, sp.HadamardPower) else (a, sp.S.One)
            powers[base] = powers.get(base, 0) + p
    _logistic(powers)
    out = [b if p == 1 else node(sp.HadamardPower, b, p) for b, p in powers.items() if p != 0]
    if not out:
        core = sp.OneMatrix(*shape)
    elif len(out) == 1:
        core = out[0]
    else:
        core = node(sp.HadamardProduct, *sorted(out, key=sort_key))
    return mul(scalar_part, core)


def _logistic(powers):
    """exp(z) ⊙ (1 + exp(z))^{∘−1} = σ(z): the logistic loss's gradient reads σ(Xw) − y."""
    from .functions import Sigmoid, elementwise, ELEMENT
    for base, p in list(powers.items()):
        if p != -1 or not isinstance(base, sp.MatAdd) or len(base.args) != 2:
            continue
        ones = [a for a in base.args if isinstance(a, sp.OneMatrix)]
        exps = [a for a in base.args if isinstance(a, ElementwiseApplyFunction)
                and a.function.expr == sp.exp(a.function.variables[0])]
        if ones and exps and powers.get(exps[0]) == 1:
            del powers[base], powers[exps[0]]
            powers[elementwise(Sigmoid(ELEMENT), exps[0].expr)] = sp.S.One


def diagonal_of(G):
    """The diagonal of G as a column: diag(a bᵀ) = a ⊙ b, diag(diag(v)) = v."""
    if isinstance(G, DiagMatrix) and G.args[0].cols == 1:
        return G.args[0]
    if isinstance(G, sp.MatAdd):
        return add((G.rows, 1), *[diagonal_of(t) for t in G.args])
    c, core = coefficient(G)
    factors = list(core.args) if isinstance(core, sp.MatMul) else [core]
    for k in range(1, len(factors)):
        if factors[k - 1].cols == 1:
            return mul(c, hadamard(mul(*factors[:k]), transpose(mul(*factors[k:]))))
    from sympy.matrices.expressions.diagonal import DiagonalOf
    return mul(c, DiagonalOf(core))


def scalar(G):
    """The scalar a 1 x 1 matrix stands for (``tr`` of a 1 x 1 is the entry itself)."""
    if not is_matrix(G):
        return G
    c, core = coefficient(G)
    if _is_unit(core):
        return c
    return c * sp.Trace(core)


def as_matrix11(s):
    """A scalar as a 1 x 1 matrix."""
    return mul(s, sp.Identity(1))


# --------------------------------------------------------------------------- textbook factoring

def _split_end(term, side):
    """(coefficient, rest, end factor) of a product, taking the first or last matrix factor."""
    c, core = coefficient(term)
    fs = list(core.args) if isinstance(core, sp.MatMul) else [core]
    if len(fs) < 2:
        return None
    if side == "right":
        return c, fs[:-1], fs[-1]
    return c, fs[1:], fs[0]


def _factor(e):
    """Ax + Bx → (A + B)x and xA + xB → x(A + B), when every term shares the end factor."""
    if not isinstance(e, sp.MatAdd):
        return e
    terms = [textbook(a) for a in e.args]
    nested = [t for a, t in zip(e.args, terms) if isinstance(a, sp.MatAdd)]  # named sums stay whole
    for side in ("right", "left"):
        parts = [_split_end(t, side) for t in terms]
        if all(parts) and len({p[2] for p in parts}) == 1:
            end = parts[0][2]
            inner = [mul(c, *rest) for c, rest, _ in parts]
            shape = (inner[0].rows, inner[0].cols)
            s = _factor(add(shape, *inner))
            return mul(s, end) if side == "right" else mul(end, s)
    out = add(shape_of(e), *terms, keep=nested)
    if isinstance(out, sp.MatAdd) and len(out.args) == len(e.args) and set(out.args) == set(e.args):
        return e  # the same terms: a forward sum such as x + tanh(Wx) stays the node it is in the input
    return out


_MAX_ATOMS = 8


class _TooManyAtoms(Exception):
    pass


def _entrywise_atoms(e, atoms):
    """A sum of entrywise products as a scalar polynomial in its atoms (one symbol per atom).

    Stops (``_TooManyAtoms``) past ``_MAX_ATOMS`` atoms: a deep network's adjoint is a long sum.
    """
    if isinstance(e, sp.MatAdd):
        return sp.Add(*[_entrywise_atoms(a, atoms) for a in e.args])
    if isinstance(e, sp.HadamardProduct):
        return sp.Mul(*[_entrywise_atoms(a, atoms) for a in e.args])
    if isinstance(e, sp.HadamardPower) and e.exp.is_number:
        return _entrywise_atoms(e.base, atoms) ** e.exp
    if _is_ones(e):
        return sp.S.One
    c, core = coefficient(e)
    if c != 1:
        return c * _entrywise_atoms(core, atoms)
    if core not in atoms:
        if len(atoms) == _MAX_ATOMS:
            raise _TooManyAtoms
        atoms[core] = sp.Dummy(f"a{len(atoms)}")
    return atoms[core]


def from_entrywise(poly, atoms, shape):
    """A scalar expression in the atoms' symbols back as an entrywise matrix expression."""
    if poly in atoms:
        return atoms[poly]
    if not poly.free_symbols & set(atoms):
        return mul(poly, sp.OneMatrix(*shape))
    if isinstance(poly, sp.Add):
        return add(shape, *[from_entrywise(a, atoms, shape) for a in poly.args])
    if isinstance(poly, sp.Mul):
        const = sp.Mul(*[a for a in poly.args if not a.free_symbols & set(atoms)])
        varying = sorted((a for a in poly.args if a.free_symbols & set(atoms)),
                         key=lambda a: isinstance(a, sp.Add))
        return mul(const, hadamard(*[from_entrywise(a, atoms, shape) for a in varying]))
    if isinstance(poly, sp.Pow) and poly.exp.is_number:  # (a + b)^{∘½} as well as (a + b)^{∘2}
        return sp.HadamardPower(from_entrywise(poly.base, atoms, shape), poly.exp)
    used = poly.free_symbols & set(atoms)
    if len(used) == 1:
        from .functions import ELEMENT, elementwise
        (s,) = used
        return elementwise(poly.xreplace({s: ELEMENT}), atoms[s])
    raise ValueError(f"{poly} is not an entrywise expression")


def _entrywise_simplify(e):
    """(1 − y) ⊙ σ − y ⊙ (1 − σ) = σ − y: expand a sum of entrywise products when that is shorter."""
    atoms: dict = {}
    try:
        poly = _entrywise_atoms(e, atoms)
    except _TooManyAtoms:
        return e
    expanded = sp.expand(poly)
    if sp.count_ops(expanded) >= sp.count_ops(poly):
        return e
    try:
        return from_entrywise(expanded, {v: k for k, v in atoms.items()}, shape_of(e))
    except ValueError:  # a function of several atoms has no entrywise form here: keep e
        return e


def _cancel(c):
    """A scalar factor with fractions, cancelled when that is shorter: the logistic loss's
    (1 − σ)(y/σ − (1 − y)/(1 − σ))σ is y − σ. Small factors only (``cancel`` is polynomial work)."""
    if not isinstance(c, sp.Expr) or c.is_number or not c.has(sp.Pow):
        return c
    if not any(isinstance(a, sp.Pow) and a.exp.is_negative and a.base.free_symbols
               for a in sp.preorder_traversal(c)):
        return c
    before = sp.count_ops(c)
    if before > 60:
        return c
    # matrix quantities (wᵀx, det A, X[0, 1]) become plain symbols: cancel rewrites what it sees
    quantities = {q: sp.Dummy() for q in c.atoms(sp.Trace, sp.Determinant, MatrixElement)}
    try:
        t = sp.cancel(c.xreplace(quantities)).xreplace({d: q for q, d in quantities.items()})
    except sp.PolynomialError:
        return c
    return t if sp.count_ops(t) < before else c


def textbook(e: Expr) -> Expr:
    """The canonical textbook form of a result: like terms collected, common factors pulled out."""
    if not is_matrix(e):
        return _cancel(e)
    if not isinstance(e, (sp.MatAdd, sp.MatMul)):
        return e
    got = _TEXTBOOK.get(e)
    if got is None:
        got = _TEXTBOOK[e] = _textbook(e)
    return got


_TEXTBOOK = table()


def _textbook(e):
    """Memoised on the node (``textbook``): adjoints nest, so each is put in textbook form once."""
    if isinstance(e, sp.MatAdd):
        out = _entrywise_simplify(e)
        return textbook(out) if not isinstance(out, sp.MatAdd) else _factor(out)
    c, core = coefficient(e)
    args = core.args if isinstance(core, sp.MatMul) else (core,)
    return mul(_cancel(c), *[textbook(a) for a in args])

