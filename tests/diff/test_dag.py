"""Cost grows with the DAG, not the tree: a residual network x + tanh(W x) of depth L is a DAG of
O(L) nodes whose tree has 2^L paths. Counted, not timed: the nodes the engine's walks visit and
the rules it applies at depth 8 and 16 (a tree walk would grow 256-fold)."""
import importlib

import sympy as sp

import symcalc as sc
from symcalc import dag
from symcalc.diff import rules

from . import oracle

engine = importlib.import_module("symcalc.diff.engine")  # symcalc.diff is also a function
n = sp.Symbol("n", integer=True, positive=True)


def residual(L, tag):
    """L layers a ← a + tanh(W a), squared loss; fresh symbols per call (no shared caches)."""
    x, y = sp.MatrixSymbol(f"x{tag}", n, 1), sp.MatrixSymbol(f"y{tag}", n, 1)
    Ws = [sp.MatrixSymbol(f"W{tag}_{k}", n, n) for k in range(1, L + 1)]
    a = x
    for W in Ws:
        a = a + sc.tanh(W * a)
    return sc.norm2(a - y), Ws


def counted(L, tag, monkeypatch, loss=None):
    """(node visits, rule applications, result) of one sc.diff by the first weight matrix."""
    expr, Ws = residual(L, tag)
    applied = [0]
    real = rules.lookup

    def lookup(node):
        applied[0] += 1
        return real(node)

    monkeypatch.setattr(engine, "lookup", lookup)
    before = dag.VISITS[0]
    g = sc.diff(loss(expr) if loss else expr, Ws[0])
    return dag.VISITS[0] - before, applied[0], g


def test_visits_and_rule_applications_grow_with_depth_not_paths(monkeypatch):
    v8, r8, g8 = counted(8, "a", monkeypatch)
    v16, r16, g16 = counted(16, "b", monkeypatch)
    assert 0 < v16 <= 2 * v8, (v8, v16)
    assert 0 < r16 <= 2 * r8, (r8, r16)
    assert dag.count(g16) <= 2 * dag.count(g8), (dag.count(g8), dag.count(g16))


def test_transposed_square_is_linear_too(monkeypatch):
    """r.T * r pushes the transpose through the whole network in SymPy; the walks still see a DAG."""
    v8, _, _ = counted(8, "c", monkeypatch, loss=lambda e: (e.arg.T * e.arg))
    v16, _, _ = counted(16, "d", monkeypatch, loss=lambda e: (e.arg.T * e.arg))
    assert 0 < v16 <= 2 * v8, (v8, v16)


def test_deep_residual_gradient_is_right():
    expr, Ws = residual(6, "e")
    g = sc.diff(expr, Ws[0])
    oracle.check(g, expr, Ws[0], layout="denominator", sizes={n: 3})


def test_memoised_walks_agree_with_sympy():
    X, Y = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("Y", n, n)
    e = sc.tanh(X * Y) + X.T * sc.tanh(X * Y) + sp.Trace(X) * Y
    assert dag.atoms(e, sp.MatrixSymbol) == e.atoms(sp.MatrixSymbol)
    assert dag.has(e, sp.Trace) and dag.has(e, X.T) and not dag.has(e, Y.T)
    assert dag.xreplace(e, {X: Y}) == e.xreplace({X: Y})
    assert dag.replace(e, lambda a: isinstance(a, sp.Transpose), lambda a: a.arg) == \
        e.replace(lambda a: isinstance(a, sp.Transpose), lambda a: a.arg)
    assert dag.shape(X * Y.T * X) == (n, n) and dag.shape((X * Y).T) == (n, n)
    assert dag.count(e) == len(set(sp.preorder_traversal(e)))
