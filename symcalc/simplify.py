"""Canonical textbook forms.

The engine builds every expression through the small constructors here (``add``, ``mul``,
``transpose``, ``hadamard``, ``scalar``) instead of SymPy's ``doit``: ``doit`` distributes
products over sums (``2(y − Xθ)`` becomes ``2y − 2Xθ``), while a textbook keeps the factored form.
Each constructor does only the cheap, always-true rewrites (drop identities, collect like terms,
push transposes to the leaves, cancel ``A A⁻¹`` and ``a ⊙ a^{∘−1}``), so expressions stay small and
shared. ``textbook`` adds the final factoring ``Ax + Aᵀx → (A + Aᵀ)x``.
"""
from __future__ import annotations

from collections import OrderedDict

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from .functions import OneHot, is_matrix

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
            core = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
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


def _power_base(m):
    return m.base if isinstance(m, sp.MatPow) else m


def _power_exp(m):
    return m.exp if isinstance(m, sp.MatPow) else sp.S.One


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
    shape = (mats[0].rows, mats[-1].cols)
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
        if out and isinstance(out[-1], DiagMatrix) and isinstance(m, sp.OneMatrix) and m.cols == 1:
            out[-1] = out[-1].args[0]  # diag(a) 1 = a
            continue
        if out and isinstance(m, DiagMatrix) and isinstance(out[-1], sp.OneMatrix) and out[-1].rows == 1 \
                and m.args[0].cols == 1:
            out[-1] = transpose(m.args[0])  # 1ᵀ diag(a) = aᵀ
            continue
        if out and isinstance(out[-1], sp.OneMatrix) and out[-1].rows == 1 and isinstance(m, OneHot) \
                and m.axis == 0:
            out[-1] = sp.OneMatrix(1, m.cols)  # 1ᵀ Y = 1ᵀ for one-hot columns
            continue
        if out and isinstance(out[-1], OneHot) and out[-1].axis == 1 and isinstance(m, sp.OneMatrix) \
                and m.cols == 1:
            out[-1] = sp.OneMatrix(out[-1].rows, 1)  # Y 1 = 1 for one-hot rows
            continue
        out.append(m)
    kept = [m for m in out if not _is_unit(m)]
    if not kept:
        kept = [sp.Identity(shape[0])] if shape[0] == shape[1] else [sp.OneMatrix(*shape)]
    core = kept[0] if len(kept) == 1 else sp.MatMul(*kept)
    if c == 1:
        return core
    if isinstance(core, sp.MatMul):
        return sp.MatMul(c, *core.args)
    return sp.MatMul(c, core)


def add(shape, *terms):
    """A sum with like terms collected (``u + u → 2u``), keeping each term's factored form."""
    collected: OrderedDict = OrderedDict()
    for t in terms:
        parts = t.args if isinstance(t, (sp.MatAdd, sp.Add)) else (t,)
        for p in parts:
            if _is_zero(p):
                continue
            c, core = coefficient(p) if is_matrix(p) else p.as_coeff_Mul()
            collected[core] = collected.get(core, 0) + c
    explicit = [core for core in collected if isinstance(core, sp.MatrixBase)]
    if len(explicit) > 1:  # explicit matrices add up entry by entry: one matrix
        total = sp.ImmutableMatrix(sp.Add(*[collected.pop(core) * core for core in explicit]))
        collected[total] = collected.get(total, 0) + 1
    out = []
    for core, c in collected.items():
        if c == 0:
            continue
        out.append(mul(c, core) if is_matrix(core) else c * core)
    if not out:
        return zero(shape) if shape is not None else sp.S.Zero
    if len(out) == 1:
        return out[0]
    if is_matrix(out[0]):
        return sp.MatAdd(*sorted(out, key=sp.default_sort_key))  # one order: equal sums compare equal
    return sp.Add(*out)


def transpose(e):
    """Push a transpose through products, (AB)ᵀ = BᵀAᵀ, down to the factors.

    Entrywise products and functions keep their transpose outside, ``σ(z)ᵀ``: that keeps the cost of
    a transpose independent of the depth of a network.
    A 1 x 1 matrix is its own transpose.
    """
    if not is_matrix(e):
        return e
    if e.shape == (1, 1) and not isinstance(e, sp.MatrixSymbol):
        return e
    if isinstance(e, sp.Transpose):
        return e.arg
    if isinstance(e, sp.MatMul):
        c, core = coefficient(e)
        if isinstance(core, sp.MatMul):
            return mul(c, *[transpose(a) for a in reversed(core.args)])
        return mul(c, transpose(core))
    if isinstance(e, sp.MatAdd):
        return add((e.cols, e.rows), *[transpose(a) for a in e.args])
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
    return sp.Transpose(e)  # not e.T: SymPy's transpose runs a deep doit


def hadamard(*factors):
    """An entrywise product: ones dropped, scalars pulled out, a ⊙ a^{∘p} merged."""
    scalar_part, powers, shape = sp.S.One, OrderedDict(), factors[0].shape
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
    out = [b if p == 1 else sp.HadamardPower(b, p) for b, p in powers.items() if p != 0]
    if not out:
        core = sp.OneMatrix(*shape)
    elif len(out) == 1:
        core = out[0]
    else:
        core = sp.HadamardProduct(*sorted(out, key=sp.default_sort_key))
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
    for side in ("right", "left"):
        parts = [_split_end(t, side) for t in terms]
        if all(parts) and len({p[2] for p in parts}) == 1:
            end = parts[0][2]
            inner = [mul(c, *rest) for c, rest, _ in parts]
            shape = (inner[0].rows, inner[0].cols)
            s = _factor(add(shape, *inner))
            return mul(s, end) if side == "right" else mul(end, s)
    return add(e.shape, *terms)


def _entrywise_atoms(e, atoms):
    """A sum of entrywise products as a scalar polynomial in its atoms (one symbol per atom)."""
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
    poly = _entrywise_atoms(e, atoms)
    if len(atoms) > 8:
        return e
    expanded = sp.expand(poly)
    if sp.count_ops(expanded) >= sp.count_ops(poly):
        return e
    try:
        return from_entrywise(expanded, {v: k for k, v in atoms.items()}, e.shape)
    except ValueError:  # a function of several atoms has no entrywise form here: keep e
        return e


def textbook(e):
    """The canonical textbook form of a result: like terms collected, common factors pulled out."""
    if not is_matrix(e):
        return e
    if isinstance(e, sp.MatAdd):
        e = _entrywise_simplify(e)
        if not isinstance(e, sp.MatAdd):
            return textbook(e)
        return _factor(e)
    if isinstance(e, sp.MatMul):
        c, core = coefficient(e)
        args = core.args if isinstance(core, sp.MatMul) else (core,)
        return mul(c, *[textbook(a) for a in args])
    return e

