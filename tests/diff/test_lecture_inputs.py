"""Inputs the lecture notes write (issue 12), each checked against the oracle in both layouts.

Undefined functions (CS229 Claim 3.3 writes σ for any elementwise activation, J for any loss) have
no numbers: the oracle checks their derivatives with each one given a body, which is a valid check
because the identity holds for every differentiable body.
"""
import pytest
import sympy as sp
from sympy.core.function import AppliedUndef

import symcalc as sc
import symcalc.functions as F
from symcalc.diff import diff
from symcalc.errors import UnsupportedError

from .common import LAYOUTS, SIZES, M, assert_derivative, m, n, p, q

sigma, J = sp.Function("sigma"), sp.Function("J")
u = sp.Dummy("u")
#: bodies that make the undefined functions concrete for the oracle (smooth, no symmetry to hide errors)
BODIES = {"sigma": sp.Lambda(u, sp.tanh(u) + u**2 / 5), "J": sp.Lambda(u, sp.sin(u) + u**3 / 7),
          "ell": sp.Lambda(u, sp.exp(u / 3) - u)}
b = sp.Symbol("b", real=True)


def instantiate(e):
    """e with every undefined function given its body from BODIES, and σ′, J′ evaluated."""
    if not isinstance(e, sp.Basic):
        return e
    for f in {a.func for a in e.atoms(AppliedUndef)}:
        e = e.replace(f, BODIES[f.__name__])
    return e.replace(lambda a: isinstance(a, (sp.Derivative, sp.Subs)), lambda a: a.doit())


def check_abstract(expr, wrt):
    for config, sizes in SIZES.items():
        for layout in LAYOUTS:
            result = diff(expr, wrt, layout=layout)
            assert result.atoms(sp.Derivative), f"no σ′ in {result}"
            assert_derivative(instantiate(result), instantiate(expr), wrt, layout=layout, sizes=sizes)


def test_claim_3_3_elementwise_activation():
    """a = σ(z), J = Σ ℓ(a): ∂J/∂z = ∂J/∂a ⊙ σ′(z), with σ and ℓ abstract."""
    z = M("z", m)
    ell = sp.Function("ell")
    expr = sc.sum(z.applyfunc(sigma).applyfunc(ell))
    check_abstract(expr, z)
    g = diff(expr, z)
    assert sc.text(g) in ("ell'(sigma(z)) ⊙ sigma'(z)", "sigma'(z) ⊙ ell'(sigma(z))")


def test_abstract_activation_layer():
    W, x, w = M("W", m, n), M("x", n), M("w", m)
    expr = w.T * (W * x).applyfunc(sigma)
    check_abstract(expr, W)
    check_abstract((W * x).applyfunc(sigma), x)  # the Jacobian diag(σ′(Wx)) W
    assert sc.text(diff(expr, W)) == "(w ⊙ sigma'(W*x))*x.T"
    assert sc.latex(diff((W * x).applyfunc(sigma), x, layout="numerator")) == \
        r"\operatorname{diag}(\sigma'(\mathbf{W} \mathbf{x})) \mathbf{W}"


def test_abstract_scalar_loss():
    """J(ŷ) with ŷ = σ(wᵀx + b): dJ/dw = J′(ŷ) σ′(wᵀx + b) x."""
    w, x = M("w", n), M("x", n)
    expr = J(sigma(sc.dot(w, x) + b))
    check_abstract(expr, w)
    g = diff(expr, w)
    assert sc.text(g) == "J'(sigma(b + w.T*x))*sigma'(b + w.T*x)*x"
    assert sc.text(diff(expr, b)) == "J'(sigma(b + w.T*x))*sigma'(b + w.T*x)"


def test_undefined_function_has_no_numbers():
    z = M("z", 3)
    g = diff(sc.sum(z.applyfunc(sigma)), z)
    with pytest.raises(UnsupportedError, match="undefined function"):
        sc.lambdify([z], g)


def test_a_function_sympy_cannot_differentiate_is_still_refused():
    class Opaque(sp.Function):
        nargs = 1

    z = M("z", n)
    with pytest.raises(UnsupportedError, match="no known derivative"):
        diff(sc.sum(z.applyfunc(Opaque)), z)


# --------------------------------------------------------------------------- scalars in matrix expressions

def test_scalar_bias_idiom_cs229_2_2():
    """hθ(x) = ReLU(wᵀx + b) with a scalar b: sc.dot(w, x) + b (SymPy refuses w.T*x + b)."""
    from symcalc.parse import parse
    w, x = M("w", n), M("x", n)
    with pytest.raises(TypeError, match="Mix of Matrix and Scalar"):
        w.T * x + b
    h = sc.relu(sc.dot(w, x) + b)
    assert sc.scalar(w.T * x) + b == sc.dot(w, x) + b
    assert parse("relu(w.T*x + b)", {"w": ("n", 1), "x": ("n", 1)}, scalars=["b"]) == h
    for config, sizes in SIZES.items():
        for layout in LAYOUTS:
            assert_derivative(diff(h, w, layout=layout), h, w, layout=layout, sizes=sizes)
    assert sc.text(diff(h, w)) == "step(b + w.T*x)*x"
    assert sc.text(diff(h, b)) == "step(b + w.T*x)"
    assert sc.text(h) == "relu(b + w.T*x)"


def test_scalar_of_a_larger_matrix_says_what_to_write():
    from symcalc.errors import ShapeError
    with pytest.raises(ShapeError, match=r"1 x 1 matrix.*OneMatrix"):
        sc.scalar(M("A", m, n))
    with pytest.raises(ShapeError, match="two vectors of one shape"):
        sc.dot(M("w", n), M("x", m))


# --------------------------------------------------------------------------- symbolic sizes and exponents

k = sp.Symbol("k", integer=True, positive=True)
i = sp.Symbol("i", real=True)


@pytest.mark.parametrize("build, want", [
    (lambda: (sp.Trace(sp.KroneckerProduct(M("A", m, m), M("X", n, n))), M("X", n, n)), "tr(A)*I"),
    (lambda: (sp.Trace(sp.KroneckerProduct(M("A", m, m), M("X", n, n))), M("A", m, m)), "tr(X)*I"),
    (lambda: (sp.Trace(sp.KroneckerProduct(M("A", m, m), M("X", n, n), M("B", p, p))) ** 2, M("X", n, n)),
     "2*tr(A ⊗ X ⊗ B)*tr(A)*tr(B)*I"),
    (lambda: (sp.Trace(M("X", n, n) ** k), M("X", n, n)), "k*(X.T)^(k - 1)"),
    (lambda: (sp.Trace(M("X", n, n) ** k) * sp.Trace(M("X", n, n)), M("X", n, n)), None),
    (lambda: (sp.HadamardPower(M("x", n), i), i), "(log(x) ⊙ x^∘i).T"),  # a row in denominator layout
    (lambda: (sc.sum(sp.HadamardPower(M("X", m, n), i)), i), None),
    (lambda: (sc.sum(sp.HadamardPower(M("X", m, n), i)), M("X", m, n)), "i*X^∘(i - 1)"),
], ids=["tr(A kron X) by X", "tr(A kron X) by A", "tr(A kron X kron B)^2", "tr(X^k)", "tr(X^k) tr(X)",
        "x^i by i", "sum(X^i) by i", "sum(X^i) by X"])
def test_symbolic_sizes_and_exponents(build, want):
    """The held-out matrix identities: tr(A ⊗ X) by X = tr(A) I, tr(Xᵏ) by X = k (Xᵏ⁻¹)ᵀ, x^{∘i} by i."""
    expr, wrt = build()
    for sizes in ({m: 2, n: 3, p: 4, k: 3}, {m: 3, n: 2, p: 2, k: 4}):
        for layout in LAYOUTS:
            assert_derivative(diff(expr, wrt, layout=layout), expr, wrt, layout=layout, sizes=sizes)
    if want is not None:
        assert sc.text(diff(expr, wrt)) == want


def test_symbolic_power_outside_a_trace_is_refused():
    X = M("X", n, n)
    with pytest.raises(UnsupportedError, match="inside a trace"):
        diff(sp.Trace(M("A", n, n) * X ** k), X)


# --------------------------------------------------------------------------- readable results

def housing_network():
    """CS229 (2.3): a₁ = ReLU(θ₁x₁ + θ₂x₂ + θ₃), a₂ = ReLU(θ₄x₃ + θ₅), a₃ = ReLU(θ₆x₃ + θ₇x₄ + θ₈),
    h = θ₉a₁ + θ₁₀a₂ + θ₁₁a₃ + θ₁₂, and the squared error (h − y)²."""
    t = M("theta", 12)
    x1, x2, x3, x4, y = sp.symbols("x1 x2 x3 x4 y", real=True)
    T = [t[j, 0] for j in range(12)]
    a1 = F.ReLU(T[0] * x1 + T[1] * x2 + T[2])
    a2 = F.ReLU(T[3] * x3 + T[4])
    a3 = F.ReLU(T[5] * x3 + T[6] * x4 + T[7])
    h = T[8] * a1 + T[9] * a2 + T[10] * a3 + T[11]
    return (h - y) ** 2, t


def test_explicit_entries_give_one_explicit_vector():
    """Twelve parameters written entry by entry: the gradient is one 12 x 1 explicit vector, not a sum
    of twelve sparse ones."""
    loss, theta = housing_network()
    for layout in LAYOUTS:
        g = diff(loss, theta, layout=layout)
        assert isinstance(g, sp.MatrixBase) and g.shape == ((12, 1) if layout == "denominator" else (1, 12))
        assert_derivative(g, loss, theta, layout=layout, sizes={})
    g = diff(loss, theta)
    assert g[11, 0] == sp.expand(g[11, 0]) and sc.text(g[11, 0]).startswith("2*")


def test_slides_gradient_of_an_explicit_function():
    """The slides' ∇f(x, y) with the variables as the entries of one vector."""
    v = M("v", 2)
    f = v[0, 0] ** 2 * v[1, 0] + sp.sin(v[1, 0])
    g = diff(f, v)
    assert g == sp.ImmutableMatrix([[2 * v[0, 0] * v[1, 0]], [v[0, 0] ** 2 + sp.cos(v[1, 0])]])
    for layout in LAYOUTS:
        assert_derivative(diff(f, v, layout=layout), f, v, layout=layout, sizes={})


def test_logistic_with_a_scalar_target_reads_y_minus_sigma():
    """CMU lecture 13, Case 1: J = y* log σ(a) + (1 − y*) log(1 − σ(a)), a = θᵀx: dJ/dθ = (y* − σ(a)) x."""
    theta, x = M("theta", n), M("x", n)
    ystar = sp.Symbol("ystar", real=True)
    a = sc.dot(theta, x)
    J = ystar * sp.log(sc.sigmoid(a)) + (1 - ystar) * sp.log(1 - sc.sigmoid(a))
    assert sc.text(diff(J, theta)) == "(ystar - sigmoid(theta.T*x))*x"
    assert sc.text(diff(J, theta, layout="numerator")) == "(ystar - sigmoid(theta.T*x))*x.T"
    for config, sizes in SIZES.items():
        for layout in LAYOUTS:
            assert_derivative(diff(J, theta, layout=layout), J, theta, layout=layout, sizes=sizes)
