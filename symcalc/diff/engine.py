"""Reverse mode over the expression DAG.

``backward`` visits each distinct sub-expression once, from the output to the inputs, sums the
shares its parents send it into its adjoint (the gradient of the output with respect to it, shaped
like it), and hands that adjoint to the node's rule. Only nodes that depend on a variable are
visited, so constants cost nothing. Shared sub-expressions are one node, so the cost and the size
of the result grow with the DAG, not with the expanded tree (the cheap-gradient principle).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from typing import Sequence

from .. import dag, shapes
from ..assumptions import Assumptions, as_boolean, declared_symmetric
from ..hints import Expr, Variable
from ..errors import SymcalcError, UnsupportedError
from ..functions import SymmetricMatrix, canonical_elementwise, is_matrix
from ..simplify import add, as_matrix11, scalar, textbook, transpose
from .indices import sum_to_matrix
from .rules import lookup

_LEAVES = (sp.Symbol, sp.MatrixSymbol, sp.Identity, sp.ZeroMatrix, sp.OneMatrix, sp.Number,
           sp.NumberSymbol)


def children(node):
    """The sub-expressions a node's rule sends gradient to."""
    if isinstance(node, _LEAVES) or not isinstance(node, sp.Basic):
        return ()
    if isinstance(node, ElementwiseApplyFunction):
        lam = node.function
        return (node.expr,) + tuple(sorted(lam.expr.free_symbols - set(lam.variables), key=str))
    if isinstance(node, MatrixElement):
        return (node.parent,)
    if isinstance(node, sp.Piecewise):
        return tuple(e for e, _ in node.args)
    if isinstance(node, sp.MatrixBase):
        return tuple(node)
    if isinstance(node, sp.BlockMatrix):
        return tuple(node.blocks)
    if isinstance(node, sp.MatrixSlice):
        return (node.parent,)
    if isinstance(node, (sp.MatPow, sp.HadamardPower)):
        return tuple(node.args)
    return tuple(a for a in node.args if isinstance(a, sp.Expr))


def prepare(expr, assumptions=True):
    """Canonical input: one dummy per elementwise function, A^{-k} as (A^{-1})^k, declared symmetry."""
    expr = sp.sympify(expr)

    def rewrite(e):
        if isinstance(e, ElementwiseApplyFunction):
            _scalar_body(e)
            return canonical_elementwise(e)
        if isinstance(e, sp.MatPow) and e.exp.is_Integer:
            k = int(e.exp)
            if k < 0:
                inv = sp.Inverse(e.base)
                return inv if k == -1 else sp.MatPow(inv, -k)
            if k == 1:
                return e.base
            if k == 0:
                return sp.Identity(e.base.rows)
        return e

    expr = dag.replace(expr, lambda e: isinstance(e, (ElementwiseApplyFunction, sp.MatPow)), rewrite)
    expr = dag.replace(expr, lambda e: isinstance(e, sp.Sum), sum_to_matrix)
    expr = dag.replace(expr, _scalar_of_matrix, _as_trace_args)
    expr = orient(share_sums(expr))
    given = as_boolean(assumptions)
    symmetric = {m: SymmetricMatrix(m.name, m.rows) for m in dag.atoms(expr, sp.MatrixSymbol)
                 if not isinstance(m, SymmetricMatrix) and declared_symmetric(m, given)}
    expr = dag.xreplace(expr, symmetric)
    return shapes.check(expr), {v: k for k, v in symmetric.items()}


_ORIENTED = (ElementwiseApplyFunction, sp.MatAdd, sp.HadamardProduct)


def _kind(e):
    return e.function if isinstance(e, ElementwiseApplyFunction) else type(e)


def orient(expr):
    """A sub-expression and its transpose written out are one node: Mᵀ is written Transpose(M),
    in the orientation met first from the right (in rᵀr, that of r itself).

    SymPy pushes a transpose into sums, entrywise products and entrywise functions: in ``r.T*r``
    with r = tanh(tanh(XWᵀ)v) − y, rᵀ is tanh(vᵀ tanh(WXᵀ)) − yᵀ, a second copy of the network
    that shares nothing with r, so that its derivatives would not collect into those of ‖r‖².
    """
    kinds = {(_kind(e), dag.shape(e)) for e in dag.postorder(expr) if isinstance(e, _ORIENTED)}
    pairs = {(k, s) for k, s in kinds if (k, s[::-1]) in kinds}  # the candidates: M and Mᵀ
    if not pairs:
        return expr
    seen: dict = {}  # a node with its sums and entrywise products in one order -> the node kept
    ordered: dict = {}
    flips: dict = {}

    def flipped(e):
        """eᵀ as SymPy writes it, pushed into sums, entrywise products and functions."""
        if e not in flips:
            if isinstance(e, ElementwiseApplyFunction):
                flips[e] = dag.node(type(e), e.function, transpose(e.expr))
            elif isinstance(e, (sp.MatAdd, sp.HadamardProduct)):
                flips[e] = dag.node(type(e), *[flipped(a) for a in e.args])
            else:
                flips[e] = transpose(e)
        return flips[e]

    def one(e):
        if not isinstance(e, _ORIENTED) or (_kind(e), dag.shape(e)) not in pairs:
            return e
        twin = seen.get(dag.sorted_sums(flipped(e), ordered))
        if twin is not None:
            return dag.node(sp.Transpose, twin)
        seen.setdefault(dag.sorted_sums(e, ordered), e)
        return e

    return dag.rebuild(expr, one, children=lambda n: dag._args(n)[::-1])


def share_sums(expr):
    """Sums that contain an earlier sum hold it as one term: x + t₁ + t₂ + t₃ → (x + t₁ + t₂) + t₃.

    SymPy flattens ``a + tanh(W a)``, so the k-th sum of a residual network repeats the k − 1 terms
    of the one before: L²/2 terms in all, and as many in its gradient. Nested, each sum adds one.
    """
    sums: list = []  # (set of terms, node), of the sums rebuilt so far, largest first

    def nest(e):
        if not isinstance(e, sp.MatAdd):
            return e
        terms, args = set(e.args), e.args
        if len(terms) != len(args):
            return e
        inner = next(((seen, node) for seen, node in sums if len(seen) < len(terms) and seen <= terms), None)
        if inner is not None:
            args = (inner[1],) + tuple(a for a in args if a not in inner[0])
        e = dag.node(sp.MatAdd, *args) if args is not e.args else e
        sums.append((terms, e))
        sums.sort(key=lambda s: -len(s[0]))
        return e

    return dag.rebuild(expr, nest)


def _scalar_body(e):
    """An entrywise function's body is a function of one entry and scalar symbols only."""
    lam = e.function
    inside = next((a for a in sp.preorder_traversal(lam.expr)
                   if is_matrix(a) or isinstance(a, _MATRIX_TO_SCALAR)), None)
    if inside is not None:
        raise UnsupportedError(
            f"the entrywise function {lam} contains the matrix quantity {inside}; "
            "an entrywise function's body may hold its entry and scalar symbols only: "
            "write matrix quantities outside it, e.g. tr(X) * Z.applyfunc(f) for Z.applyfunc(t * tr(X))")


_MATRIX_TO_SCALAR = (sp.Trace, sp.Determinant, MatrixElement)


def _scalar_of_matrix(e):
    """A scalar node (exp, log, +, *, ...) with a matrix argument, such as exp(xᵀx)."""
    return (isinstance(e, sp.Expr) and not is_matrix(e) and not isinstance(e, _MATRIX_TO_SCALAR)
            and any(is_matrix(a) for a in e.args))


def _as_trace_args(e):
    """A 1 x 1 matrix inside a scalar function is its entry: exp(xᵀx) = exp(tr(xᵀx))."""
    args = []
    for a in e.args:
        if is_matrix(a):
            if a.shape != (1, 1):
                raise UnsupportedError(
                    f"{e.func} of the {a.rows} x {a.cols} matrix {a}: a scalar function takes a scalar "
                    f"or a 1 x 1 matrix; for an entrywise function use symcalc's elementwise "
                    f"builders (sc.exp(Z), sc.log(Z), ...) or Z.applyfunc(f)")
            a = sp.Trace(a)
        args.append(a)
    return e.func(*args)


@dataclass
class Backward:
    """The result of one reverse sweep."""

    output: sp.Basic
    order: list  # nodes that depend on a variable, from the output to the inputs
    adjoints: dict  # node -> its adjoint (gradient of the output, shaped like the node)
    gradients: dict = field(default_factory=dict)  # variable -> its gradient


def _zero_like(x):
    return sp.ZeroMatrix(*x.shape) if is_matrix(x) else sp.S.Zero


def _conform(share, child):
    """Shares cross between scalars and 1 x 1 matrices where a 1 x 1 matrix is used as a scalar."""
    if is_matrix(child) and not is_matrix(share):
        return as_matrix11(share)
    if not is_matrix(child) and is_matrix(share):
        return scalar(share)
    return share


def backward(expr: Expr, wrts: Sequence[Variable], seed: Expr | None = None,
             assumptions: Assumptions | bool = True) -> Backward:
    """Gradients of ``expr`` with respect to each of ``wrts``.

    For a scalar (or 1 x 1) ``expr`` the seed is 1. For a matrix ``expr`` pass ``seed``, a matrix of
    its shape: the gradients are then the vector–Jacobian products seedᵀJ, linear in the seed.
    """
    wrts = list(wrts)
    expr, restore = prepare(expr, assumptions)
    targets = set(wrts) | {k for k, v in restore.items() if v in wrts}

    depends: dict = {}

    def dep(node):
        if node in depends:
            return depends[node]
        result = node in targets or any(dep(c) for c in children(node))
        depends[node] = result
        return result

    # post-order DFS over distinct nodes, iterative (deep networks exceed Python's recursion limit)
    post, visited, stack = [], set(), [(expr, False)]
    while stack:
        node, done = stack.pop()
        if done:
            post.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for c in children(node):
            if c not in visited:
                stack.append((c, False))
    for node in post:  # children before parents: dep() never recurses deeply
        dep(node)
    order = [n for n in reversed(post) if depends[n]]

    if seed is None:
        if is_matrix(expr) and expr.shape != (1, 1):
            raise SymcalcError(f"{expr} is a {expr.rows} x {expr.cols} matrix: backward needs a seed")
        seed = sp.Identity(1) if is_matrix(expr) else sp.S.One
    shares: dict = {expr: [seed]}
    adjoints: dict = {}
    adjoint_set: set = set()  # the adjoints that are sums: a share that is one stays one term
    for node in order:
        parts = shares.pop(node, [])
        G = add(dag.shape(node) if is_matrix(node) else None, *parts, keep=adjoint_set)
        if isinstance(G, sp.MatAdd):  # (1 − y) ⊙ σ − y ⊙ (1 − σ) = σ − y before it travels on
            G = textbook(G)
        adjoints[node] = G
        if isinstance(G, sp.MatAdd):
            adjoint_set.add(G)
        if node in targets or isinstance(node, _LEAVES):
            continue
        given = lookup(node).contributions(node, G)
        reached = set()
        for child, share in given:
            if dep(child):
                shares.setdefault(child, []).append(_conform(share, child))
                reached.add(child)
        missed = [c for c in children(node) if dep(c) and c not in reached]
        if missed:
            raise UnsupportedError(f"{node} depends on the variable through {missed[0]}, which its rule "
                                   f"({lookup(node).name}) does not differentiate")

    def restore_symbols(e):
        return dag.xreplace(e, restore) if restore and isinstance(e, sp.Basic) else e

    gradients = {}
    for w in wrts:
        key = next((k for k, v in restore.items() if v == w), w)
        g = adjoints.get(key, _zero_like(w))
        gradients[w] = restore_symbols(textbook(g))
    return Backward(expr, order, adjoints, gradients)
