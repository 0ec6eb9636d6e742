"""Walks over an expression as a DAG: each distinct sub-expression is visited once.

SymPy's ``atoms``, ``has``, ``replace``, ``xreplace``, ``subs`` and ``preorder_traversal`` walk
the expression *tree*: a sub-expression shared by two parents is visited once per path, so a
residual network of depth L costs 2^L. Every pass of symcalc that looks at a whole expression goes
through the functions here instead: one post-order list of the distinct nodes, and rebuilds
memoised on the node. ``VISITS`` counts the nodes they visit (a test pins that the count grows
with the DAG, not the tree).
"""
from __future__ import annotations

import hashlib
import weakref

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

#: Nodes visited by the walks of this module since the start (read it as a difference).
VISITS = [0]


class _Memo(dict):
    """A table keyed by node that forgets everything when it grows past ``limit`` entries
    (scalar nodes cannot be weakly referenced)."""

    limit = 200_000

    def __setitem__(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        super().__setitem__(key, value)


_TABLES: list = []


def table():
    """A new memo table keyed by node, forgotten by ``clear()``: SymPy's own cache (``cacheit``)
    keeps 1000 entries, fewer than a deep network's gradient has nodes, and evicts them mid-call."""
    t = _Memo()
    _TABLES.append(t)
    return t


_NODES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


#: Built without SymPy's shape validation, which asks every argument for its shape, and SymPy
#: computes a shape by walking down to the leaves. Callers have checked the shapes already.
_UNCHECKED = (sp.MatAdd, sp.MatMul, sp.HadamardProduct)


def node(cls, *args):
    """``cls(*args)``, one object per distinct node (hash-consing).

    Equal expressions built twice are then the same object: comparing them, sorting them and
    looking them up in a dict stay shallow, where SymPy's ``==`` recurses through both copies
    (on a residual network, once per path).
    """
    key = (cls, args)
    try:
        out = _NODES.get(key)
    except TypeError:  # an unhashable argument
        return cls(*args)
    if out is None:
        out = sp.Basic.__new__(cls, *args) if cls in _UNCHECKED else cls(*args)
        try:
            _NODES[key] = out
        except TypeError:  # scalar nodes cannot be weakly referenced (SymPy caches those itself)
            pass
    return out


_SHAPES = table()


def _shape_args(e):
    """The arguments a node's shape is read from (SymPy asks them again on every call)."""
    if isinstance(e, sp.MatMul):
        mats = [a for a in e.args if getattr(a, "is_Matrix", False)]
        return (mats[0], mats[-1])
    if isinstance(e, (sp.MatAdd, sp.HadamardProduct)):
        return (next(a for a in e.args if getattr(a, "is_Matrix", False)),)
    if isinstance(e, (sp.Transpose, sp.Inverse, sp.MatPow, sp.HadamardPower)):
        return (e.args[0],)
    if isinstance(e, ElementwiseApplyFunction):
        return (e.expr,)
    return ()


def _shape_children(e):
    return () if e in _SHAPES else _shape_args(e)


def _local_shape(e):
    kids = _shape_args(e)
    if isinstance(e, sp.MatMul):
        return _SHAPES[kids[0]][0], _SHAPES[kids[1]][1]
    if not kids:
        return e.shape
    r, c = _SHAPES[kids[0]]
    return (c, r) if isinstance(e, sp.Transpose) else (r, c)


def shape(e):
    """``e.shape``, memoised on the node: SymPy's walks down to the leaves on every call, which
    costs O(depth) each time on a deep network's gradient."""
    got = _SHAPES.get(e)
    if got is None:
        for n in postorder(e, children=_shape_children):
            if n not in _SHAPES:
                _SHAPES[n] = _local_shape(n)
        got = _SHAPES[e]
    return got


_SMALL = 48  # tree size up to which SymPy's own sort key is cheap enough
_SIZES, _PRINTS = table(), table()


def _memo(table, e, compute):
    """``compute(node)`` for ``e``, memoised in ``table``; computed for the nodes below first."""
    got = table.get(e)
    if got is not None:
        return got
    for n in postorder(e, children=lambda n: () if n in table else _args(n)):
        if n not in table:
            table[n] = compute(n)
    return table[e]


def _tree_size(e):
    return _memo(_SIZES, e, lambda n: min(_SMALL + 1, 1 + sum(_SIZES[a] for a in _args(n))))


_LEAVES = (sp.Symbol, sp.MatrixSymbol, sp.Identity, sp.ZeroMatrix, sp.OneMatrix, sp.Number, sp.NumberSymbol)
_LEAF_COUNTS = table()
_LEAF_CAP = 10_000


def leaf_count(e):
    """Occurrences of symbols and numbers in the tree of ``e`` (capped at 10 000), memoised on
    the node: each prints at least one character, so a cheap lower bound for a printed length."""
    def compute(n):
        if isinstance(n, _LEAVES):
            return 1
        return min(_LEAF_CAP, sum(_LEAF_COUNTS[a] if _args(a) and not isinstance(a, _LEAVES)
                                  else int(isinstance(a, _LEAVES)) for a in _args(n)))
    if isinstance(e, _LEAVES) or not _args(e):
        return int(isinstance(e, _LEAVES))
    return _memo(_LEAF_COUNTS, e, compute)


def _fingerprint(e):
    def compute(n):
        args = _args(n)
        text = type(n).__name__ + ("(" + ",".join(_PRINTS[a] for a in args) + ")" if args else ":" + str(n))
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    return _memo(_PRINTS, e, compute)


def sort_key(e):
    """A canonical order of terms: SymPy's ``default_sort_key`` for small expressions, and for large
    ones (after them) a structural fingerprint, memoised on the node. SymPy's key asks every
    sub-expression of a sum whether it is a number, walking the tree on each call."""
    if not isinstance(e, sp.Basic) or _tree_size(e) <= _SMALL:
        return (0, sp.default_sort_key(e))
    return (1, _fingerprint(e))


def clear():
    """Forget the memo tables (shapes, sizes, sort keys, transposes, textbook forms); interned
    nodes go when unused."""
    for t in _TABLES:
        t.clear()


def _args(node):
    return node.args if isinstance(node, sp.Basic) else ()


def postorder(*roots, children=_args):
    """The distinct nodes under ``roots``, each once, children before their parents.

    Iterative: a deep network's expression is deeper than Python's recursion limit.
    """
    seen, out = set(), []
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        node, done = stack.pop()
        if done:
            out.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(children(node)) if c not in seen)
    VISITS[0] += len(out)
    return out


def atoms(expr, *types):
    """The distinct sub-expressions of ``expr`` that are instances of ``types`` (all leaves when
    none are given), as ``Basic.atoms`` gives them."""
    if types:
        return {n for n in postorder(expr) if isinstance(n, types)}
    return {n for n in postorder(expr) if isinstance(n, sp.Basic) and not n.args}


def has(expr, *patterns):
    """Whether ``expr`` contains any of ``patterns`` (sub-expressions, or classes)."""
    types = tuple(p for p in patterns if isinstance(p, type))
    exprs = {p for p in patterns if not isinstance(p, type)}
    return any((types and isinstance(n, types)) or n in exprs for n in postorder(expr))


def free_symbols(expr):
    """The free symbols of ``expr`` (matrix symbols included), collected over distinct nodes."""
    out = set()
    for n in postorder(expr):
        if isinstance(n, (sp.Symbol, sp.MatrixSymbol)):
            out.add(n)
    return out


def rebuild(expr, fn, children=_args):
    """``expr`` with every node replaced, bottom-up, by ``fn(node)``, where ``node`` is already
    rebuilt from its rebuilt arguments; ``fn`` returns its argument to leave a node as it is.

    This is ``Basic.replace(query, value)`` with ``fn = lambda e: value(e) if query(e) else e``,
    memoised on the node, so that a shared sub-expression is rebuilt once. ``children`` gives the
    order in which siblings are visited (all of a node's arguments, in some order).
    """
    done: dict = {}
    for node in postorder(expr, children=children):
        if not isinstance(node, sp.Basic):
            done[node] = node
            continue
        args = node.args
        new = node
        if args:
            new_args = tuple(done[a] for a in args)
            if any(n is not a for n, a in zip(new_args, args)):
                new = _rebuilt(node, new_args)
        out = fn(new)
        done[node] = new if out is None else out
    return done[expr]


def _rebuilt(old, args):
    """``old`` with new arguments, one object per distinct result (see ``node``)."""
    return node(old.func, *args)


def sorted_sums(expr, memo):
    """``expr`` with the terms of every sum and entrywise product in the order of ``sort_key``:
    equal up to the order of terms is then equal. ``memo`` (a dict kept by the caller) makes
    calls on a shared DAG linear."""
    for n in postorder(expr, children=lambda n: () if n in memo else _args(n)):
        if n in memo:
            continue
        args = tuple(memo.get(a, a) for a in _args(n))
        if isinstance(n, (sp.MatAdd, sp.HadamardProduct)):
            args = tuple(sorted(args, key=sort_key))
        memo[n] = n if all(a is b for a, b in zip(args, n.args)) else node(n.func, *args)
    return memo.get(expr, expr)


def replace(expr, query, value):
    """``expr.replace(query, value)`` for callables, over distinct nodes."""
    def fn(e):
        if query(e):
            v = value(e)
            if v is not None:
                return v
        return e
    return rebuild(expr, fn)


def xreplace(expr, rule):
    """``expr.xreplace(rule)`` over distinct nodes: a node found in ``rule`` is replaced whole."""
    if not rule or not isinstance(expr, sp.Basic):
        return rule.get(expr, expr) if rule else expr
    done: dict = {}

    def children(node):
        return () if node in rule else _args(node)

    for node in postorder(expr, children=children):
        if node in rule:
            done[node] = sp.sympify(rule[node])  # {eps: 0}: a Python 0 would enter a MatMul as it is
            continue
        if not isinstance(node, sp.Basic) or not node.args:
            done[node] = node
            continue
        new_args = tuple(done[a] for a in node.args)
        changed = any(n is not a for n, a in zip(new_args, node.args))
        done[node] = _rebuilt(node, new_args) if changed else node
    return done[expr]


def count(expr):
    """The number of distinct sub-expressions: the size of an expression as a DAG."""
    return len(postorder(expr))
