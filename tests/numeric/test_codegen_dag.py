"""Generated code of a deep network is a backward pass as one writes it by hand: each forward sum
computed once (not re-added term by term), each gradient as soon as its δ is known, each array
released after its last use. Checked against backpropagation written in NumPy."""
import ast
import re

import numpy as np
import sympy as sp

import symcalc.functions as F
from symcalc.diff import backward
from symcalc.numeric.lambdify import lambdify

n, b = sp.symbols("n b", integer=True, positive=True)


def residual(L):
    X, Y = sp.MatrixSymbol("X", n, b), sp.MatrixSymbol("Y", n, b)
    Ws = [sp.MatrixSymbol(f"W{k}", n, n) for k in range(1, L + 1)]
    A = X
    for W in Ws:
        A = A + F.tanh(W * A)
    return F.frobenius2(A - Y), X, Y, Ws


def by_hand(Ws, X, Y):
    A, T = [X], []
    for W in Ws:
        T.append(np.tanh(W @ A[-1]))
        A.append(A[-1] + T[-1])
    G, grads = 2 * (A[-1] - Y), [None] * len(Ws)
    for k in range(len(Ws) - 1, -1, -1):
        D = G * (1 - T[k] ** 2)
        grads[k] = D @ A[k].T
        G = G + Ws[k].T @ D
    return grads


def generated(L):
    loss, X, Y, Ws = residual(L)
    grads = backward(loss, Ws).gradients
    return lambdify([X, Y, *Ws], [grads[W] for W in Ws])


def body(fn):
    lines = [line.strip() for line in fn.source.splitlines()]
    return lines[max(i for i, line in enumerate(lines) if line.startswith("raise")) + 1:]


def test_residual_network_gradients_match_backpropagation_by_hand():
    fn = generated(6)
    rng = np.random.default_rng(3)
    Ws = [rng.normal(scale=0.4, size=(4, 4)) for _ in range(6)]
    Xv, Yv = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    for got, want in zip(fn(Xv, Yv, *Ws), by_hand(Ws, Xv, Yv)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_each_forward_sum_is_added_once():
    """a_k = a_{k-1} + tanh(W_k a_{k-1}) is one addition per layer, in the forward pass and in the
    gradients' δ a_kᵀ alike (not tanh₁ᵀ + … + tanh_kᵀ + Xᵀ, L²/2 additions in all)."""
    for L in (4, 12):
        lines = body(generated(L))
        assert sum(line.count(" + ") for line in lines) <= 2 * L + 2, "\n".join(lines)
        assert not any(re.search(r"\.T \+ ", line) for line in lines), "\n".join(lines)
        assert sum(line.count("numpy.tanh(") for line in lines) == L


def test_every_intermediate_is_released_after_its_last_use():
    lines = body(generated(5))
    returned = {n.id for n in ast.walk(ast.parse(lines[-1])) if isinstance(n, ast.Name)}
    assigned = [line.split(" = ")[0] for line in lines if " = " in line]
    released = {v for line in lines if line.startswith("del ") for v in line[4:].split(", ")}
    assert set(assigned) - returned == released
    for v in released:  # never used after its del
        at = next(i for i, line in enumerate(lines) if line.startswith("del ") and v in line[4:].split(", "))
        assert not any(re.search(rf"\b{v}\b", line) for line in lines[at + 1:]), v
