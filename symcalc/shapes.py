"""Shape inference and checks.

SymPy checks products of concrete sizes when they are built, but not symbolic ones: an (n x d)
matrix times an (n x d) matrix passes silently. ``check`` walks an expression once and names the
first sub-expression whose shapes do not fit.
"""
from __future__ import annotations

import sympy as sp

from .errors import ShapeError
from .functions import is_matrix


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


def check(expr):
    """Raise ShapeError naming the first sub-expression whose shapes do not fit; return expr."""
    seen = set()

    def walk(node):
        if node in seen or not isinstance(node, sp.Basic):
            return
        seen.add(node)
        for a in node.args:
            walk(a)
        if isinstance(node, sp.MatMul):
            mats = [a for a in node.args if is_matrix(a)]
            for a, b in zip(mats, mats[1:]):
                if a.cols != b.rows:
                    _fail(node, "matrix product needs columns of the left factor = rows of the right",
                          a, b)
        elif isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
            mats = [a for a in node.args if is_matrix(a)]
            for b in mats[1:]:
                if b.shape != mats[0].shape:
                    what = "sum" if isinstance(node, sp.MatAdd) else "entrywise (Hadamard) product"
                    _fail(node, f"{what} needs equal shapes", mats[0], b)
        elif isinstance(node, (sp.Inverse, sp.Trace, sp.Determinant)):
            _square(node, node.arg, type(node).__name__.lower())
        elif isinstance(node, sp.MatPow):
            _square(node, node.base, "a matrix power")

    walk(expr)
    return expr
