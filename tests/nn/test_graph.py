"""The CMU lecture's scalar computation graphs: forward table, backward table, values at a point."""
import math

import pytest
import sympy as sp

from symcalc.errors import ParseError, UnsupportedError
from symcalc.nn.graph import ComputationGraph, computation_graph

from . import graph_functions as G

x, z = sp.symbols("x z", real=True)


def test_lecture_forward_and_backward_tables():
    g = ComputationGraph.from_function(G.J_named)
    t, u1, u2, u = sp.symbols("t u1 u2 u", real=True)
    J = sp.Symbol("J_named", real=True)
    assert g.forward_table() == [(t, x**2), (u1, sp.sin(t)), (u2, 3 * t), (u, u1 + u2), (J, sp.cos(u))]
    rows = [(r.target, r.source, r.local) for r in g.backward_table()]
    assert rows == [(u, J, -sp.sin(u)), (u1, u, 1), (u2, u, 1), (t, u2, 3), (t, u1, sp.cos(t)),
                    (x, t, 2 * x)]


def test_one_line_function_shares_x_squared():
    g = ComputationGraph.from_function(G.J)
    ops = [op for _, op in g.forward_table()]
    assert sum(1 for op in ops if op == x**2) == 1          # x² is one node, used twice
    assert len(ops) == 5
    v = g.values(x=2)
    J = math.cos(math.sin(4) + 12)
    assert float(v["forward"][g.output]) == pytest.approx(J, rel=1e-12)
    dJ = -math.sin(math.sin(4) + 12) * (math.cos(4) * 4 + 12)
    assert float(v["adjoint"][x]) == pytest.approx(dJ, rel=1e-12)      # 9.099149
    assert float(v["adjoint"][x]) == pytest.approx(9.099149, abs=5e-7)
    assert sp.expand(g.gradient()[x] - sp.diff(sp.cos(sp.sin(x**2) + 3 * x**2), x)) == 0


def test_quiz_dy_dx_dy_dz_at_2_3():
    g = ComputationGraph.from_function(G.y)
    v = g.values(x=2, z=3)
    assert float(v["adjoint"][x]) == pytest.approx(1208.381215, abs=5e-6)   # rounds to 1208
    assert float(v["adjoint"][z]) == pytest.approx(809.707479, abs=5e-6)    # rounds to 810
    expr = sp.exp(x * z) + x * z / sp.log(x) + sp.sin(sp.log(x)) / (x * z)
    for w in (x, z):
        exact = sp.diff(expr, w).subs({x: 2, z: 3})
        assert float(v["adjoint"][w]) == pytest.approx(float(exact), rel=1e-12)
        assert sp.simplify(g.gradient()[w] - sp.diff(expr, w)) == 0
    assert sum(1 for _, op in g.forward_table() if op == x * z) == 1        # xz computed once
    assert sum(1 for _, op in g.forward_table() if op == sp.log(x)) == 1


def test_latex_has_latexify_definition_and_both_tables():
    pytest.importorskip("latexify")  # installed where it can be (Python < 3.14)
    g = ComputationGraph.from_function(G.y)
    tex = g.latex(point={"x": 2, "z": 3})
    assert r"\frac{x z}{\log x}" in tex                       # latexify-py's definition line
    assert r"\mathrel{+}=" in tex and r"\partial" in tex
    assert "1208.38" in tex and "809.708" in tex
    assert tex.count(r"\begin{align*}") == 2


def test_definition_line_without_latexify(monkeypatch):
    """latexify-py does not install on Python 3.14+: SymPy's LaTeX of the expression stands in."""
    import sys
    monkeypatch.setitem(sys.modules, "latexify", None)  # import latexify raises ImportError
    g = computation_graph(G.y)
    assert g.definition_latex() == r"y(x, z) = " + sp.latex(g.expression())
    assert r"\frac{x z}{\log{\left(x \right)}}" in g.latex()


def test_source_text_is_parsed_not_run():
    g = computation_graph("def f(a):\n    return exp(a) * a\n")
    a = sp.Symbol("a", real=True)
    assert g.gradient()[a] == sp.exp(a) * a + sp.exp(a)
    assert "f(a) =" in g.definition_latex()


@pytest.mark.parametrize("source, error, words", [
    ("def f(x):\n    return __import__('os').system('true')\n", ParseError, "call a function by name"),
    ("def f(x):\n    return open(x)\n", UnsupportedError, "unknown function 'open'"),
    ("def f(x):\n    return x.real\n", ParseError, "Attribute"),
    ("def f(x):\n    return w * x\n", ParseError, "unknown name 'w'"),
    ("def f(x):\n    for i in x:\n        pass\n    return x\n", ParseError, "For statements"),
    ("def f(x):\n    return x\n", ParseError, "nothing to differentiate"),
    ("def f(x, *rest):\n    return x\n", ParseError, "positional"),
    ("def f(x)\n    return x\n", ParseError, "not Python"),
])
def test_refuses_what_it_cannot_read(source, error, words):
    with pytest.raises(error, match=words):
        computation_graph(source)


# --------------------------------------------------------------------------- random functions

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_UNARY = [("sin", sp.sin), ("cos", sp.cos), ("exp", sp.exp), ("tanh", sp.tanh)]
_BINARY = [("+", sp.Add), ("-", lambda a, b: a - b), ("*", sp.Mul)]


def _expressions():
    """(Python source, SymPy expression) pairs built side by side from the same choices."""
    leaves = st.sampled_from([("x", x), ("z", z), ("2", sp.Integer(2)), ("x**2", x**2)])

    def extend(children):
        unary = st.tuples(st.sampled_from(_UNARY), children).map(
            lambda t: (f"{t[0][0]}({t[1][0]})", t[0][1](t[1][1])))
        binary = st.tuples(st.sampled_from(_BINARY), children, children).map(
            lambda t: (f"({t[1][0]} {t[0][0]} {t[2][0]})", t[0][1](t[1][1], t[2][1])))
        return unary | binary

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=40, deadline=None)
@given(_expressions())
def test_random_functions_gradient_is_the_derivative(pair):
    source, expr = pair
    try:
        g = computation_graph(f"def f(x, z):\n    return {source}\n")
    except ParseError:                       # returns an input, or folds to a constant (x - x)
        assert expr.is_Symbol or expr.is_number, source
        return
    grads = g.gradient()
    point = {x: sp.Rational(3, 10), z: sp.Rational(-7, 10)}
    for w in (x, z):
        want = sp.diff(expr, w).xreplace(point)
        assert abs(float(grads[w].xreplace(point) - want)) < 1e-9, (source, w)
    values = g.values(x=sp.Rational(3, 10), z=sp.Rational(-7, 10))
    for w in (x, z):
        assert abs(float(values["adjoint"].get(w, 0) - sp.diff(expr, w).xreplace(point))) < 1e-9
    assert len({op for _, op in g.forward_table()}) == len(g.forward_table())   # no op twice


def test_relu_max_and_threshold_nodes():
    """The slides' ReLU neuron and NYU's hard threshold, as a lecture's scalar graph."""
    g = computation_graph("def f(x, w, b):\n    z = w*x + b\n    a = max(0, z)\n"
                          "    return a*relu(z) + threshold(z - 1) + min(z, 2*x)\n")
    w, b = sp.symbols("w b", real=True)
    expr = sp.Max(0, w * x + b) ** 2 + sp.Min(w * x + b, 2 * x)
    for point in ({x: 2, w: sp.Rational(1, 2), b: sp.Rational(-1, 4)},
                  {x: 2, w: sp.Rational(-1, 2), b: sp.Rational(1, 4)}):
        values = g.values(**{str(k): v for k, v in point.items()})
        assert values["forward"][g.output] == expr.xreplace(point) + (1 if (w * x + b - 1).xreplace(point) >= 0 else 0)
        for s in (x, w, b):
            eps = sp.Rational(1, 10**6)
            fd = (expr.xreplace({**point, s: point[s] + eps}) - expr.xreplace({**point, s: point[s] - eps})) / (2 * eps)
            assert values["adjoint"][s] == fd, (s, point)
    assert not any(isinstance(r.local, sp.Heaviside) for r in g.backward_table())
    with pytest.raises(ParseError, match="two or more"):
        computation_graph("def f(x):\n    return max(x)\n")
