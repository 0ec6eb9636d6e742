"""One way to state assumptions (symcalc.assumptions): a list of Q predicates, one predicate, their
conjunction and ``sp.assuming`` mean the same to every entry point, and the numeric checks draw
values that satisfy them, so symcalc never calls its own result wrong."""
import numpy as np
import pytest
import sympy as sp

import symcalc as sc
from symcalc import nn
from symcalc.assumptions import Structure, explicit, facts, structure

Q = sp.Q
n = sp.Symbol("n", integer=True, positive=True)
x = sp.MatrixSymbol("x", n, 1)
b = sp.MatrixSymbol("b", n, 1)
A = sp.MatrixSymbol("A", n, n)
QUAD = x.T * A * x

WAYS = ("list", "tuple", "predicate", "conjunction", "sp.assuming")


def given_symmetric(how, M):
    """``f(assumptions)`` with M declared symmetric in the way ``how``."""
    written = {"list": [Q.symmetric(M)], "tuple": (Q.symmetric(M),), "predicate": Q.symmetric(M),
               "conjunction": Q.symmetric(M) & Q.real_elements(M)}

    def run(f):
        if how == "sp.assuming":
            with sp.assuming(Q.symmetric(M)):
                return f(None)
        return f(written[how])
    return run


@pytest.fixture(params=WAYS)
def way(request):
    return given_symmetric(request.param, A)


def test_diff_gradient_hessian_jacobian_take_every_way(way):
    assert way(lambda a: sc.diff(QUAD, x, assumptions=a)) == 2 * A * x
    assert way(lambda a: sc.diff(QUAD, x, layout="numerator", assumptions=a)) == 2 * x.T * A
    assert way(lambda a: sc.gradient(QUAD, x, assumptions=a)) == 2 * A * x
    assert way(lambda a: sc.hessian(QUAD, x, assumptions=a)) == 2 * A
    assert way(lambda a: sc.jacobian(A * x + b, x, assumptions=a)) == A
    assert way(lambda a: sc.backward(QUAD, [x], assumptions=a)).gradients[x] == 2 * A * x


def test_without_assumptions_nothing_is_assumed():
    assert sc.diff(QUAD, x) == (A + A.T) * x
    assert sc.diff(QUAD, x, assumptions=[]) == (A + A.T) * x
    assert facts() == ()


def test_check_derive_and_verify_agree_with_diff(way):
    """The issue's example: under sp.assuming, diff said 2Ax while check said MISMATCH and the
    derivation's check said two steps were false."""
    assert way(lambda a: sc.check(QUAD, x, assumptions=a)).ok
    assert way(lambda a: sc.check(QUAD, x, layout="numerator", assumptions=a)).ok
    d = way(lambda a: sc.derive(QUAD, x, assumptions=a))
    assert d.result == 2 * A * x
    report = d.check()  # after the `with` block: the derivation keeps what it was derived under
    assert report.ok, str(report)
    verdict = way(lambda a: sc.verify(2 * A * x, QUAD, x, assumptions=a))
    assert verdict.ok and verdict.symbolic_match, str(verdict)


def test_solve_stationary_takes_every_way(way):
    L = QUAD - 2 * b.T * x
    cf = way(lambda a: sc.solve_stationary(L, x, assumptions=a))
    assert cf.solution == A.I * b and cf.check.ok


def test_lambdify_checks_what_the_result_relies_on(way):
    g = sc.diff(QUAD, x, assumptions=[Q.symmetric(A)])
    f = way(lambda a: sc.lambdify([A, x], g, assumptions=a))
    S = np.array([[2.0, 1.0], [1.0, 3.0]])
    assert np.allclose(f(S, np.ones((2, 1))), 2 * S @ np.ones((2, 1)))
    with pytest.raises(ValueError, match="A is declared symmetric"):
        f(np.array([[2.0, 1.0], [0.0, 3.0]]), np.ones((2, 1)))
    plain = sc.lambdify([A, x], g)  # nothing declared: nothing checked
    plain(np.array([[2.0, 1.0], [0.0, 3.0]]), np.ones((2, 1)))


@pytest.mark.parametrize("how", WAYS)
def test_networks_take_every_way(how):
    d, h = sp.symbols("d h", integer=True, positive=True)
    net = nn.Network([nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Sigmoid(), nn.Linear(h, 1)],
                     loss="mse")
    W2 = sp.MatrixSymbol("W2", h, h)
    bp = given_symmetric(how, W2)(lambda a: net.backprop(assumptions=a))
    assert not bp.deltas[1].has(W2.T) and bp.deltas[1].has(W2)
    assert net.backprop().deltas[1].has(W2.T)
    assert bp.derivation.check().ok
    _, backward = bp.numpy()
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=(3, 1)), "W2": rng.normal(size=(3, 3)),
              "b2": rng.normal(size=(3, 1)), "W3": rng.normal(size=(1, 3)), "b3": rng.normal(size=(1, 1))}
    with pytest.raises(ValueError, match="W2 is declared symmetric"):
        backward(params, rng.normal(size=(2, 1)), rng.normal(size=(1, 1)))
    params["W2"] = params["W2"] + params["W2"].T
    backward(params, rng.normal(size=(2, 1)), rng.normal(size=(1, 1)))


# --------------------------------------------------------------------------- values drawn

def test_values_satisfy_what_follows_from_the_facts():
    rng = np.random.default_rng(0)
    lam, mu = sp.symbols("lam mu")
    cases = {
        Q.symmetric(A): lambda v: np.allclose(v, v.T),
        Q.diagonal(A): lambda v: np.allclose(v, np.diag(np.diag(v))),
        Q.positive_definite(A): lambda v: np.all(np.linalg.eigvalsh((v + v.T) / 2) > 0)
        and not np.allclose(v, v.T),  # SymPy's positive definite need not be symmetric
        Q.positive_definite(A) & Q.symmetric(A): lambda v: np.allclose(v, v.T)
        and np.all(np.linalg.eigvalsh(v) > 0),
        sc.positive_semidefinite(A): lambda v: np.allclose(v, v.T) and np.all(np.linalg.eigvalsh(v) > -1e-12),
        Q.orthogonal(A): lambda v: np.allclose(v.T @ v, np.eye(len(v))),
        Q.lower_triangular(A): lambda v: np.allclose(v, np.tril(v)),
    }
    for fact, holds in cases.items():
        s = structure(A, explicit(fact))
        for _ in range(5):
            assert holds(s.impose(rng.normal(size=(4, 4)), rng)), fact
    for fact, holds in {Q.positive(lam): lambda v: v > 0, Q.negative(lam): lambda v: v < 0,
                        Q.nonpositive(lam): lambda v: v < 0}.items():
        s = structure(lam, explicit(fact))
        for v in (-1.3, 0.0, 0.7):
            assert holds(s.impose(v, rng)), (fact, v)
    assert structure(mu, explicit(Q.positive(lam))) == Structure()


def test_a_negative_scalar_inside_a_log_is_checked_in_its_domain():
    lam = sp.Symbol("lam")
    L = sp.log(-lam) * (x.T * x)[0, 0]
    assert sc.check(L, x, assumptions=[Q.negative(lam)]).ok
    assert sc.check(L, lam, assumptions=[Q.negative(lam)]).ok


def test_a_claim_that_needs_symmetry_is_wrong_for_a_positive_definite_matrix():
    verdict = sc.verify(2 * A * x, QUAD, x, assumptions=[Q.positive_definite(A)])
    assert verdict.status == "wrong" and verdict.diagnosis == "symmetric", str(verdict)


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("bad", ["symmetric(A)", {"A": "symmetric"}, False, [Q.symmetric(A), "x > 0"]])
def test_what_is_not_an_assumption_is_refused(bad):
    with pytest.raises(sc.UnsupportedError, match="SymPy Q predicates"):
        sc.diff(QUAD, x, assumptions=bad)
    with pytest.raises(sc.UnsupportedError, match="SymPy Q predicates"):
        sc.check(QUAD, x, assumptions=bad)


def test_a_predicate_no_draw_can_satisfy_is_refused_by_the_checks():
    lam = sp.Symbol("lam")
    with pytest.raises(sc.UnsupportedError, match=r"Q.integer\(lam\)"):
        sc.check(lam * QUAD, x, assumptions=[Q.integer(lam)])
    # harmless predicates and facts about other symbols are fine
    assert sc.check(QUAD, x, assumptions=[Q.invertible(A), Q.integer(sp.Symbol("k"))]).ok
