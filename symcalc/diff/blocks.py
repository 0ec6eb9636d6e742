"""Sub-matrices of matrix expressions: what the block-matrix and slice rules pass on.

``submatrix(G, rows, cols)`` is G[r0:r1, c0:c1] pushed into G's structure, so that the share a
block of ``[1; a]`` receives reads as the textbook writes it: rows 1: of Wᵀ δ are W[:, 1:]ᵀ δ,
a block of a block matrix is that block, a slice of a sum is the sum of the slices. What cannot be
pushed further stays a ``MatrixSlice``. ``embed(G, shape, rows, cols)`` is the converse: G placed
in a zero matrix of ``shape`` (the share of the sliced matrix).
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..errors import UnsupportedError


def _same(a, b) -> bool:
    return sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0


def submatrix(G, rows, cols):
    """G[rows[0]:rows[1], cols[0]:cols[1]] (half-open ranges), pushed into G where it can be."""
    (r0, r1), (c0, c1) = rows, cols
    if _same(r0, 0) and _same(c0, 0) and _same(r1, G.rows) and _same(c1, G.cols):
        return G
    if isinstance(G, (sp.ZeroMatrix, sp.OneMatrix)):
        return type(G)(r1 - r0, c1 - c0)
    if isinstance(G, sp.Transpose):
        return sp.Transpose(submatrix(G.arg, cols, rows))
    if isinstance(G, sp.MatAdd):
        return sp.MatAdd(*[submatrix(a, rows, cols) for a in G.args])
    if isinstance(G, sp.HadamardProduct):
        return sp.HadamardProduct(*[submatrix(a, rows, cols) for a in G.args])
    if isinstance(G, ElementwiseApplyFunction):
        return G.func(G.function, submatrix(G.expr, rows, cols))
    if isinstance(G, sp.MatMul):
        coeff, mats = G.as_coeff_matrices()
        if len(mats) == 1:
            return coeff * submatrix(mats[0], rows, cols)
        first = submatrix(mats[0], rows, (0, mats[0].cols))
        last = submatrix(mats[-1], (0, mats[-1].rows), cols)
        return sp.MatMul(coeff, first, *mats[1:-1], last).doit(deep=False)
    if isinstance(G, sp.BlockMatrix):
        block = _aligned_block(G, rows, cols)
        if block is not None:
            return block
    if isinstance(G, sp.MatrixSlice):  # a slice of a slice is one slice of the parent
        (p0, _, ps), (q0, _, qs) = G.rowslice, G.colslice
        if ps == 1 and qs == 1:
            return submatrix(G.parent, (p0 + r0, p0 + r1), (q0 + c0, q0 + c1))
    return sp.MatrixSlice(G, (r0, r1), (c0, c1))


def _aligned_block(B, rows, cols):
    """The block of B spanning exactly ``rows`` x ``cols``, if block boundaries fall there."""
    def find(sizes, lo, hi):
        start = sp.S.Zero
        for k, size in enumerate(sizes):
            if _same(start, lo) and _same(start + size, hi):
                return k
            start += size
        return None
    i = find(B.rowblocksizes, *rows)
    j = find(B.colblocksizes, *cols)
    return None if i is None or j is None else B.blocks[i, j]


def embed(G, shape, rows, cols):
    """The matrix of ``shape`` holding G in rows[0]:rows[1], cols[0]:cols[1], zero elsewhere."""
    (m, n), (r0, r1), (c0, c1) = shape, rows, cols
    row_sizes = [r0, r1 - r0, m - r1]
    col_sizes = [c0, c1 - c0, n - c1]
    grid = []
    for i, rs in enumerate(row_sizes):
        if _same(rs, 0):
            continue
        line = []
        for j, cs in enumerate(col_sizes):
            if _same(cs, 0):
                continue
            line.append(G if (i, j) == (1, 1) else sp.ZeroMatrix(rs, cs))
        grid.append(line)
    if len(grid) == 1 and len(grid[0]) == 1:
        return grid[0][0]
    return sp.BlockMatrix(grid)


def slice_ranges(node):
    """((r0, r1), (c0, c1)) of a MatrixSlice with unit steps; refuses strided slices."""
    (r0, r1, rs), (c0, c1, cs) = node.rowslice, node.colslice
    if rs != 1 or cs != 1:
        raise UnsupportedError(f"the slice {node} has a step ({rs}, {cs}); slices with step 1 are "
                               "differentiated (write every k-th entry as a product with a selection matrix)")
    return (r0, r1), (c0, c1)


def block_ranges(B):
    """{(i, j): ((r0, r1), (c0, c1))} of every block of a BlockMatrix."""
    out, r = {}, sp.S.Zero
    for i, rs in enumerate(B.rowblocksizes):
        c = sp.S.Zero
        for j, cs in enumerate(B.colblocksizes):
            out[(i, j)] = ((r, r + rs), (c, c + cs))
            c += cs
        r += rs
    return out


__all__ = ["block_ranges", "embed", "slice_ranges", "submatrix"]
