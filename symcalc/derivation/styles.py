r"""``derive``: the chain-rule, differential and single-element (index) derivations.

All three start from the same chain of intermediate variables. ``decompose`` cuts the expression at
its outermost sub-expression that holds every occurrence of the variable (``y − Xθ`` in
``(y − Xθ)ᵀ(y − Xθ)``), names it, and repeats inside it until what is left is affine in the
variable or has no such cut (``det X``). The derivatives themselves always come from the engine
(``symcalc.diff``), applied to the named intermediates, so a derivation never has a rule of its own
that could disagree with ``sc.diff``; ``Derivation.check`` confirms each step numerically.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import limits
from ..diff import backward, diff, split_affine
from ..diff.engine import prepare
from ..diff.indices import sum_to_matrix
from ..diff.rules import lookup
from ..errors import ShapeError, SymcalcError, UnsupportedError
from ..functions import InternalMatrix, Softmax, as_expression, is_matrix
from ..simplify import add, coefficient, mul, scalar, textbook, transpose
from .core import DEFINITION, Derivation, Step
from .nodes import LAYOUTS, as_factor, differential, partial, partial_shape

STYLES = ("chain", "differential", "index")

INTERMEDIATES = "Intermediate variables"
LOCAL = "Local derivatives"
CHAIN = "Chain rule"
DIFFERENTIALS = "Differentials"
SUBSTITUTION = "Substitution"
IDENTIFICATION = "Identification"
ENTRY = "One entry"
CLOSED = "Closed form"

#: A result longer than this (characters of plain text) stays in terms of the intermediates,
#: so that a line fits the page beside its shape and rule.
SUBSTITUTE_LIMIT = 70


def _short(e):
    """Short enough to print in a line. A tree of four times as many nodes as characters allowed is
    not, and is never printed to find out (a deep network's result written out is exponentially
    long: at depth 10, printing it took 100 s)."""
    count, stack = 0, [e]
    while stack:
        count += 1
        if count > 4 * SUBSTITUTE_LIMIT:
            return False
        node = stack.pop()
        if not isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
            stack.extend(getattr(node, "args", ()))
    return len(sp.sstr(e)) <= SUBSTITUTE_LIMIT


@dataclass
class Link:
    """v = body(prev): one named intermediate and the one before it."""

    var: sp.Basic  # the symbol naming this value
    prev: sp.Basic  # the symbol (or the variable) it is a function of
    body: sp.Basic  # its definition in terms of prev
    node: sp.Basic  # the sub-expression of the original it stands for


# ---------------------------------------------------------------------- decomposition

def _size(e):
    return len(set(sp.preorder_traversal(e)))


def degree(e, v):
    """Polynomial degree of e in v through sums, products and transposes; ∞ through anything else."""
    if e == v:
        return 1
    if not e.has(v):
        return 0
    if isinstance(e, (sp.MatAdd, sp.Add)):
        return max(degree(a, v) for a in e.args)
    if isinstance(e, (sp.MatMul, sp.Mul, sp.HadamardProduct, sp.KroneckerProduct)):
        return sum(degree(a, v) for a in e.args)
    if isinstance(e, (sp.Transpose, sp.Trace)):
        return degree(e.args[0], v)
    if isinstance(e, MatrixElement):
        return degree(e.parent, v)
    return float("inf")


def _cut(e, s, U):
    mapping = {s: U}
    if is_matrix(s):
        for t in (s.T, sp.Transpose(s), transpose(s)):
            if t != s:
                mapping[t] = U.T
    return e.xreplace(mapping)


def _outermost_cut(e, v):
    """The largest proper sub-expression of e holding every occurrence of v, or None.

    Of a row and its column transpose (uᵀ and u), both valid cuts, the column is named.
    """
    valid = []
    nodes = set(sp.preorder_traversal(e))
    bound = {b for s in nodes if isinstance(s, sp.Lambda) for b in s.variables}
    for s in nodes:
        if s == e or s == v or not isinstance(s, sp.Expr) or not s.has(v):
            continue
        if isinstance(s, sp.Lambda) or s.free_symbols & bound:  # inside an entrywise body
            continue
        if isinstance(s, sp.Transpose) and s.arg == v:
            continue
        c, core = coefficient(s) if is_matrix(s) else s.as_coeff_Mul()
        if core == v:
            continue
        probe = InternalMatrix("probe", *s.shape) if is_matrix(s) else sp.Dummy("probe")
        if not _cut(e, s, probe).has(v):
            valid.append(s)
    if not valid:
        return None
    best = max(valid, key=lambda s: (_size(s), sp.default_sort_key(s)))
    if is_matrix(best) and best.rows == 1 and best.cols != 1:
        for t in valid:
            if t.cols == 1 and best in (t.T, transpose(t), sp.Transpose(t)):
                return t
    return best


_ACTIVATIONS = (ElementwiseApplyFunction, Softmax)
_MATRIX_FUNCTIONS = (sp.Determinant, sp.Inverse)


def _nodes(expr, v):
    """[e_m = expr, ..., e_1]: the intermediates a textbook names, outermost first.

    The full chain of cuts (each the outermost cut of the one before) is thinned to the nodes a
    lecture names: an affine map of the previous one (z = Wx + b, u = y − Xθ), an activation of an
    affine map (a = σ(z), p = softmax(z)), a matrix function of the variable (det X). The rest of
    the chain is folded into the next named node, so the loss stays one step: L = −Σ y ⊙ log p.
    """
    chain = [expr]
    while degree(chain[-1], v) > 1:
        s = _outermost_cut(chain[-1], v)
        if s is None:
            break
        chain.append(s)
    kept, prev, prev_affine = [], v, True
    for node in reversed(chain[1:]):  # from the inside
        probe = _probe(prev)
        body = node if prev is v else _cut(node, prev, probe)
        if degree(body, probe if prev is not v else v) <= 1:
            if kept and prev_affine and prev is not v:  # an affine map of an affine map is one map
                kept.pop()
            keep, affine = True, True
        elif isinstance(node, _ACTIVATIONS) and (node.args[-1] == prev if isinstance(node, Softmax)
                                                 else node.expr == prev) and prev_affine and prev is not v:
            keep, affine = True, False
        elif isinstance(node, _MATRIX_FUNCTIONS) and node.args[0] == v:
            keep, affine = True, False
        else:
            keep = False
        if keep:
            kept.append(node)
            prev, prev_affine = node, affine
    return [expr] + list(reversed(kept))


def _probe(like):
    return InternalMatrix("probe", *like.shape) if is_matrix(like) else sp.Dummy("probe")


def _taken(expr, wrt):
    names = {a.name for a in sp.preorder_traversal(expr)
             if isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not isinstance(a, sp.Dummy)}
    for m in expr.atoms(sp.MatrixSymbol):
        names |= {s.name for s in m.free_symbols if isinstance(s, sp.Symbol)}
    return names | {wrt.name}


def _fresh(base, taken):
    if base not in taken:
        return base
    for k in range(2, 100):
        if f"{base}{k}" not in taken:
            return f"{base}{k}"
    raise RuntimeError("no fresh name")  # pragma: no cover


def _symbol(name, like):
    if is_matrix(like):
        return sp.MatrixSymbol(name, *like.shape)
    return sp.Symbol(name, real=True)


def _names(nodes, taken, output_name):
    """Names for the intermediates e_{m-1}, ..., e_1 (inner first: z, a per layer for networks)."""
    inner = list(reversed(nodes[1:]))  # e_1 ... e_{m-1}
    network = any(isinstance(n, _ACTIVATIONS) for n in inner)
    names, layer = [], 0
    if network:
        layers = sum(1 for n in inner if not isinstance(n, _ACTIVATIONS))
        for n in inner:
            if not isinstance(n, _ACTIVATIONS):
                layer += 1
                base = "z"
            else:
                base = "a"
            names.append(f"{base}{layer}" if layers > 1 else base)
    else:
        letters = iter(["u", "v", "w", "s", "r", "q", "p"])
        for n in inner:
            name = next(letters)
            names.append(name.upper() if is_matrix(n) and n.rows != 1 and n.cols != 1 else name)
    out = []
    for name in names:
        name = _fresh(name, taken)
        taken.add(name)
        out.append(name)
    return out


def decompose(expr, wrt, output_name=None):
    """(links from the input to the output, output symbol) for expr as a function of wrt."""
    nodes = _nodes(expr, wrt)
    taken = _taken(expr, wrt)
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    out_name = output_name or _fresh("L" if scalar_out else "f", taken)
    taken.add(out_name)
    names = _names(nodes, taken, out_name)
    symbols = [_symbol(nm, nd) for nm, nd in zip(names, reversed(nodes[1:]))]
    out = _symbol(out_name, expr)
    # e_k with e_{k-1} cut out, from the inside
    inner_nodes = list(reversed(nodes))  # e_1 ... e_m
    vars_ = symbols + [out]
    links, prev, prev_node = [], wrt, wrt
    for node, var in zip(inner_nodes, vars_):
        body = node if prev is wrt else _cut(node, prev_node, prev)
        links.append(Link(var, prev, body, node))
        prev, prev_node = var, node
    return links, out


# ---------------------------------------------------------------------- helpers

def rule_names(body, var):
    """The engine's rules that differentiating body by var applies, in order of use."""
    seed = None
    if is_matrix(body) and body.shape != (1, 1):
        seed = InternalMatrix("seed", *body.shape)
    try:
        order = backward(body, [var], seed=seed).order
    except Exception:  # the names are decoration; the derivative itself is computed elsewhere
        return ""
    names = []
    for node in order:
        if node == var or isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
            continue
        try:
            name = lookup(node).name
        except UnsupportedError:
            continue
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _times(a, b):
    """a · b kept as written (scalars in front, as a product of a scalar and a matrix reads)."""
    if not is_matrix(a) and not is_matrix(b):
        return sp.Mul(a, b, evaluate=False)
    return sp.MatMul(a, b)


def rebuild(e):
    """Rebuild e bottom-up with the engine's constructors: 0·D and I·A vanish, products flatten."""
    if not isinstance(e, sp.Basic) or not e.args:
        return e
    if isinstance(e, (sp.Lambda, ElementwiseApplyFunction)):
        return e.func(*[rebuild(a) if isinstance(a, sp.Expr) and not isinstance(e, sp.Lambda) else a
                        for a in e.args])
    args = [rebuild(a) for a in e.args]
    if isinstance(e, sp.MatMul):
        return mul(*args)
    if isinstance(e, sp.MatAdd):
        return add(e.shape, *args)
    if isinstance(e, sp.Transpose):
        return transpose(args[0])
    if isinstance(e, sp.Trace) and is_matrix(args[0]) and args[0].shape == (1, 1):
        return sp.Trace(args[0])
    return e.func(*args)


def untrace(e):
    """A scalar c·tr(M) with M 1 x 1 as the 1 x 1 matrix c·M (dL = 2uᵀdu, not tr(2uᵀdu))."""
    if isinstance(e, sp.Trace) and e.arg.shape == (1, 1):
        return e.arg
    if isinstance(e, sp.Mul):
        traces = [a for a in e.args if isinstance(a, sp.Trace) and a.arg.shape == (1, 1)]
        if traces:
            rest = sp.Mul(*[a for a in e.args if a not in traces])
            if not rest.has(sp.Trace):  # 1 x 1 factors multiply as matrices do
                return mul(rest, *[t.arg for t in traces])
    if isinstance(e, sp.Add) and all(untrace(a) is not a for a in e.args):
        parts = [untrace(a) for a in e.args]
        if all(is_matrix(p) for p in parts):
            return add((1, 1), *parts)
    return e


def tidy11(e):
    """1 x 1 matrices read as numbers: I ⊙ M = M, and the 1 x 1 identity in a sum is a one."""
    def had(h):
        args = [a for a in h.args if not (isinstance(a, sp.Identity) and a.shape == (1, 1))]
        return args[0] if len(args) == 1 else sp.HadamardProduct(*args)
    e = e.replace(lambda a: isinstance(a, sp.HadamardProduct) and a.shape == (1, 1), had)
    return e.replace(lambda a: isinstance(a, sp.MatAdd) and a.shape == (1, 1),
                     lambda a: a.xreplace({sp.Identity(1): sp.OneMatrix(1, 1)}))


def _substitute_back(e, links):
    """Intermediates replaced by what they stand for, outermost first."""
    for link in reversed(links):
        if isinstance(link.var, (sp.Symbol, sp.MatrixSymbol)):
            e = e.xreplace({link.var: link.node})
    return e


def _final_steps(lhs, simplified, links, result, rule_simplify="simplified"):
    """Simplified form, then in the original variables, then the textbook form."""
    out = [Step(rule_simplify, lhs, simplified, section=CHAIN)]
    back = textbook(_substitute_back(simplified, links))
    if back != simplified and _short(back):
        out.append(Step("intermediates substituted", lhs, back, section=CHAIN))
    if result is not None and result != out[-1].rhs and _short(result) and _size(result) < _size(out[-1].rhs):
        out.append(Step("textbook form", lhs, result, section=CHAIN))
    return out


#: rules whose step only restates the line before when nothing changed
_RESTATING = ("simplified", "rearranged", "intermediates substituted", "textbook form")


def _dedupe(steps):
    """Steps without repeats: the same line twice in a section, or a "simplified" or
    "rearranged" line that changed nothing."""
    out = []
    for s in steps:
        if out and s.lhs == out[-1].lhs and s.rhs == out[-1].rhs and (
                s.section == out[-1].section or s.rule in _RESTATING):
            continue
        out.append(s)
    return out


def _definitions(links, wrt):
    return [Step(DEFINITION, link.var, link.body, section=INTERMEDIATES) for link in links]


# ---------------------------------------------------------------------- chain style

def _jacobian_form(link, layout):
    try:
        partial_shape(link.var, link.prev, layout)
        return True
    except UnsupportedError:
        return False


def _vjp(link, seed, layout):
    """The gradient map of one link: ∂L/∂prev from ∂L/∂var (= seed, in ``layout``)."""
    if layout == "numerator":
        seed = transpose(seed)
    g = backward(link.body, [link.prev], seed=seed).gradients[link.prev]
    return g if layout == "denominator" else textbook(transpose(g))


def chain_steps(expr, wrt, layout, links, out, result):
    steps = _definitions(links, wrt)
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    local = {}
    for link in links:
        if _jacobian_form(link, layout):
            try:
                J = diff(link.body, link.prev, layout=layout)
            except UnsupportedError:
                if not scalar_out:
                    raise
                continue
            if link.body != link.var:  # σ'(z) = σ(z)(1 − σ(z)) reads a ⊙ (1 − a) once a = σ(z)
                J = J.xreplace({link.body: link.var})
            P = partial(link.var, link.prev, layout)
            J11 = tidy11(J)
            J = tidy11(scalar(J) if not is_matrix(P) and is_matrix(J) else J)
            local[link.var] = (P, J, J11)
            steps.append(Step(rule_names(link.body, link.prev) or "local derivative", P, J, section=LOCAL))
    if not scalar_out and any(l.var not in local for l in links):
        raise UnsupportedError(
            f"the chain-rule derivation of the {expr.rows} x {expr.cols} expression {expr} by {wrt} "
            "needs every local derivative in matrix form; use style='differential', or differentiate "
            "a scalar function of it")
    composite = simplified = None
    inserted = {}  # written factor -> its value
    lone = None  # (factor, 1 x 1 value) while the product is a single scalar factor

    def keeps_place(P, neighbour):
        """Whether a scalar factor beside ``neighbour`` can be written as a 1 x 1 matrix, so that
        it keeps its place in the product (SymPy moves scalars to the front)."""
        if neighbour is None or not is_matrix(neighbour):
            return False
        return (neighbour.rows if layout == "denominator" else neighbour.cols) == 1

    for link in reversed(links):
        if link.var in local:
            P, J, J11 = local[link.var]
            if lone is not None and is_matrix(P) and \
                    (P.cols if layout == "denominator" else P.rows) == 1:
                del inserted[composite]
                composite, simplified = as_factor(lone[0]), lone[1]
                inserted[composite] = simplified
            lone = None
            if not is_matrix(P) and is_matrix(J11):
                if composite is None:
                    lone = (P, J11)
                elif keeps_place(P, composite):
                    P, J = as_factor(P), J11
            inserted[P] = J
            if composite is None:
                composite, simplified = P, J
            elif layout == "denominator":
                composite, simplified = _times(P, composite), mul(J, simplified)
            else:
                composite, simplified = _times(composite, P), mul(simplified, J)
        else:
            if composite is None:
                raise UnsupportedError(f"{expr}: the last link has no matrix-form derivative")
            composite = _vjp(link, composite, layout)
            simplified = _vjp(link, simplified, layout)
            lone = None
    lhs = partial(out, wrt, layout)
    order = "from the input to the output" if layout == "denominator" else "from the output to the input"
    steps.append(Step(f"chain rule, {layout} layout: factors {order}", lhs, composite, section=CHAIN))
    if len(links) > 1:
        substituted = composite.xreplace(inserted)
        if substituted != composite:
            steps.append(Step("local derivatives inserted", lhs, substituted, section=CHAIN))
    steps += _final_steps(lhs, textbook(simplified), links, result)
    return _dedupe(steps)


# ---------------------------------------------------------------------- differential style

def _jvp(link):
    """d(var) as a linear expression in d(prev)."""
    body, prev = link.body, link.prev
    dprev = differential(prev)
    if not is_matrix(body) or body.shape == (1, 1):
        G = diff(body, prev, layout="denominator")
        if not is_matrix(prev):
            return mul(G, dprev) if is_matrix(G) else G * dprev
        if prev.cols == 1:
            return mul(transpose(G), dprev)
        return sp.Trace(mul(transpose(G), dprev))
    if not is_matrix(prev) or (prev.cols == 1 and body.cols == 1):
        J = diff(body, prev, layout="numerator")
        return mul(J, dprev) if is_matrix(prev) else mul(dprev, J)
    eps = sp.Dummy("epsilon")
    D = InternalMatrix("direction", *prev.shape)
    moved = body.xreplace({prev: prev + eps * D})
    J = diff(moved, eps, layout="numerator")
    return textbook(rebuild(J.xreplace({eps: 0}))).xreplace({D: dprev})


def _identify(out, wrt, G, layout):
    """dL = ⟨G, dθ⟩ in the textbook form for the variable's kind, and the rule that reads G off."""
    dx = differential(wrt)
    if not is_matrix(wrt):
        form = mul(G, dx) if is_matrix(G) else G * dx
        rule = "identification: $dL = g\\,dx \\Rightarrow \\partial L/\\partial x = g$"
    elif wrt.cols == 1:
        form = mul(transpose(G), dx)
        rule = ("identification: $dL = a^\\top dx \\Rightarrow \\partial L/\\partial x = "
                + ("a$ (denominator)" if layout == "denominator" else "a^\\top$ (numerator)"))
    else:
        form = sp.Trace(mul(transpose(G), dx))
        rule = ("identification: $dL = \\operatorname{tr}(A^\\top dX) \\Rightarrow \\partial L/\\partial X = "
                + ("A$ (denominator)" if layout == "denominator" else "A^\\top$ (numerator)"))
    return form, rule


def _read_off(dL, wrt):
    """G with dL = ⟨G, dX⟩, from dL written with the differential dX: dL is linear in dX, so G is
    its gradient by dX (in whatever names dL uses). None when dL is not a matrix expression."""
    dx = differential(wrt)
    probe = _probe(wrt)
    linear = dL.xreplace({dx: probe})
    if linear.has(dx) or not linear.has(probe):
        return None
    try:
        return textbook(backward(linear, [probe]).gradients[probe])
    except SymcalcError:
        return None


def differential_steps(expr, wrt, layout, links, out, result):
    steps = _definitions(links, wrt)
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    if not scalar_out and not (expr.cols == 1 and (not is_matrix(wrt) or wrt.cols == 1)):
        raise UnsupportedError(
            f"the differential style identifies a gradient (scalar output) or a Jacobian (vector by "
            f"vector); {expr} is {expr.rows} x {expr.cols} and {wrt} is "
            f"{wrt.rows if is_matrix(wrt) else 1} x {wrt.cols if is_matrix(wrt) else 1}: use "
            "sc.diff(..., vec=True) for the Kronecker form")
    jvps = {}
    for link in reversed(links):
        jvps[link.var] = _jvp(link)
        steps.append(Step(rule_names(link.body, link.prev) or "differential", differential(link.var),
                          untrace(jvps[link.var]), section=DIFFERENTIALS))
    lhs = differential(out)
    composite = jvps[out]
    for link in reversed(links[:-1]):
        composite = composite.xreplace({differential(link.var): jvps[link.var]})
    if len(links) > 1:
        steps.append(Step("substitute the differentials", lhs, untrace(composite), section=SUBSTITUTION))
    simple = untrace(textbook(rebuild(composite)))
    steps.append(Step("simplified", lhs, simple, section=SUBSTITUTION))
    back = untrace(textbook(_substitute_back(simple, links)))
    if _short(back):
        steps.append(Step("intermediates substituted", lhs, back, section=SUBSTITUTION))
    if scalar_out:
        # the gradient read off dL in the intermediates' names, as the lines above write it
        G = _read_off(steps[-1].rhs, wrt)
        if G is None:
            G = result if layout == "denominator" else textbook(transpose(result)) if is_matrix(result) else result
        form, rule = _identify(out, wrt, G, layout)
        last = steps[-1].rhs
        linear_in_dx = isinstance(last, sp.MatMul) and last.args[-1] == differential(wrt)
        if not linear_in_dx:
            steps.append(Step("rearranged", lhs, untrace(form), section=IDENTIFICATION))
        shown = G if layout == "denominator" or not is_matrix(G) else textbook(transpose(G))
        steps.append(Step(rule, partial(out, wrt, layout), shown, section=IDENTIFICATION))
        if shown != result and _short(result):
            steps.append(Step("intermediates substituted", partial(out, wrt, layout), result,
                              section=IDENTIFICATION))
        return _dedupe(steps)
    else:
        J = result if layout == "numerator" else textbook(transpose(result))
        form = mul(J, differential(wrt)) if is_matrix(wrt) else mul(J, differential(wrt))
        rule = ("identification: $df = J\\,dx \\Rightarrow \\partial f/\\partial x = J$ (numerator)"
                if layout == "numerator" else
                "identification: $df = J\\,dx \\Rightarrow \\partial f/\\partial x = J^\\top$ (denominator)")
        steps.append(Step("rearranged", lhs, form, section=IDENTIFICATION))
    steps.append(Step(rule, partial(out, wrt, layout), result, section=IDENTIFICATION))
    return _dedupe(steps)


# ---------------------------------------------------------------------- index style

_INDEXABLE = (sp.MatrixSymbol, sp.MatMul, sp.MatAdd, sp.Transpose, sp.Trace, sp.Identity, sp.ZeroMatrix,
              MatrixElement, sp.Add, sp.Mul, sp.Symbol, sp.Number, sp.HadamardProduct, sp.Tuple)


def _index_names(expr, taken):
    free = [n for n in ("i", "j", "k", "l", "m", "p", "q", "r", "s", "t") if n not in taken]
    return [sp.Symbol(n, integer=True) for n in free]


def _clean_dummies(e, names):
    dummies = sorted(e.atoms(sp.Dummy), key=str)
    return e.xreplace({dm: nm for dm, nm in zip(dummies, names)})


def _entry_of(expr, a, b):
    if isinstance(expr, sp.Trace):
        k = sp.Dummy("k", integer=True)
        return sp.Sum(expr.arg[k, k], (k, 0, expr.arg.rows - 1)).doit()
    if is_matrix(expr):
        return expr[a, b]
    return expr


def _index_applies(expr, wrt):
    """None if the single-element method applies, else why not."""
    ykind = "scalar" if not is_matrix(expr) or expr.shape == (1, 1) else (
        "column" if expr.cols == 1 else "matrix")
    xkind = "scalar" if not is_matrix(wrt) else ("column" if wrt.cols == 1 else "matrix")
    if ykind == "scalar" and xkind == "scalar":
        return "the derivative of a scalar by a scalar has no entries to generalize"
    if ykind == "matrix" or (ykind == "column" and xkind == "matrix"):
        return (f"the derivative of a {ykind} by a {xkind} is a 3- or 4-way array, with no matrix of "
                "entries to reassemble")
    bad = [n for n in sp.preorder_traversal(expr) if isinstance(n, sp.Basic)
           and not isinstance(n, _INDEXABLE) and not isinstance(n, (sp.Integer, sp.Rational))
           and not (isinstance(n, sp.Basic) and not n.args and not isinstance(n, sp.Expr))]
    bad = [n for n in bad if isinstance(n, sp.Expr)]
    if bad:
        return (f"its entries are not sums of products of entries ({type(bad[0]).__name__} in "
                f"{bad[0]}); the index style handles matrix products, sums, transposes and traces")
    return None


def index_steps(expr, wrt, layout, out, result):
    why = _index_applies(expr, wrt)
    if why is not None:
        applicable = [s for s in ("chain", "differential") if _applies(s, expr, wrt)]
        raise UnsupportedError(
            f"the index (single-element) style does not apply to ∂({expr})/∂({wrt}): {why}. "
            f"Styles that apply here: {', '.join(applicable) if applicable else 'none (use sc.diff with vec=True)'}")
    taken = _taken(expr, wrt)
    i, j, *rest = _index_names(expr, taken)
    P = partial(expr, wrt, layout)
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    # which entry of y and of x entry (i, j) of the layout pairs
    if scalar_out:
        if wrt.cols == 1:
            pos, yent, xent = ((i, 0) if layout == "denominator" else (0, i)), (0, 0), (i, 0)
            words = "entry $i$ is $\\partial L/\\partial x_i$"
        else:
            pos = (i, j)
            xent = (i, j) if layout == "denominator" else (j, i)
            yent = (0, 0)
            words = ("entry $(i, j)$ is $\\partial L/\\partial X_{ij}$" if layout == "denominator"
                     else "entry $(i, j)$ is $\\partial L/\\partial X_{ji}$")
    elif not is_matrix(wrt):
        pos = (i, 0) if layout == "numerator" else (0, i)
        yent, xent = (i, 0), None
        words = "entry $i$ is $\\partial y_i/\\partial x$"
    else:
        pos = (i, j)
        yent, xent = ((i, 0), (j, 0)) if layout == "numerator" else ((j, 0), (i, 0))
        words = ("entry $(i, j)$ is $\\partial y_i/\\partial x_j$" if layout == "numerator"
                 else "entry $(i, j)$ is $\\partial y_j/\\partial x_i$")
    lhs = P[pos[0], pos[1]]
    y_entry = MatrixElement(expr, *yent) if is_matrix(expr) and expr.shape != (1, 1) else expr
    x_entry = wrt[xent[0], xent[1]] if xent is not None else wrt
    steps = [Step(f"{layout} layout: {words}", lhs, partial(y_entry, x_entry), section=ENTRY)]
    as_sum = _clean_dummies(_entry_of(expr, *yent) if is_matrix(expr) or isinstance(expr, sp.Trace)
                            else expr, rest)
    if as_sum != y_entry:
        steps.append(Step("the entry written as a sum", lhs, partial(as_sum, x_entry), section=ENTRY))
    derived = sp.diff(as_sum, x_entry)
    steps.append(Step("differentiate term by term: $\\partial x_k/\\partial x_j = \\delta_{kj}$", lhs,
                      _clean_dummies(derived, rest), section=ENTRY))
    done = _clean_dummies(derived.doit(), rest)
    done = sp.piecewise_fold(done)
    if done.has(sp.Piecewise):
        done = done.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0][0])
    steps.append(Step("the Kronecker delta keeps one term of each sum", lhs, done, section=ENTRY))
    if done.has(sp.Sum):
        as_matrix = done.replace(lambda e: isinstance(e, sp.Sum), sum_to_matrix)
        if as_matrix != done:
            steps.append(Step("sums read as matrix products", lhs, as_matrix, section=ENTRY))
    steps.append(Step("reassembled: the entries above, for every index", P, result,
                      section="Matrix form"))
    return _dedupe(steps)


def _applies(style, expr, wrt):
    try:
        derive(expr, wrt, style=style, closed_form=False)
        return True
    except (UnsupportedError, ShapeError):
        return False


# ---------------------------------------------------------------------- closed form

def closed_form_steps(original, expr, wrt, layout, out, gradient):
    """Set an affine gradient to zero and solve: the normal equations. [] when it does not apply."""
    if not is_matrix(wrt) or wrt.cols != 1:
        return []
    try:
        M, c = split_affine(gradient, wrt)
    except UnsupportedError:
        return []
    if isinstance(M, sp.ZeroMatrix) or isinstance(c, sp.ZeroMatrix) or M.rows != M.cols:
        return []
    k, core = coefficient(M)
    lhs_eq = mul(core, wrt)
    rhs_eq = textbook(mul(-1 / k, c))
    star = sp.MatrixSymbol(_fresh(wrt.name + "hat", _taken(expr, wrt)), *wrt.shape)
    solution = mul(sp.Inverse(core), rhs_eq)
    conditions, nature = [core], None
    try:  # the verifier's solver is the authority on the solution's form and its conditions
        from ..numeric.closed_form import solve_stationary
        cf = solve_stationary(original, wrt)
        solution = cf.solution
        conditions = [c.matrix for c in cf.conditions if getattr(c, "matrix", None) is not None] or conditions
        nature = cf.nature if cf.nature in ("minimum", "maximum") else None
    except (ImportError, SymcalcError):
        pass
    note = "the stationary point, when %s invertible" % " and ".join(
        "{%d} is" % k for k in range(len(conditions)))
    if nature:
        note += "; a %s" % nature
    P = partial(out, wrt, "denominator")
    first = "the gradient is affine in the variable" + (
        "" if layout == "denominator" else " (written as a column, in denominator layout)")
    return [
        Step(first, P, add(wrt.shape, mul(M, wrt), c), section=CLOSED),
        Step("set to zero (normal equations)", lhs_eq, rhs_eq, section=CLOSED, where={wrt: star}),
        Step(DEFINITION, star, solution, section=CLOSED, note=note, note_args=tuple(conditions)),
    ]


# ---------------------------------------------------------------------- derive

@limits.deep
def derive(expr, wrt, layout="denominator", style="chain", notation=None, name=None,
           closed_form=True) -> Derivation:
    """A step-by-step derivation of ∂expr/∂wrt in ``layout``.

    style        "chain" (named intermediates, local derivatives, their product in layout order),
                 "differential" (dL = … dθ, then identification), or "index" (one entry, then
                 reassembled; for products, sums, transposes and traces)
    notation     a ``symcalc.printing.Notation`` for the derivation's LaTeX (checked against expr)
    name         the output's name (default L for a scalar, f otherwise)
    closed_form  end with the stationary point when the gradient is affine in the variable
    """
    if layout not in LAYOUTS:
        from ..errors import LayoutError
        raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")
    if style not in STYLES:
        raise UnsupportedError(f"style is one of {', '.join(STYLES)}, not {style!r}")
    if not isinstance(wrt, (sp.Symbol, sp.MatrixSymbol)):
        raise UnsupportedError(f"derive differentiates with respect to a sp.Symbol or sp.MatrixSymbol, "
                               f"not the {type(wrt).__name__} {wrt}")
    original = expr = as_expression(expr)
    if notation is not None:
        notation.validate(original, wrt)
    expr, restore = prepare(expr)
    expr = expr.xreplace(restore)  # declared symmetry is the engine's business; keep the user's symbols
    if not expr.has(wrt):
        raise UnsupportedError(f"{original} does not depend on {wrt}")
    result = diff(original, wrt, layout=layout)
    links, out = decompose(expr, wrt, output_name=name)
    if style == "chain":
        steps = chain_steps(expr, wrt, layout, links, out, result)
    elif style == "differential":
        steps = differential_steps(expr, wrt, layout, links, out, result)
    else:
        steps = [Step(DEFINITION, out, expr, section=INTERMEDIATES)]
        steps += index_steps(expr, wrt, layout, out, result)
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    if closed_form and scalar_out and style != "index":
        gradient = result if layout == "denominator" else textbook(transpose(result))
        steps += closed_form_steps(original, expr, wrt, layout, out, gradient)
    return Derivation(original, wrt, layout, style, result, steps, notation=notation,
                      parameters=(wrt,), output=out)
