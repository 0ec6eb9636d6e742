"""A corpus of models, each by every parameter, in both layouts, in every style that applies.

Asserted for every derivation: it builds; no step restates itself (∂L/∂w = ∂L/∂w); the two sides of
every step have the same shape; every printed symbol (∂L/∂z, δ, L) has one shape throughout; the
chain style multiplies local derivatives; ``check()`` passes. The default run checks each
(model, parameter) numerically in two of the four (style, layout) pairs (all four are built and
inspected); ``-m slow`` checks all of them.
"""
import functools
import re

import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from symcalc.derivation import derive
from symcalc.derivation.common import CHAIN
from symcalc.derivation.nodes import Partial, PartialMatrix
from symcalc.functions import is_matrix
from symcalc.printing import latex, text

from corpus import INDEX, SIZES, corpus

C = corpus()
STYLES = ("chain", "differential")
CASES = [(name, k, style, layout)
         for name, (_, params, _) in C.items() for k in range(len(params))
         for style in STYLES + (("index",) if name in INDEX else ())
         for layout in ("denominator", "numerator")]


def _networks():
    """symcalc.nn networks, one sample and batches (as columns and as rows), both layouts."""
    from symcalc import nn
    d, h, K = sp.symbols("d h K", integer=True, positive=True)
    out = {}
    for batch in (None, "columns", "rows"):
        for layout in ("denominator", "numerator"):
            for name, layers, loss in (
                    ("relu-bce", [nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 1), nn.Sigmoid()],
                     nn.BinaryCrossEntropy()),
                    ("tanh-softmax", [nn.Linear(d, h), nn.Tanh(), nn.Linear(h, K), nn.Softmax()],
                     nn.CrossEntropy())):
                out[(name, batch, layout)] = (layers, loss)
    return out


NETWORKS = _networks()


@functools.lru_cache(maxsize=None)
def network_derivation(name, batch, layout):
    from symcalc import nn
    layers, loss = NETWORKS[(name, batch, layout)]
    net = nn.Network(layers, loss=loss, batch=batch, samples=3 if batch else None)
    return net.backprop(layout).derivation


def _checked_by_default(style, layout):
    return (style, layout) in {("chain", "denominator"), ("differential", "numerator"),
                               ("index", "denominator")}


@functools.lru_cache(maxsize=None)
def build(name, k, style, layout):
    expr, params, _ = C[name]
    return derive(expr, params[k], layout=layout, style=style)


def _shape(e):
    if isinstance(e, MatrixElement) or (isinstance(e, Partial) and isinstance(e.den, MatrixElement)):
        return None  # an entry: its indices are free
    if any(isinstance(a, MatrixElement) and not a.i.is_Integer for a in sp.preorder_traversal(e)):
        return None
    return tuple(e.shape) if is_matrix(e) else (1, 1)


def _printed_objects(e):
    """Every ∂ and every symbol in e, with its shape."""
    for a in sp.preorder_traversal(e):
        if isinstance(a, (Partial, PartialMatrix, sp.MatrixSymbol, sp.Symbol)) and not isinstance(a, sp.Dummy):
            s = _shape(a)
            if s is not None:
                yield a, s


def _partials(e):
    return [a for a in sp.preorder_traversal(e) if isinstance(a, (Partial, PartialMatrix))]


def _products_of_partials(e):
    """For each product in e, how many of its factors are ∂ (and how many factors it has)."""
    for a in sp.preorder_traversal(e):
        if isinstance(a, (sp.MatMul, sp.Mul)):
            yield sum(isinstance(f, (Partial, PartialMatrix)) for f in a.args), len(a.args)


def properties(d, style):
    problems = []
    seen = {}
    for s in d.steps:
        if not s.is_definition and (s.lhs == s.rhs or text(s.lhs) == text(s.rhs)):
            problems.append(f"tautology: {text(s.lhs)} = {text(s.rhs)} [{s.rule}]")
        ls, rs = _shape(s.lhs), _shape(s.rhs)
        if ls is not None and rs is not None and ls != rs:
            problems.append(f"sides of {ls} and {rs}: {text(s.lhs)} = {text(s.rhs)}")
        for side in (s.lhs, s.rhs):
            for obj, shape in _printed_objects(side):
                printed = latex(obj)
                if seen.setdefault(printed, shape) != shape:
                    problems.append(f"{printed} is printed with shapes {seen[printed]} and {shape}")
    if style == "chain":
        chain = [s for s in d.steps if s.section == CHAIN and not s.is_definition]
        edges = [n for n in _model_edges(d)]
        if len(edges) >= 2 and chain:
            best = max((p for s in chain for p, _ in _products_of_partials(s.rhs)), default=0)
            mapped = any(_partials(s.rhs) and (len(_partials(s.rhs)) >= 2 or not isinstance(
                s.rhs, (Partial, PartialMatrix))) for s in chain)
            if best < 2 and not mapped:
                problems.append("the chain rule multiplies no local derivatives")
    return problems


def _model_edges(d):
    from symcalc.derivation.model import model_of
    model = model_of(d.expr, d.wrt)[0]
    return model.edges(model.output)


@pytest.mark.parametrize("name,k,style,layout", CASES)
def test_corpus_derivation(name, k, style, layout):
    d = build(name, k, style, layout)
    assert d.steps, "no steps"
    assert not properties(d, style), "\n".join(properties(d, style))
    if _checked_by_default(style, layout):
        report = d.check(sizes=SIZES, seed=1)
        assert report.ok, str(report)


@pytest.mark.parametrize("name,batch,layout", list(NETWORKS), ids=lambda v: str(v))
def test_network_derivation(name, batch, layout):
    """Backpropagation written out by symcalc.nn has the same properties."""
    d = network_derivation(name, batch, layout)
    assert not properties(d, "network"), "\n".join(properties(d, "network"))
    assert d.check().ok


@pytest.mark.slow
@pytest.mark.parametrize("name,k,style,layout",
                         [c for c in CASES if not _checked_by_default(c[2], c[3])])
def test_corpus_derivation_checked_in_every_style_and_layout(name, k, style, layout):
    report = build(name, k, style, layout).check(sizes=SIZES, seed=1)
    assert report.ok, str(report)


def test_the_corpus_is_large_enough():
    assert len(C) >= 30
    assert sum(len(p) for _, p, _ in C.values()) >= 50


def test_a_contradiction_fails_the_check():
    """The check evaluates the printed objects: δ defined as the column ∂L/∂z (denominator) in a
    numerator-layout derivation, or a step whose sides differ in shape, fail."""
    from symcalc.derivation import DEFINITION, Derivation, Step, partial
    d = build("sigmoid_layer", 0, "chain", "numerator")
    z = next(s.lhs for s in d.steps if s.is_definition and s.lhs.name == "z")
    delta = sp.MatrixSymbol("delta", *z.shape)
    wrong_layout = Step(DEFINITION, delta, partial(d.output, z, "denominator"), relation=r"\triangleq")
    report = Derivation.from_steps("bad", d.steps + [wrong_layout], "numerator", None).check(sizes=SIZES)
    assert not report.ok and "layout" in str(report)
    shaped = Step(DEFINITION, delta, partial(d.output, z, "numerator"), relation=r"\triangleq")
    report = Derivation.from_steps("bad", d.steps + [shaped], "numerator", None).check(sizes=SIZES)
    assert not report.ok and "shape" in str(report)
    transposed = Step("claimed", partial(d.output, z, "numerator"), delta.T)
    ok = Derivation.from_steps("ok", d.steps + [Step(DEFINITION, delta, partial(d.output, z, "numerator").T,
                                                     relation=r"\triangleq"), transposed], "numerator", None)
    assert ok.check(sizes=SIZES).ok


def test_issue_examples_read_as_asked():
    """The issue's complaints: no dL/dw = dL/dw, sums over uses, σ′ cancelling, softmax steps."""
    logistic = "\n".join(str(build("logistic_ridge", 0, s, l)) for s in STYLES
                         for l in ("denominator", "numerator"))
    assert "dL/dw = dL/dw" not in logistic and "dL1/dw + (lam/2)*dL2/dw" in logistic
    assert "cancel the common factors" in logistic and "a - y" in logistic
    skip = str(build("skip", 0, "chain", "denominator"))
    assert "one term per use of x" in skip
    tied = str(build("tied_autoencoder", 0, "chain", "denominator"))
    assert "one term per use of V" in tied
    softmax = str(build("softmax_ce", 0, "chain", "denominator"))
    for line in ("diag(s) - s*s.T", "1ᵀ y = 1", "s - y"):
        assert line in softmax, line
    weight = str(build("sigmoid_layer", 0, "chain", "numerator"))
    assert "from dz = (dW)*x" in weight, weight


def test_no_closed_form_that_solve_refuses():
    """½(wᵀa + b − y)²: a aᵀ has rank one, so no closed form (solve refuses it too); general WLS
    writes its normal equations with W + Wᵀ, not −W − Wᵀ."""
    assert "Closed form" not in build("rank_one", 0, "chain", "denominator").latex()
    wls = build("wls_general", 0, "chain", "denominator")
    normal = [s for s in wls.steps if s.rule.startswith("set to zero")]
    assert normal and "W + W.T" in text(normal[0].lhs) and "W + W.T" in text(normal[0].rhs)
    assert "-W" not in text(normal[0].lhs)


def test_the_properties_catch_what_they_claim_to():
    """A restated step, sides of two shapes and one symbol with two shapes are all reported."""
    from symcalc.derivation import Derivation, Step, partial
    x, y = sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("y", 2, 1)
    L = sp.MatrixSymbol("L", 1, 1)
    steps = [Step("chain rule", partial(L, x), partial(L, x), section=CHAIN),
             Step("wrong shape", partial(L, x), y),
             Step("other layout", partial(L, x, "numerator"), x.T)]
    found = properties(Derivation.from_steps("bad", steps, "denominator", None), "index")
    assert any(p.startswith("tautology") for p in found)
    assert any(p.startswith("sides of (3, 1) and (2, 1)") for p in found)
    assert any("printed with shapes" in p for p in found)


@pytest.mark.latex
def test_every_corpus_derivation_fits_the_page(tmp_path):
    """One document with every derivation of the corpus; the log has no overfull line."""
    import shutil
    import subprocess
    from symcalc.printing import standalone
    if not (shutil.which("pdflatex")):
        pytest.skip("pdflatex not installed")
    parts = []
    for case in CASES:
        name, k, style, layout = case
        parts.append("%% corpus: %s\n\\subsection*{%s}\n%s" % (
            "/".join(map(str, case)), " ".join(map(str, case)).replace("_", " "),
            build(*case).latex()))
    for key in NETWORKS:
        parts.append("%% corpus: network %s\n\\subsection*{network %s}\n%s" % (
            "/".join(map(str, key)), " ".join(map(str, key)), network_derivation(*key).latex()))
    tex = standalone("\n\n".join(parts))
    # symcalc's own math in rule texts passes the user-LaTeX allow-list (else it is set as text)
    assert "textbackslash" not in tex, [p.split("\n")[0] for p in parts if "textbackslash" in p]
    (tmp_path / "corpus.tex").write_text(tex)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "corpus.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / "corpus.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    starts = [(k, line) for k, line in enumerate(tex.splitlines(), 1) if line.startswith("% corpus:")]
    overfull = []
    for m in re.finditer(r"Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*lines? (\d+)", log):
        if float(m.group(1)) > 1.0:
            at = int(m.group(2))
            overfull.append("%s pt in %s" % (m.group(1), [c for k, c in starts if k <= at][-1]))
    assert not overfull, "\n".join(overfull)
