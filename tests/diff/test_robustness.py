"""Inputs that once crashed with an untyped error (issue 16): each gets a right answer or a
typed SymcalcError now."""
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import symcalc as sc
import symcalc.functions as F
from symcalc import nn
from symcalc.cli import main
from symcalc.errors import ShapeError, SymcalcError, UnsupportedError
from symcalc.numeric.reference import evaluate

from .common import LAYOUTS

n = sp.Symbol("n", integer=True, positive=True)
x = sp.MatrixSymbol("x", n, 1)
a = sp.Symbol("a")


def test_derive_by_the_slope_of_a_leaky_relu():
    expr = sc.sum(sc.leaky_relu(x, a))
    d = sc.derive(expr, a)
    assert d.result == sc.diff(expr, a)
    assert d.check().ok
    assert sc.check(expr, a).ok


def test_the_command_line_derives_by_the_slope_of_a_leaky_relu(capsys):
    status = main(["derive", "sum(leaky_relu(x, a))", "--shape", "x=n", "--scalar", "a", "--wrt", "a",
                   "--check"])
    assert status == 0
    assert "step(x)" in capsys.readouterr().out


def test_an_entrywise_fractional_power_of_a_sum_in_the_simplifier():
    A, B, Z, E = (sp.MatrixSymbol(k, n, n) for k in "ABZE")
    one = sp.OneMatrix(n, n)
    L = (sc.sum(sp.HadamardProduct(A, one - B, Z)) + sc.sum(sp.HadamardProduct(A, B, Z))
         + sc.sum(sp.HadamardPower(Z + E, sp.S.Half)))
    for layout in LAYOUTS:
        assert sc.check(L, Z, layout=layout).ok
    assert sc.derive(L, Z).check().ok


@pytest.mark.parametrize("body", [sp.Abs, lambda u: sp.Max(u, 0), lambda u: sp.Abs(u) * u])
def test_concrete_jacobians_of_abs_and_max_are_numbers(body):
    X = sp.MatrixSymbol("X", 2, 2)
    u = sp.Symbol("u")
    Y = X.applyfunc(sp.Lambda(u, body(u)))
    for layout in LAYOUTS:
        D = sc.diff(Y, X, layout=layout)
        assert not D.has(sp.Derivative, sp.re, sp.im)
        values = np.array([[1.5, -2.0], [0.5, -0.25]])
        assert np.all(np.isfinite(sc.lambdify([X], D)(values)))
        assert sc.check(Y, X, layout=layout).ok


SEEDED = """
import sympy as sp, symcalc as sc
from symcalc.errors import ShapeError
C3, C1 = sp.MatrixSymbol("C", 3, 1), sp.MatrixSymbol("D", 1, 1)
try:
    sc.sigmoid(sp.tanh(C3))
    print("no error")
except ShapeError as e:
    assert "sc.tanh(C)" in str(e), e
print(sc.exp(sp.tanh(C1)), sc.sigmoid(sp.tanh(C1)))
print(sc.check(sc.exp(sp.tanh(C1)), C1).ok)
"""


def test_scalar_functions_of_matrices_do_not_depend_on_the_hash_seed():
    """σ(tanh(C)) raised "Mix of Matrix and Scalar symbols" for some PYTHONHASHSEEDs."""
    runs = [subprocess.Popen([sys.executable, "-c", SEEDED], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": ":".join(sys.path)})
            for seed in range(6)]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        assert out.splitlines() == ["exp(tanh(Trace(D))) sigmoid(tanh(Trace(D)))", "True"], out


@pytest.mark.parametrize("cls", list(F.SCALAR_FUNCTIONS))
def test_every_scalar_function_refuses_a_matrix_and_takes_a_1x1(cls):
    M, C = sp.MatrixSymbol("M", 3, 2), sp.MatrixSymbol("C", 1, 1)
    args = (lambda z: (z, sp.Rational(1, 5))) if cls is F.LeakyReLU else (lambda z: (z,))
    with pytest.raises(ShapeError, match="entry by entry"):
        cls(*args(M))
    for inner in (C, sp.tanh(sp.Trace(C)), sp.exp(sp.Trace(C)) + 1):
        assert not cls(*args(inner)).is_Matrix


def test_a_100_deep_tanh_chain():
    W = sp.MatrixSymbol("W", n, n)
    z = x
    for _ in range(100):
        z = sc.tanh(W * z)
    L = sc.sum(z)
    assert sc.check(L, x, sizes={n: 2}).ok
    rng = np.random.default_rng(0)
    Wv, xv = 0.8 * rng.normal(size=(2, 2)), rng.normal(size=(2, 1))
    zv = xv
    for _ in range(100):
        zv = np.tanh(Wv @ zv)
    assert sc.lambdify([W, x], L)(Wv, xv).item() == pytest.approx(zv.sum())


def test_a_300_layer_network():
    layers = []
    for _ in range(300):
        layers += [nn.Linear(2, 2), nn.Tanh()]
    bp = nn.Network(layers, loss="squared_error").backprop()
    rng = np.random.default_rng(0)
    params = {p: 0.5 * rng.normal(size=(2, 1) if p.name.startswith("b") else (2, 2))
              for p in bp.parameters}
    xv, yv = rng.normal(size=(2, 1)), rng.normal(size=(2, 1))
    a = xv
    for k in range(300):
        a = np.tanh(params[bp.parameters[2 * k]] @ a + params[bp.parameters[2 * k + 1]])
    values = {**params, bp.x: xv, bp.y: yv}
    assert evaluate(bp.loss_expr, values).item() == pytest.approx(0.5 * np.sum((a - yv) ** 2))
    b_last = bp.parameters[-1]   # the gradient of the last bias is (a - y) ⊙ (1 - a²)
    np.testing.assert_allclose(evaluate(bp.expand(bp.gradients[b_last]), values),
                               (a - yv) * (1 - a**2))
    b1 = bp.parameters[1]
    g = evaluate(bp.expand(bp.gradients[b1]), values)
    assert g.shape == (2, 1) and np.all(np.isfinite(g))


@pytest.mark.parametrize("bad", ["x.T*x", None, {"x": 1}, object()], ids=["text", "None", "dict", "object"])
def test_non_sympy_input_is_a_typed_error(bad):
    for call in (lambda: sc.diff(bad, x), lambda: sc.gradient(bad, x), lambda: sc.check(bad, x),
                 lambda: sc.derive(bad, x), lambda: sc.verify(bad, x.T * x, x),
                 lambda: sc.lambdify([x], bad), lambda: sc.hessian(bad, x)):
        with pytest.raises(SymcalcError):
            call()


def test_text_is_never_evaluated(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    for call in (lambda: sc.diff(code, x), lambda: sc.sigmoid(code), lambda: sc.sum(code),
                 lambda: sc.leaky_relu(x, code), lambda: sc.lambdify([x], code),
                 lambda: sc.check(code, x)):
        with pytest.raises(UnsupportedError, match="symcalc.parse"):
            call()
    with pytest.raises(TypeError):
        sc.sum(x) + code
    assert not marker.exists()


@pytest.mark.parametrize("sizes", [{"n": 0}, {n: 0}, {"n": -2}, {"n": 1.5}])
def test_sizes_must_be_positive(sizes):
    with pytest.raises(ShapeError, match="positive integer"):
        sc.check(x.T * x, x, sizes=sizes)
    with pytest.raises(ShapeError, match="positive integer"):
        sc.derive(x.T * x, x).check(sizes=sizes)
