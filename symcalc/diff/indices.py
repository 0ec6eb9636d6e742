"""Index sums back to matrix form.

SymPy evaluates ``(rᵀr)[0, 0]`` to ``Sum(r[i, 0]**2, (i, 0, n - 1))``, and then differentiates it to
0. A sum over full index ranges of a product of matrix entries is a chain of matrix products:
each summed index joins two factors, so walking the chain from a fixed index to a fixed index (or
round a cycle, a trace) gives the product back: Σᵢ rᵢ rᵢ = rᵀr, Σᵢⱼ xᵢ Aᵢⱼ xⱼ = xᵀAx, Σᵢ Aᵢᵢ = tr A.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from ..errors import UnsupportedError
from ..simplify import add, mul, transpose


def _factors(summand, summed):
    """(scalar coefficient, [(matrix, row index, column index)]) of a product of entries."""
    coeff, entries = sp.S.One, []
    for f in sp.Mul.make_args(summand):
        base, power = f.as_base_exp()
        if not (f.free_symbols & summed):
            coeff *= f
            continue
        base = _as_entry(base)
        if not (isinstance(base, MatrixElement) and power.is_Integer and power > 0):
            raise UnsupportedError(f"the index sum term {f} is not a product of matrix entries; "
                                   "write the expression in matrix form (Σᵢ f(xᵢ) is sc.sum(f(x)) with an entrywise f)")
        entries += [(base.parent, base.i, base.j)] * int(power)
    return coeff, entries


def _as_entry(e):
    """Σₖ cₖ Mₖ[i, j] = (Σₖ cₖ Mₖ)[i, j]: an entry of a linear combination is one entry."""
    if not isinstance(e, sp.Add):
        return e
    terms = []
    for t in e.args:
        c, rest = t.as_coeff_Mul()
        if not isinstance(rest, MatrixElement):
            return e
        terms.append((c, rest))
    positions = {(r.i, r.j) for _, r in terms}
    if len(positions) != 1:
        return e
    (i, j), parent = positions.pop(), terms[0][1].parent
    return MatrixElement(add(parent.shape, *[mul(c, r.parent) for c, r in terms]), i, j)


def sum_to_matrix(s: sp.Sum):
    """The matrix form of a Sum of products of entries: a scalar (traces of products)."""
    summed = set()
    for i, lo, hi in s.limits:
        if lo != 0:
            raise UnsupportedError(f"{s}: only sums over a whole index range 0..size-1 have a matrix form")
        summed.add(i)
    coeff, entries = _factors(s.function, summed)
    result = coeff
    while entries:
        start = next((k for k, (_, a, b) in enumerate(entries) if a not in summed or b not in summed), 0)
        M, a, b = entries.pop(start)
        if a in summed and b not in summed:
            M, a, b = transpose(M), b, a
        chain, first, end = [M], a, b
        while end in summed:
            k = next((k for k, (_, r, c) in enumerate(entries) if end in (r, c)), None)
            if k is None:
                if end == first:
                    break
                raise UnsupportedError(f"{s}: the index {end} appears once; no matrix form")
            N, r, c = entries.pop(k)
            if r != end:
                N, r, c = transpose(N), c, r
            chain.append(N)
            end = c
            if end == first and first in summed:
                break
        product = mul(*chain)
        if first in summed:  # a cycle
            result *= sp.Trace(product)
        elif product.shape == (1, 1):
            result *= sp.Trace(product)
        else:
            result *= MatrixElement(product, first, end)
    return result
