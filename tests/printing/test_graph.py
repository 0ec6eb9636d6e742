"""Computation graphs: nodes, kinds, shared sub-expressions, layout, both renderings."""
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.errors import UnsupportedError
from symcalc.printing import computation_graph, picture_graph, tikz_graph

n, d, h = sp.symbols("n d h", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
theta = sp.MatrixSymbol("theta", d, 1)
x = sp.MatrixSymbol("x", d, 1)
W = sp.MatrixSymbol("W", h, d)
b = sp.MatrixSymbol("b", h, 1)


def test_kinds_and_labels():
    g = computation_graph(F.sigmoid(W * x + b), parameters=[W, b], output="a")
    kinds = {n.label: n.kind for n in g.nodes}
    assert kinds[r"\mathbf{W}"] == "parameter" and kinds[r"\mathbf{b}"] == "parameter"
    assert kinds[r"\mathbf{x}"] == "data"
    assert kinds[r"\sigma(\cdot)"] == "operation" and kinds["a"] == "output"


def test_parameters_sit_above_data_and_inputs_left_of_their_use():
    g = computation_graph(F.sigmoid(W * x + b), parameters=["W", "b"])
    node = {n.label: n for n in g.nodes}
    Wn, xn, prod = node[r"\mathbf{W}"], node[r"\mathbf{x}"], node[r"\times"]
    assert Wn.column == xn.column == prod.column - 1
    assert Wn.row < xn.row  # W (the left factor, a parameter) above x
    assert node[r"\mathbf{b}"].column == node["+"].column - 1


def test_shared_subexpressions_are_one_node_and_subtraction_is_marked():
    u = y - X * theta
    g = computation_graph(u.T * u, parameters=[theta])
    labels = [n.label for n in g.nodes]
    assert labels.count(r"\mathbf{X}") == 1 and labels.count(r"\mathbf{y}") == 1
    marks = [mark for n in g.nodes for _, mark in n.inputs]
    assert "-" in marks


def test_distributed_transpose_is_drawn_as_transpose_of_the_shared_node():
    u = y - X * theta  # SymPy stores u.T as y.T - theta.T*X.T
    g = computation_graph(u.T * u, parameters=[theta])
    labels = sorted(n.label for n in g.nodes)
    assert labels.count(r"(\cdot)^{\top}") == 1 and labels.count("+") == 1
    assert len(g.nodes) == 7  # X, theta, y, X theta, u, u^T, u^T u


def test_factors_out_of_order_are_numbered():
    g = computation_graph(X * theta, parameters=[theta])  # the parameter is drawn above X
    pic = g.picture()
    assert r"$\scriptscriptstyle 1$" in pic and r"$\scriptscriptstyle 2$" in pic
    pic = computation_graph(W * x, parameters=[W]).picture()  # W above x: in order
    assert r"\scriptscriptstyle" not in pic


def test_picture_uses_only_kernel_picture_commands():
    pic = picture_graph(F.sigmoid(W * x + b), parameters=[W, b], output="a")
    assert r"\begin{picture}" in pic and r"\qbezier" in pic and r"\fcolorbox" in pic
    assert "tikz" not in pic


def test_tikz_rendering():
    pic = tikz_graph(F.sigmoid(W * x + b), parameters=[W, b], output="a")
    assert pic.startswith(r"\begin{tikzpicture}") and pic.count(r"\node") == 7
    assert pic.count(r"\draw[->]") == 6
    assert tikz_graph(F.sigmoid(W * x + b), engine="picture").count(r"\begin{picture}") == 1
    with pytest.raises(ValueError):
        tikz_graph(W * x, engine="dot")


def test_a_lone_symbol_is_not_a_graph():
    with pytest.raises(UnsupportedError):
        computation_graph(x)
