"""Shape inference and checks.

SymPy checks products of concrete sizes when they are built, but not symbolic ones: an (n x d)
matrix times an (n x d) matrix passes silently. ``check`` walks an expression once and names the
first sub-expression whose shapes do not fit.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .errors import ShapeError
from .functions import is_matrix


def positive_sizes(sizes):
    """Refuse sizes that are not positive integers: a 0 x n matrix makes every check vacuous."""
    for k, v in dict(sizes or {}).items():
        if isinstance(v, bool) or not float(v).is_integer() or int(v) < 1:
            raise ShapeError(f"the size {k} = {v!r} is not a positive integer")
    return sizes


def shape_str(shape) -> str:
    return f"{shape[0]} x {shape[1]}"


def kind(expr) -> str:
    """'scalar' (a scalar or a 1 x 1 matrix), 'column', 'row' or 'matrix'."""
    if not is_matrix(expr):
        return "scalar"
    rows, cols = expr.shape
    if rows == 1 and cols == 1:
        return "scalar"
    if cols == 1:
        return "column"
    if rows == 1:
        return "row"
    return "matrix"


def _fail(node, what, *parts):
    described = "; ".join(f"{p} has shape {shape_str(p.shape)}" for p in parts)
    raise ShapeError(f"{what} in {node}: {described}")


def _square(node, arg, what):
    if arg.rows != arg.cols:
        raise ShapeError(f"{what} needs a square matrix, but in {node} the argument {arg} "
                         f"has shape {shape_str(arg.shape)}")


def _shape_of(node, known):
    """node's shape from its children's (``known``): SymPy's own ``shape`` recurses to the leaves
    on every call, which costs O(depth) per node on a deep network's gradient."""
    def sh(a):
        return known[a] if a in known else a.shape
    if isinstance(node, sp.MatMul):
        mats = [a for a in node.args if is_matrix(a)]
        return sh(mats[0])[0], sh(mats[-1])[1]
    if isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
        return sh(next(a for a in node.args if is_matrix(a)))
    if isinstance(node, sp.Transpose):
        r, c = sh(node.arg)
        return c, r
    if isinstance(node, (sp.Inverse, sp.MatPow, sp.HadamardPower)):
        return sh(node.args[0])
    if isinstance(node, ElementwiseApplyFunction):
        return sh(node.expr)
    return node.shape


def check(*exprs):
    """Raise ShapeError naming the first sub-expression whose shapes do not fit; return the
    expression (or the tuple of them). Shared sub-expressions are checked once."""
    known: dict = {}  # node -> shape, for the matrix nodes already checked
    seen = set()
    for expr in exprs:
        stack = [(expr, False)]
        while stack:  # post-order, iterative: a deep network's gradient exceeds the recursion limit
            node, done = stack.pop()
            if not done:
                if node in seen or not isinstance(node, sp.Basic):
                    continue
                seen.add(node)
                stack.append((node, True))
                stack.extend((a, False) for a in node.args)
                continue
            _check_node(node, known)
            if is_matrix(node):
                known[node] = _shape_of(node, known)
    return exprs[0] if len(exprs) == 1 else exprs


def _check_node(node, known):
    def shape(a):
        return known[a] if a in known else a.shape

    if isinstance(node, sp.MatMul):
        mats = [a for a in node.args if is_matrix(a)]
        for a, b in zip(mats, mats[1:]):
            if shape(a)[1] != shape(b)[0]:
                _fail(node, "matrix product needs columns of the left factor = rows of the right", a, b)
    elif isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
        mats = [a for a in node.args if is_matrix(a)]
        for b in mats[1:]:
            if shape(b) != shape(mats[0]):
                what = "sum" if isinstance(node, sp.MatAdd) else "entrywise (Hadamard) product"
                _fail(node, f"{what} needs equal shapes", mats[0], b)
    elif isinstance(node, (sp.Inverse, sp.Trace, sp.Determinant)):
        _square(node, node.arg, type(node).__name__.lower())
    elif isinstance(node, sp.MatPow):
        _square(node, node.base, "a matrix power")
