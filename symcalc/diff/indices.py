"""Index sums back to matrix form.

SymPy evaluates ``(rᵀr)[0, 0]`` to ``Sum(r[i, 0]**2, (i, 0, n - 1))``, and then differentiates it to
0. A sum over whole index ranges of a product of matrix entries is a network of matrix products:
each entry M[a, b] is an edge between its two indices, and

* an index on two edges joins them, Σᵢ Aₖᵢ Bᵢₗ = (AB)ₖₗ, or closes a cycle, Σᵢ Aᵢᵢ = tr A;
* an index on one edge is summed by a vector of ones, Σᵢ Aᵢₗ = (1ᵀA)₀ₗ; on none, Σᵢ c = N c;
* an index on more edges (Σᵢ xᵢ⁴, Σᵢ Aᵢᵢ xᵢ yᵢ) first merges the edges that join the same two
  indices into one entry of a Hadamard product, xᵢ⁴ = (x^{∘4})ᵢ, then makes its vectors and
  diagonals a weight w (a product passes it as diag(w), a sum as wᵀ); with more than two edges
  left there is no matrix form;
* a factor that is a function of one entry is an entry of an entrywise function, exp(xᵢ) = (exp∘x)ᵢ.

A range that is not a whole dimension (Σ_{i=0}^{n−2}, an index over m in a matrix of n rows) has
no matrix form: at concrete sizes the sum is written out term by term (at most
``limits.MAX_SUM_TERMS``), otherwise it is refused. Never the whole range's answer for a part of it.
"""
from __future__ import annotations

from collections import Counter

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import limits
from ..errors import ShapeError, UnsupportedError
from ..functions import ELEMENT, elementwise
from ..simplify import add, hadamard, mul, transpose

#: The exponent of an entry that only a Hadamard power can carry (x_i^{1/2}, x_i^{-1}).
_HADAMARD_ONLY = 3


def sum_to_matrix(s: sp.Sum):
    """The matrix form of a Sum of products of entries (a scalar: traces and entries of products),
    or, at concrete sizes where there is none, the sum written out."""
    try:
        return _matrix_form(s)
    except UnsupportedError:
        if _outer_bound(s):
            return s  # its range depends on an enclosing sum's index: that sum writes it out
        if not _concrete(s):
            raise
        return _written_out(s)


def _concrete(s):
    bound = {lim[0] for lim in s.limits}
    return all(not (sp.sympify(b).free_symbols - bound) for lim in s.limits for b in lim[1:])


def _outer_bound(s):
    """Whether the limits use symbols that are neither sizes nor its own indices (an outer index)."""
    bound = {lim[0] for lim in s.limits}
    free = {x for lim in s.limits for b in lim[1:] for x in sp.sympify(b).free_symbols} - bound
    return any(not (x.is_integer and x.is_positive) for x in free)


# --------------------------------------------------------------------------- matrix form

def _matrix_form(s):
    function = s.function
    if function.has(sp.Sum):
        function = function.replace(lambda e: isinstance(e, sp.Sum), sum_to_matrix)
    ranges = {}
    for lim in s.limits:
        if len(lim) != 3:
            raise UnsupportedError(f"{s}: an index sum needs limits (i, 0, size - 1)")
        i, lo, hi = lim
        if lo != 0 or (sp.sympify(hi).free_symbols & set(ranges)):
            raise UnsupportedError(f"{s}: the sum over {i} runs over {lo}..{hi}, not over a whole "
                                   "index range 0..size-1, so it has no matrix form; use concrete sizes")
        ranges[i] = hi + 1
    if isinstance(function, sp.Add):  # Σ (a + b) = Σ a + Σ b
        return sp.Add(*[_product_form(t, ranges, s) for t in function.args])
    return _product_form(function, ranges, s)


def _product_form(summand, ranges, s):
    summed = set(ranges)
    coeff, edges = _factors(summand, summed, s)
    _check_ranges(edges, ranges, s)
    for i in summed - {k for _, a, b, _ in edges for k in (a, b)}:
        coeff *= ranges[i]  # an index the summand does not use: Σᵢ c = N c
    for i in sorted(summed, key=str):
        if _degree(edges, i) > 2:
            edges = _merge_pairs(edges, i)
    weights = {}
    for i in sorted(summed, key=str):
        if _degree(edges, i) > 2:
            edges, weights[i] = _weights(edges, i, s)
    return coeff * _chains(edges, summed, weights, ranges)


def _factors(summand, summed, s):
    """(scalar coefficient, [(matrix, row index, column index, exponent)]) of a product of entries."""
    coeff, edges = sp.S.One, []
    for f in sp.Mul.make_args(summand):
        if not (f.free_symbols & summed):
            coeff *= f
            continue
        base, power = f.as_base_exp()
        entry = _as_entry(base)
        if isinstance(entry, MatrixElement) and not (power.free_symbols & summed) \
                and not (entry.parent.free_symbols & summed):
            if power.is_Integer and power > 0:
                edges += [(entry.parent, entry.i, entry.j, sp.S.One)] * int(power)
            else:
                edges.append((entry.parent, entry.i, entry.j, power))
            continue
        edges.append(_function_of_entry(f, summed, s))
    for M, a, b, _ in edges:
        for k in (a, b):
            if k not in summed and sp.sympify(k).free_symbols & summed:
                raise UnsupportedError(f"{s}: the index {k} of {M} is not a summed index itself; "
                                       "only entries M[i, j] of summed indices have a matrix form")
    return coeff, edges


def _function_of_entry(f, summed, s):
    """f(M[a, b]) as the entry (f∘M)[a, b], when f uses one entry of summed indices."""
    entries = {e for e in sp.preorder_traversal(f) if isinstance(e, MatrixElement)
               and e.free_symbols & summed}
    if len(entries) == 1:
        (entry,) = entries
        body = f.xreplace({entry: ELEMENT})
        if not (body.free_symbols & summed) and not (entry.parent.free_symbols & summed):
            return (elementwise(body, entry.parent), entry.i, entry.j, sp.S.One)
    raise UnsupportedError(f"the index sum term {f} is not a product of matrix entries; write the "
                           "expression in matrix form (Σᵢ f(xᵢ) is sc.sum(f(x)) with an entrywise f)")


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
    shapes = {tuple(r.parent.shape) for _, r in terms}
    if len(positions) != 1 or len(shapes) != 1:
        return e
    (i, j), parent = positions.pop(), terms[0][1].parent
    return MatrixElement(add(parent.shape, *[mul(c, r.parent) for c, r in terms]), i, j)


def _check_ranges(edges, ranges, s):
    """Each summed index must run over the whole dimension it indexes."""
    for M, a, b, _ in edges:
        for k, size, what in ((a, M.rows, "rows"), (b, M.cols, "columns")):
            if k in ranges and sp.expand(sp.sympify(size) - ranges[k]) != 0:
                raise UnsupportedError(
                    f"{s}: {k} runs over 0..{ranges[k] - 1}, but it indexes the {size} {what} of {M}; "
                    "a sum over part of a dimension has no matrix form; use concrete sizes")


def _degree(edges, i):
    """Slots of index i over the edges (an entry with a non-integer power counts as many)."""
    return sum(((a == i) + (b == i)) * (1 if p == 1 else _HADAMARD_ONLY) for _, a, b, p in edges)


def _power(M, p):
    return M if p == 1 else sp.HadamardPower(M, p)


def _merge_pairs(edges, i):
    """Edges at i that join the same two indices (same shape) become one: xᵢ yᵢ = (x ⊙ y)ᵢ."""
    groups, rest = {}, []
    for M, a, b, p in edges:
        if i not in (a, b):
            rest.append((M, a, b, p))
            continue
        if (b, a, M.cols, M.rows) in groups and a != b:
            M, a, b = transpose(M), b, a
        groups.setdefault((a, b, M.rows, M.cols), []).append(_power(M, p))
    merged = [(hadamard(*Ms), a, b, sp.S.One) for (a, b, _, _), Ms in groups.items()]
    return rest + merged


def _weights(edges, i, s):
    """Diagonals (Aᵢᵢ) and vector entries (xᵢ) at i as one weight w, wᵢ = Aᵢᵢ xᵢ."""
    weights, rest = [], []
    for M, a, b, p in edges:
        if a == i and b == i:
            weights.append(_power(mul(hadamard(M, sp.Identity(M.rows)), sp.OneMatrix(M.rows, 1)), p))
        elif a == i and M.cols == 1:
            weights.append(_power(M, p))
        elif b == i and M.rows == 1:
            weights.append(_power(transpose(M), p))
        else:
            rest.append((M, a, b, p))
    if _degree(rest, i) > 2:
        raise UnsupportedError(f"{s}: the index {i} joins more than two matrices; no matrix form")
    return rest, hadamard(*weights)


def _chains(edges, summed, weights, ranges):
    """The product of the chains and cycles the edges form."""
    degree = Counter()
    for _, a, b, _ in edges:
        degree[a] += 1
        degree[b] += 1

    def terminal(k):
        return k not in summed or degree[k] == 1

    result = sp.S.One
    remaining = list(edges)
    while remaining:
        k = next((k for k, (_, a, b, _) in enumerate(remaining) if terminal(a) or terminal(b)), 0)
        M, first, end, _ = remaining.pop(k)
        if not terminal(first) and terminal(end):
            M, first, end = transpose(M), end, first
        chain = [M]
        while end in summed and degree[end] == 2:
            k = next((k for k, (_, r, c, _) in enumerate(remaining) if end in (r, c)), None)
            if k is None:
                break  # back at the start of a cycle
            N, r, c, _ = remaining.pop(k)
            if r != end:
                N, r, c = transpose(N), c, r
            if end in weights:
                chain.append(sp.DiagMatrix(weights[end]))
            chain.append(N)
            end = c
        if first in summed and end == first and degree[first] == 2:  # a cycle: a trace
            if first in weights:
                chain.append(sp.DiagMatrix(weights[first]))
            result *= sp.Trace(mul(*chain))
            continue
        row, col = first, end
        if first in summed:  # summed on one edge only: by ones, or by its weight
            chain.insert(0, transpose(weights[first]) if first in weights
                         else sp.OneMatrix(1, chain[0].rows))
            row = 0
        if end in summed:
            chain.append(weights[end] if end in weights else sp.OneMatrix(chain[-1].cols, 1))
            col = 0
        product = mul(*chain)
        result *= sp.Trace(product) if product.shape == (1, 1) else MatrixElement(product, row, col)
    for i in sorted(summed - set(degree), key=str):
        if i in weights:  # an index with a weight only: Σᵢ wᵢ = 1ᵀw
            result *= sp.Trace(mul(sp.OneMatrix(1, ranges[i]), weights[i]))
    return result


# --------------------------------------------------------------------------- written out

def _written_out(s):
    """The sum term by term, at concrete limits (SymPy's convention for a reversed range)."""
    count = [0]

    def over(k, values):
        if k < 0:
            count[0] += 1
            if count[0] > limits.MAX_SUM_TERMS:
                limits.refuse(f"the index sum {s}", "MAX_SUM_TERMS", limits.MAX_SUM_TERMS,
                              "write it in matrix form, or use smaller sizes")
            try:
                term = s.function.xreplace(values)
            except IndexError as err:
                raise ShapeError(f"{s}: an index runs outside its matrix at {values} ({err})") from None
            return term.replace(lambda e: isinstance(e, sp.Sum), sum_to_matrix) if term.has(sp.Sum) \
                else term
        i, lo, hi = s.limits[k]
        a, b = (int(sp.sympify(x).xreplace(values)) for x in (lo, hi))
        sign, (a, b) = (1, (a, b)) if b >= a else (-1, (b + 1, a - 1))
        return sign * sp.Add(*[over(k - 1, {**values, i: sp.Integer(v)}) for v in range(a, b + 1)])

    return over(len(s.limits) - 1, {})
