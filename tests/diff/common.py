"""Shared pieces of the engine tests: size symbols, two rectangular size configurations, checks."""
import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardProduct
from sympy.matrices.expressions.matexpr import MatrixElement

from . import oracle

m, n, p, q = sp.symbols("m n p q", integer=True, positive=True)

#: Two rectangular configurations (m != n != p != q): squares hide transposition bugs.
SIZES = {
    "small": {m: 3, n: 2, p: 4, q: 5},
    "other": {m: 2, n: 3, p: 5, q: 4},
}
LAYOUTS = ("denominator", "numerator")

#: Array-expression nodes that must never appear in a result with a matrix form (issue 2).
ARRAY_NODES = ("PermuteDims", "ArrayDiagonal", "ArrayContraction", "ArrayTensorProduct",
               "ArrayAdd", "ArrayElementwiseApplyFunc")


def M(name, rows, cols=1):
    return sp.MatrixSymbol(name, rows, cols)


def array_nodes(expr):
    """Names of array-expression nodes inside expr."""
    if not isinstance(expr, sp.Basic):
        return set()
    return {type(s).__name__ for s in sp.preorder_traversal(expr)
            if type(s).__name__ in ARRAY_NODES}


def has_elements(expr):
    """True if expr was expanded into entries (matrix elements or index sums)."""
    if not isinstance(expr, sp.Basic):
        return False
    return any(isinstance(s, (MatrixElement, sp.Sum)) for s in sp.preorder_traversal(expr))


def _hadamard_sorted(e):
    """The same expression with Hadamard factors in one order (they commute)."""
    if not isinstance(e, sp.Basic) or not e.args:
        return e
    args = [_hadamard_sorted(a) for a in e.args]
    if isinstance(e, HadamardProduct):
        return HadamardProduct(*sorted(args, key=sp.default_sort_key), evaluate=False)
    if isinstance(e, (sp.MatMul, sp.MatAdd)):
        return e.func(*args, evaluate=False)
    return e.func(*args)


def same_form(got, want):
    """got (as diff returned it) equals want in textbook form, up to the order of Hadamard factors."""
    if got == want:
        return True
    from symcalc.simplify import textbook
    # diff returns textbook form itself: the result is compared as returned
    a, b = _hadamard_sorted(got), _hadamard_sorted(textbook(want))
    return sp.srepr(a) == sp.srepr(b)


def assert_derivative(result, expr, wrt, *, layout, sizes, vec=False, domains=None, seed=0):
    """Numerically right at the sizes, no array nodes, not expanded into entries."""
    assert not array_nodes(result), f"array nodes {array_nodes(result)} in {result}"
    symbolic = any(not sp.sympify(k).is_Integer for k in getattr(wrt, "shape", ()))
    if symbolic and not has_elements(expr):
        assert not has_elements(result), f"result expanded into entries: {result}"
    return oracle.check(result, expr, wrt, layout=layout, vec=vec, sizes=sizes, seed=seed,
                        domains=domains)
