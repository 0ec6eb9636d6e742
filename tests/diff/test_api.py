"""gradient, jacobian, hessian, backward and the rule registry, against the oracle."""
import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

import symcalc.functions as F
from symcalc.diff import backward, diff, gradient, hessian, jacobian
from symcalc.diff.rules import RULES
from symcalc.errors import SymcalcError

from .common import LAYOUTS, SIZES, M, assert_derivative, m, n

S = SIZES["small"]
X, y, theta = M("X", m, n), M("y", m), M("theta", n)
W, x, b = M("W", m, n), M("x", n), M("b", m)


def test_gradient_has_the_shape_of_the_variable():
    loss = F.sum(F.softplus(W * x + b))
    for wrt in (W, x, b):
        g = gradient(loss, wrt)
        assert g.shape == wrt.shape
        assert_derivative(g, loss, wrt, layout="denominator", sizes=S)


def test_gradient_of_a_vector_is_an_error():
    with pytest.raises(SymcalcError):
        gradient(W * x, x)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_jacobian(layout):
    f = F.sigmoid(W * x + b)
    J = jacobian(f, x, layout=layout)
    assert J.shape == ((m, n) if layout == "numerator" else (n, m))
    assert_derivative(J, f, x, layout=layout, sizes=S)


def test_jacobian_defaults_to_numerator_layout():
    J = jacobian(W * x, x)
    assert J.shape == (m, n)
    assert_derivative(J, W * x, x, layout="numerator", sizes=S)


def test_hessian_least_squares_is_2XtX():
    r = y - X * theta
    H = hessian(r.T * r, theta)
    assert H.shape == (n, n)
    # the Hessian is the Jacobian of the (known) gradient; symmetric, so either layout
    assert_derivative(H, -2 * X.T * (y - X * theta), theta, layout="numerator", sizes=S)


def test_hessian_logistic_loss():
    loss = F.sum(F.softplus(X * theta)) - y.T * X * theta
    H = hessian(loss, theta)
    assert H.shape == (n, n)
    assert_derivative(H, X.T * (F.sigmoid(X * theta) - y), theta, layout="numerator", sizes=S)


def test_hessian_softmax_cross_entropy_soft_targets():
    """(1ᵀt)(diag(p) − ppᵀ) for targets that do not sum to one (a regression: the scalar part
    once came out as tr(1) tr(tᵀ))."""
    z, t = sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("t", n, 1)
    loss = F.cross_entropy(F.softmax(z), t)
    H = hessian(loss, z)
    assert H.shape == (n, n)
    assert_derivative(H, diff(loss, z), z, layout="numerator", sizes=S)


def test_backward_gives_every_gradient_at_once():
    loss = F.norm2(F.tanh(W * x + b) - y)
    bp = backward(loss, [W, x, b])
    assert set(bp.gradients) == {W, x, b}
    for wrt, g in bp.gradients.items():
        assert g.shape == wrt.shape
        assert_derivative(g, loss, wrt, layout="denominator", sizes=S)
    assert bp.order and bp.adjoints


@pytest.mark.parametrize("cls", [
    sp.MatMul, sp.MatAdd, sp.Transpose, sp.Inverse, sp.MatPow, sp.Trace, sp.Determinant,
    sp.HadamardProduct, sp.HadamardPower, sp.KroneckerProduct, ElementwiseApplyFunction,
    F.EntrySum, F.EntryMean, F.LogSumExp, F.SquaredNorm, F.FrobeniusSquared, F.Softmax,
], ids=lambda c: c.__name__)
def test_rule_registry_names_each_operation(cls):
    rule = RULES[cls]
    assert rule.name.strip() and rule.identity.strip()


def test_diff_and_gradient_agree():
    loss = sp.Trace(M("A", n, m) * F.sigmoid(W))
    assert diff(loss, W) == gradient(loss, W)


def test_symmetry_from_assumptions_holds_in_both_layouts():
    """Declared by Q.symmetric, A is its own transpose in the result: 2xᵀA in numerator layout."""
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    sym = sp.Q.symmetric(A)
    assert diff(x.T * A * x, x, assumptions=sym) == 2 * A * x
    assert diff(x.T * A * x, x, layout="numerator", assumptions=sym) == 2 * x.T * A
    assert diff(x.T * A * x, x, layout="numerator") == x.T * (A + A.T)  # not declared: not assumed
