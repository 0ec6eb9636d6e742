"""Local Jacobians against the engine, and the written-out derivation checked step by step."""
import numpy as np
import pytest
import sympy as sp

from symcalc import nn
from symcalc.diff import diff
from symcalc.numeric.lambdify import lambdify
from symcalc.nn.network import augment_products


def _free(*exprs):
    syms = set()
    for e in exprs:
        syms |= {s for s in sp.preorder_traversal(e) if isinstance(s, sp.MatrixSymbol)}
    return sorted(syms, key=lambda s: s.name)


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_local_jacobians_match_the_engine(layout):
    net = nn.Network([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, intercept=True), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy())
    bp = net.backprop(layout)
    definitions = dict(bp.forward)
    # [1; a] as products e + S a: the engine takes no block matrices
    augmented = {s.augmented: augment_products(s.input, s.linear.in_features, 1, None)
                 for s in net.stages if s.augmented is not None}
    rng = np.random.default_rng(0)
    for (out, inp), J in bp.jacobians.items():
        definition = definitions[out].xreplace(augmented)
        vec = inp in bp.parameters and inp.name.startswith("W")
        engine = diff(definition, inp, layout=layout, vec=vec)
        J = J.xreplace({out: definition})      # σ′ is written with a = σ(z): evaluate it at z
        args = _free(J, engine)
        values = [rng.uniform(0.1, 0.9, size=tuple(int(n) for n in a.shape)) for a in args]
        ours, theirs = lambdify(args, [J, engine])(*values)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=f"∂{out}/∂{inp}")


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("batch", [None, "columns"])
def test_derivation_steps_hold(layout, batch):
    net = nn.Network([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax()],
                     loss=nn.CrossEntropy(), batch=batch, samples=2 if batch else None)
    d = net.backprop(layout).derivation
    report = d.check()
    assert report.ok, [(r.step.rule, r.message) for r in report.results if not r.ok]
    rules = [s.rule for s in d.steps]
    assert any("recursion" in r for r in rules) and any("softmax output" in r for r in rules)
    if batch is None:
        assert any(r.startswith("chain rule in " + layout) for r in rules)
    assert sum(s.section == "Weights, entry by entry" for s in d.steps) == 2
    assert "Backward pass" in d.latex()


def test_derivation_catches_a_wrong_step():
    """The check is not vacuous: a δ recursion missing its activation slope fails."""
    from symcalc.derivation import Step
    net = nn.Network([nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy())
    bp = net.backprop()
    d = bp.derivation
    s1, s2 = net.stages
    wrong = Step("δ recursion without σ′", s1.delta, s2.W.T * s2.delta, section="Backward pass")
    d.steps.append(wrong)
    report = d.check()
    assert not report.ok
    assert [r.step for r in report.results if not r.ok] == [wrong]


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_derivation_steps_hold_samples_as_rows(layout):
    net = nn.Network([nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1, intercept=True)],
                     loss=nn.SquaredError(reduction="mean"), batch="rows", samples=3)
    report = net.backprop(layout).derivation.check()
    assert report.ok, [(r.step.rule, r.message) for r in report.results if not r.ok]


@pytest.mark.parametrize("layout, order", [
    ("denominator", "da1/dz1*dz2/da1*dL/dz2"), ("numerator", "dL/dz2*dz2/da1*da1/dz1")])
def test_chain_rule_keeps_the_layouts_order_with_a_scalar_factor(layout, order):
    """∂L/∂z2 is a scalar here; it stays where the layout puts it instead of moving to the front."""
    from symcalc.printing import text
    net = nn.Network([nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy())
    d = net.backprop(layout).derivation
    z1 = net.stages[0].z
    (chain,) = [s for s in d.steps if s.rule.startswith("chain rule") and s.lhs.den == z1]
    assert text(chain.rhs) == order
    assert d.check().ok


@pytest.mark.parametrize("batch", [None, "rows", "columns"])
def test_named_layers_keep_their_labels_as_subscripts(batch):
    """name="H" gives W_H, z_H, δ_H (not WH, or a per-sample z_h the step notes do not recognise)."""
    net = nn.Network([nn.Linear(3, 4, name="H", intercept=True), nn.Sigmoid(),
                      nn.Linear(4, 2, name="alpha"), nn.Sigmoid()],
                     loss=nn.SquaredError(), batch=batch, samples=3 if batch else None)
    bp = net.backprop()
    assert [p.name for p in bp.parameters] == ["W_H", "W_alpha", "b_alpha"]
    d = bp.derivation
    latex = d.latex()
    assert r"\mathbf{W}_{H}" in latex and r"\mathbf{W}_{\alpha}" in latex, latex
    assert d.check().ok
    if batch is None:
        rules = {str(s.lhs): s.rule for s in d.steps}
        assert rules["da_H/dz_H"].startswith("activation"), rules
    tilde = "xtilde" if batch is None else "Xtilde"
    assert f"{tilde} = [1" in str(d)
