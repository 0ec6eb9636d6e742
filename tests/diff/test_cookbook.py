"""Identities from The Matrix Cookbook (Petersen & Pedersen, version of November 15, 2012).

Each identity carries its equation number. The Cookbook writes gradients of scalars in
denominator layout (the shape of X), so its right-hand side is the structural form checked for
that layout; every identity is also checked numerically against the oracle in both layouts at
rectangular sizes wherever the identity allows them.
"""
import pytest
import sympy as sp

import symcalc.functions as F
from symcalc.diff import diff

from .common import LAYOUTS, SIZES, M, assert_derivative, m, n, p, q, same_form

# Shapes: X is m x n unless the identity needs it square (then Y, n x n).
X, Y = M("X", m, n), M("Y", n, n)
x, s = M("x", n), M("s", n)
a_n, b_n, c_n = M("a", n), M("b", n), M("c", n)
a_m, b_m, c_m = M("a", m), M("b", m), M("c", m)
W = F.SymmetricMatrix("W", m)  # (84)-(88) assume W symmetric


def cb(eq, expr, wrt, form=None, *, concrete=False):
    """One identity: d expr / d wrt = form (denominator layout), Cookbook equation ``eq``."""
    return pytest.param(expr, wrt, form, concrete, id=f"({eq})")


IDENTITIES = [
    # ---- 2.2 derivatives of a determinant
    cb(49, sp.Determinant(Y), Y, sp.Determinant(Y) * Y.I.T),
    # (51)'s form det(AYB) Y^-T assumes A and B invertible; only the value is checked
    cb(51, sp.Determinant(M("A", n, n) * Y * M("B", n, n)), Y),
    cb(52, sp.Determinant(Y.T * M("A", n, n) * Y), Y),
    cb(53, sp.Determinant(M("X", p, n).T * F.SymmetricMatrix("A", p) * M("X", p, n)),
       M("X", p, n)),
    cb(54, sp.Determinant(M("X", p, n).T * M("A", p, p) * M("X", p, n)), M("X", p, n)),
    cb(55, sp.log(sp.Determinant(M("X", p, n).T * M("X", p, n))), M("X", p, n)),
    cb(57, sp.log(sp.Determinant(Y)), Y, Y.I.T),
    cb(58, sp.Determinant(Y**2), Y),
    # ---- 2.3 derivatives of an inverse
    cb(61, a_n.T * Y.I * b_n, Y, -Y.I.T * a_n * b_n.T * Y.I.T),
    cb(62, sp.Determinant(Y.I), Y),
    cb(63, sp.Trace(M("A", m, n) * Y.I * M("B", n, m)), Y),
    cb(64, sp.Trace((Y + M("A", n, n)).I), Y),
    # ---- 2.4.1 first order
    cb(69, x.T * a_n, x, a_n),
    cb("69b", a_n.T * x, x, a_n),
    cb(70, a_m.T * X * b_n, X, a_m * b_n.T),
    cb(71, b_n.T * X.T * a_m, X, a_m * b_n.T),
    cb(72, a_n.T * Y * a_n, Y, a_n * a_n.T),
    cb("72b", a_n.T * Y.T * a_n, Y, a_n * a_n.T),
    cb(74, X * M("A", n, p), X, concrete=True),   # d(XA)_ij/dX_kl = delta_ik A_lj
    cb(75, X.T * M("A", m, p), X, concrete=True),  # d(X'A)_ij/dX_kl = delta_il A_kj
    # ---- 2.4.2 second order
    cb(77, b_n.T * X.T * X * c_n, X, X * b_n * c_n.T + X * c_n * b_n.T),
    cb(78, (M("B", m, n) * x + b_m).T * M("C", m, p) * (M("D", p, n) * x + M("d", p)), x),
    cb(81, x.T * M("B", n, n) * x, x, (M("B", n, n) + M("B", n, n).T) * x),
    cb(82, b_n.T * X.T * M("D", m, m) * X * c_n, X),
    cb(83, (X * b_n + c_m).T * M("D", m, m) * (X * b_n + c_m), X),
    cb(84, (M("y", m) - M("A", m, n) * s).T * W * (M("y", m) - M("A", m, n) * s), s,
       -2 * M("A", m, n).T * W * (M("y", m) - M("A", m, n) * s)),
    cb(85, (M("y", m) - M("z", m)).T * W * (M("y", m) - M("z", m)), M("y", m),
       2 * W * (M("y", m) - M("z", m))),
    cb(86, (M("y", m) - M("z", m)).T * W * (M("y", m) - M("z", m)), M("z", m),
       -2 * W * (M("y", m) - M("z", m))),
    cb(87, (M("y", m) - M("A", m, n) * s).T * W * (M("y", m) - M("A", m, n) * s), M("y", m),
       2 * W * (M("y", m) - M("A", m, n) * s)),
    cb(88, (M("y", m) - M("A", m, n) * s).T * W * (M("y", m) - M("A", m, n) * s), M("A", m, n),
       -2 * W * (M("y", m) - M("A", m, n) * s) * s.T),
    # ---- 2.4.3 higher order and non-linear
    cb(90, a_n.T * Y**3 * b_n, Y),
    cb(91, a_n.T * (Y**2).T * Y**2 * b_n, Y),
    # ---- 2.5 derivatives of traces
    cb(99, sp.Trace(Y), Y, sp.Identity(n)),
    cb(100, sp.Trace(X * M("A", n, m)), X, M("A", n, m).T),
    cb(101, sp.Trace(M("A", p, m) * X * M("B", n, p)), X, M("A", p, m).T * M("B", n, p).T),
    cb(102, sp.Trace(M("A", p, n) * X.T * M("B", m, p)), X, M("B", m, p) * M("A", p, n)),
    cb(103, sp.Trace(X.T * M("A", m, n)), X, M("A", m, n)),
    cb(104, sp.Trace(M("A", m, n) * X.T), X, M("A", m, n)),
    cb(105, sp.Trace(sp.KroneckerProduct(M("A", m, m), M("Y", n, n))), M("Y", n, n),
       concrete=True),
    cb(106, sp.Trace(Y**2), Y, 2 * Y.T),
    cb(107, sp.Trace(Y**2 * M("B", n, n)), Y),
    cb(108, sp.Trace(X.T * M("B", m, m) * X), X),
    cb(109, sp.Trace(M("B", m, m) * X * X.T), X),
    cb(110, sp.Trace(X * X.T * M("B", m, m)), X),
    cb(111, sp.Trace(X * M("B", n, n) * X.T), X),
    cb(112, sp.Trace(M("B", n, n) * X.T * X), X),
    cb(113, sp.Trace(X.T * X * M("B", n, n)), X),
    cb(114, sp.Trace(M("A", n, m) * X * M("B", n, m) * X), X),
    cb(115, sp.Trace(X.T * X), X, 2 * X),
    cb(116, sp.Trace(M("B", n, p).T * X.T * M("C", m, m) * X * M("B", n, p)), X),
    cb(117, sp.Trace(X.T * M("B", m, m) * X * M("C", n, n)), X),
    cb(118, sp.Trace(M("A", p, m) * X * M("B", n, n) * X.T * M("C", m, p)), X),
    cb(119, sp.Trace((M("A", p, m) * X * M("B", n, q) + M("C", p, q))
                     * (M("A", p, m) * X * M("B", n, q) + M("C", p, q)).T), X,
       2 * M("A", p, m).T * (M("A", p, m) * X * M("B", n, q) + M("C", p, q)) * M("B", n, q).T),
    cb(120, sp.Trace(Y) * sp.Trace(Y), Y, 2 * sp.Trace(Y) * sp.Identity(n)),
    cb("120b", sp.Trace(sp.KroneckerProduct(Y, Y)), Y, concrete=True),
    cb(121, sp.Trace(Y**3), Y),
    cb(122, sp.Trace(M("A", n, n) * Y**3), Y),
    cb(123, sp.Trace(M("B", n, p).T * X.T * M("C", m, m) * X * X.T * M("C", m, m) * X
                     * M("B", n, p)), X),
    cb(124, sp.Trace(M("A", m, n) * Y.I * M("B", n, m)), Y,
       -Y.I.T * M("A", m, n).T * M("B", n, m).T * Y.I.T),
    cb(125, sp.Trace((M("X", p, n).T * F.SymmetricMatrix("C", p) * M("X", p, n)).I
                     * M("A", n, n)), M("X", p, n)),
    cb(126, sp.Trace((M("X", p, n).T * F.SymmetricMatrix("C", p) * M("X", p, n)).I
                     * (M("X", p, n).T * F.SymmetricMatrix("B", p) * M("X", p, n))),
       M("X", p, n)),
    # ---- 2.6 vector norms, 2.7 matrix norms
    cb(129, sp.sqrt(F.norm2(x - a_n)), x),
    cb(130, (x - a_n) * (1 / sp.sqrt(sp.Trace((x - a_n).T * (x - a_n)))), x),
    cb(131, F.norm2(x), x, 2 * x),
    cb("131b", x.T * x, x, 2 * x),
    cb(132, F.frobenius2(X), X, 2 * X),
    cb("132b", sp.Trace(X * X.T), X, 2 * X),
]


def _concrete(e, config):
    return e.subs(SIZES[config])


@pytest.mark.parametrize("config", list(SIZES))
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("expr, wrt, form, concrete", IDENTITIES)
def test_identity_numerically(expr, wrt, form, concrete, layout, config):
    if concrete:
        expr, wrt = _concrete(expr, config), _concrete(wrt, config)
    result = diff(expr, wrt, layout=layout)
    assert_derivative(result, expr, wrt, layout=layout, sizes=SIZES[config])


@pytest.mark.parametrize("expr, wrt, form, concrete",
                         [pc for pc in IDENTITIES if pc.values[2] is not None])
def test_identity_form(expr, wrt, form, concrete):
    got = diff(expr, wrt)
    assert same_form(got, form), f"got {got}, Cookbook form {form}"
