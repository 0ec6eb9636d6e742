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


@pytest.fixture(params=["dot", "grandalf"])
def engine(request):
    if request.param == "dot":
        from symcalc.printing.graph import _have_dot
        if not _have_dot():
            pytest.skip("Graphviz dot is not installed")
    return request.param


def test_kinds_and_labels():
    g = computation_graph(F.sigmoid(W * x + b), parameters=[W, b], output="a")
    kinds = {n.label: n.kind for n in g.nodes}
    assert kinds[r"\mathbf{W}"] == "parameter" and kinds[r"\mathbf{b}"] == "parameter"
    assert kinds[r"\mathbf{x}"] == "data"
    root = g.root
    assert root.label == r"\sigma(\cdot)" and root.kind == "output" and root.name == "a"


def test_layered_layout_puts_inputs_before_their_use(engine):
    g = computation_graph(F.sigmoid(W * x + b), parameters=["W", "b"], engine=engine)
    node = {n.label: n for n in g.nodes}
    Wn, xn, prod = node[r"\mathbf{W}"], node[r"\mathbf{x}"], node[r"\times"]
    assert g.direction == "LR"
    assert Wn.x == xn.x < prod.x < node["+"].x < g.root.x  # W and x in one layer, left of W x
    assert node[r"\mathbf{b}"].x < node["+"].x
    if engine == "dot":
        assert Wn.y > xn.y  # the left factor above the right one: in operand order, unnumbered
        assert all(not mark for _, mark in prod.inputs)


def test_named_nodes_carry_their_names(engine):
    z = W * x + b
    g = computation_graph(F.sigmoid(z), parameters=[W, b], output="L", engine=engine,
                          names={z: sp.MatrixSymbol("z1", h, 1)})
    named = {n.name: n for n in g.nodes if n.name}
    assert set(named) == {r"\mathbf{z}_{1}", "L"} and named[r"\mathbf{z}_{1}"].label == "+"
    pic = g.picture()
    assert r"\shortstack{$\mathbf{z}_{1}$" in pic


def test_folded_bias_is_drawn(engine):
    Wt = sp.MatrixSymbol("W", h, d + 1)
    g = computation_graph(F.relu(Wt * sp.BlockMatrix([[sp.OneMatrix(1, 1)], [x]])), parameters=[Wt],
                          engine=engine)
    block = [n for n in g.nodes if "bmatrix" in n.label]
    assert len(block) == 1 and block[0].inputs[0][0].label == r"\mathbf{x}"
    assert r"\cdot" in block[0].label and "1" in block[0].label


def test_labels_keep_a_readable_size():
    """No label below \\footnotesize (9 pt in an 11 pt document), and no shrinking of a graph
    that fits the line."""
    pic = picture_graph(sp.Trace(X * W.T * W * X.T), parameters=[W])
    assert r"\scriptscriptstyle" not in pic and r"\scriptsize" not in pic and r"\tiny" not in pic
    assert r"\scalebox" not in pic and r"\resizebox" not in pic


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


def test_factors_are_numbered_where_the_drawing_cannot_show_their_order(engine):
    A, B = sp.MatrixSymbol("A", d, d), sp.MatrixSymbol("B", d, d)
    g = computation_graph(sp.Trace(A * B * A), engine=engine)  # A twice: its edges say which factor
    marks = [mark for n in g.nodes if n.label == r"\times" for _, mark in n.inputs]
    assert marks == ["1", "2", "3"]
    assert r"\footnotesize $2$" in g.picture()
    assert all(not m for n in computation_graph(W * x, parameters=[W]).nodes for _, m in n.inputs)


def test_picture_uses_only_kernel_picture_commands():
    pic = picture_graph(F.sigmoid(W * x + b), parameters=[W, b], output="a")
    assert r"\begin{picture}" in pic and r"\qbezier" in pic and r"\fcolorbox" in pic
    assert "tikz" not in pic


def test_tikz_rendering():
    pic = tikz_graph(F.sigmoid(W * x + b), parameters=[W, b], output="a")
    assert pic.startswith(r"\begin{tikzpicture}") and pic.count(r"\node") == 6
    assert pic.count(r"\draw[->]") == 5
    assert tikz_graph(F.sigmoid(W * x + b), engine="picture").count(r"\begin{picture}") == 1
    with pytest.raises(ValueError):
        tikz_graph(W * x, engine="dot")


def test_a_lone_symbol_is_not_a_graph():
    with pytest.raises(UnsupportedError):
        computation_graph(x)
