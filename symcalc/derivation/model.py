r"""The step model: the named intermediates of an expression, over its DAG, computed once.

Every style prints the same model. ``build_model(expr, wrt)`` names what a lecturer names:

* each term of a sum that makes the output (L = L₁ + λ L₂, a loss and its penalty);
* each affine map (z = W x + b, u = y − X θ) and each nonlinearity applied to one (a = σ(z),
  s = softmax(z)), each matrix function of the variable (det X);
* where the variable reaches a node along several paths (a skip connection r = x + W₂ tanh(W₁ x),
  a tied weight R = X − Vᵀ σ(V X)), the node where the paths meet, and each nonlinear branch.

A node's ``body`` is its definition in the names of the nodes it uses; ``inputs`` are the named
nodes (and the variable) the body depends on. The edges form a DAG; the styles sum over the uses
of a node (the multivariable chain rule) and multiply along each path.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .. import dag
from ..diff.engine import prepare
from ..functions import ELEMENT, InternalMatrix, Softmax, elementwise, is_matrix
from ..functions import LayerNorm
from ..simplify import coefficient, transpose

#: nonlinearities a lecture names when they act on an affine map
ACTIVATIONS = (ElementwiseApplyFunction, Softmax, LayerNorm)  # a = σ(z), s = softmax(z), ẑ = LN(z)
#: matrix functions of the variable that get a name of their own
MATRIX_FUNCTIONS = (sp.Determinant, sp.Inverse)
#: operations that are polynomial in their arguments (the variable passes through them "linearly")
_POLYNOMIAL = (sp.MatAdd, sp.Add, sp.MatMul, sp.Mul, sp.HadamardProduct, sp.KroneckerProduct,
               sp.Transpose, sp.Trace, MatrixElement)


@dataclass(frozen=True)
class Node:
    """One named intermediate: ``symbol = body``, the body over ``inputs``."""

    symbol: sp.Basic
    expr: sp.Basic      # the sub-expression of the input it stands for
    body: sp.Basic
    inputs: tuple       # named nodes (symbols) and the variable the body depends on
    kind: str           # "affine", "activation", "function", "term", "output"


@dataclass
class Model:
    """The named intermediates of ``expr`` as a function of ``wrt``, inputs first, output last.

    ``terms``: [(coefficient, symbol)] when the output is a sum of named terms (L = L₁ + λ L₂),
    else None.
    """

    expr: sp.Basic
    wrt: sp.Basic
    output: sp.Basic
    nodes: list
    terms: list | None = None
    _by_symbol: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._by_symbol = {n.symbol: n for n in self.nodes}

    def node(self, symbol) -> Node:
        return self._by_symbol[symbol]

    def users(self, symbol, within=None) -> list:
        """The nodes whose body uses ``symbol`` (restricted to ``within``, a set of symbols)."""
        return [n.symbol for n in self.nodes if symbol in n.inputs
                and (within is None or n.symbol in within)]

    def reaching(self, target) -> list:
        """The symbols on some path from the variable to ``target`` (target included), inputs first."""
        below = {self.wrt}
        for n in self.nodes:
            if any(i in below for i in n.inputs):
                below.add(n.symbol)
        above, order = {target}, []
        for n in reversed(self.nodes):
            if n.symbol in above:
                above |= set(n.inputs)
        for n in self.nodes:
            if n.symbol in above and n.symbol in below:
                order.append(n.symbol)
        return [self.wrt] + order

    def edges(self, target):
        """[(user, input)] on the paths from the variable to ``target``, from the target down."""
        on = set(self.reaching(target))
        out = []
        for n in reversed(self.nodes):
            if n.symbol in on:
                out += [(n.symbol, i) for i in n.inputs if i in on]
        return out

    def substitute_back(self, e):
        """``e`` with every named intermediate replaced by what it stands for."""
        for n in reversed(self.nodes):
            e = dag.xreplace(e, {n.symbol: n.expr})
        return e


# ---------------------------------------------------------------------- degree and cuts

class _Degrees:
    """Polynomial degree of sub-expressions in the variable, each distinct node once (a DAG walk)."""

    def __init__(self, v):
        self.v, self.memo, self.has_memo = v, {}, {}

    def has(self, e):
        if e in self.has_memo:
            return self.has_memo[e]
        if e == self.v:
            out = True
        elif isinstance(e, ElementwiseApplyFunction):
            out = self.has(e.expr)
        else:
            out = any(self.has(a) for a in e.args if isinstance(a, sp.Basic))
        self.has_memo[e] = out
        return out

    def __call__(self, e):
        if e in self.memo:
            return self.memo[e]
        v = self.v
        if e == v:
            d = 1
        elif not self.has(e):
            d = 0
        elif isinstance(e, (sp.MatAdd, sp.Add)):
            d = max(self(a) for a in e.args)
        elif isinstance(e, (sp.MatMul, sp.Mul, sp.HadamardProduct, sp.KroneckerProduct)):
            d = sum(self(a) for a in e.args)
        elif isinstance(e, (sp.Transpose, sp.Trace)):
            d = self(e.args[0])
        elif isinstance(e, MatrixElement):
            d = self(e.parent)
        else:
            d = float("inf")
        self.memo[e] = d
        return d


def _distinct(e, inside_explicit=True):
    """The distinct sub-expressions of e (each once, however often it is shared); without
    ``inside_explicit``, not those inside an explicit matrix."""
    seen, stack = set(), [e]
    while stack:
        node = stack.pop()
        if node in seen or not isinstance(node, sp.Basic):
            continue
        seen.add(node)
        # an explicit matrix of scalars is one primitive (its Jacobian is read off entry by
        # entry); an entrywise function holds its argument and its body's parameters (a leaky
        # ReLU's slope), not its bound variable
        stack.extend(_children(node, inside_explicit))
    return seen


def _size(e):
    return len(_distinct(e))


def probe(like, name="symcalc_probe"):
    """A stand-in for ``like``; a matrix one is internal, equal to no symbol of the user's."""
    return InternalMatrix(name, *like.shape, serial=0) if is_matrix(like) else sp.Symbol(name)


def cut(e, s, U):
    """e with the sub-expression s (and its transpose) replaced by U."""
    mapping = {s: U}
    if is_matrix(s):  # not s.T: SymPy's transpose runs a deep doit
        for t in (sp.Transpose(s), transpose(s)):
            if t != s:
                mapping[t] = sp.Transpose(U) if not isinstance(U, sp.MatrixSymbol) else U.T
    return dag.xreplace(e, mapping)


def _outermost_cut(e, v, deg):
    """The largest proper sub-expression of e holding every occurrence of v, or None.

    Of a row and its column transpose (uᵀ and u), both valid cuts, the column is named.
    """
    def candidate(s):
        if s == e or s == v or not isinstance(s, sp.Expr) or not deg.has(s):
            return False
        if isinstance(s, sp.Transpose) and s.arg == v:
            return False
        c, core = coefficient(s) if is_matrix(s) else s.as_coeff_Mul()
        return core != v

    def valid(s):
        return not _mentions(cut(e, s, probe(s)), v)

    # The valid cuts dominate every occurrence of v, so they are nested: the outermost is the
    # highest. Testing from the top, the first valid one is it (a cut costs a pass over the DAG;
    # testing every node cost a residual network L³).
    height = _heights(e)
    ordered = sorted((s for s in height if candidate(s)), key=lambda s: -height[s])
    best, k = None, 0
    while k < len(ordered):
        tied = [s for s in ordered[k:] if height[s] == height[ordered[k]]]
        k += len(tied)
        found = [s for s in tied if valid(s)]
        if found:
            best = max(found, key=lambda s: (_size(s), sp.default_sort_key(s)))
            break
    if best is None:
        return None
    if is_matrix(best) and best.rows == 1 and best.cols != 1:
        for t in ordered:
            if t.cols == 1 and best in (transpose(t), sp.Transpose(t)) and valid(t):
                return t
    return best


def _children(node, inside_explicit=True):
    """The sub-expressions ``_distinct`` walks into from ``node``."""
    if isinstance(node, sp.MatrixBase) and not inside_explicit:
        return ()
    if isinstance(node, ElementwiseApplyFunction):
        return (node.expr, *node.function.free_symbols)
    return tuple(a for a in node.args if isinstance(a, sp.Basic))


def _heights(e):
    """{node: the length of its longest path to a leaf} for the distinct nodes of e (not inside
    explicit matrices), in one pass over the DAG."""
    height: dict = {}
    stack = [(e, False)]
    while stack:
        node, done = stack.pop()
        if done:
            height[node] = 1 + max((height[c] for c in _children(node, False)), default=0)
            continue
        if node in height or not isinstance(node, sp.Basic):
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node, False) if c not in height)
    return height


def _mentions(e, v):
    return any(s == v for s in _distinct(e))


def _is_activation_of(node, arg):
    if isinstance(node, (Softmax, LayerNorm)):  # args (Z,), (Z, 1) or (Z, axis, ε)
        return node.args[0] == arg
    return isinstance(node, ElementwiseApplyFunction) and node.expr == arg


def _thin(chain, v, deg, start=None):
    """The chain of cuts (outermost first) thinned to what a lecture names, innermost first:
    affine maps of the previous named node (two affine maps in a row are one), nonlinearities of
    an affine map (or of the variable), matrix functions of the variable. ``start``: the named
    node the chain's innermost element is a function of, when it is not the variable."""
    kept, prev, prev_affine = [], start if start is not None else v, True
    for node in reversed(chain[1:]):
        if prev is v:
            affine = deg(node) <= 1
        else:
            affine = _Degrees(probe(prev))(cut(node, prev, probe(prev))) <= 1
        if affine:
            if kept and prev_affine and prev is not v:
                kept.pop()
            kept.append(node)
            prev, prev_affine = node, True
        elif isinstance(node, ACTIVATIONS) and _is_activation_of(node, prev) and prev_affine:
            kept.append(node)
            prev, prev_affine = node, False
        elif isinstance(node, MATRIX_FUNCTIONS) and node.args[0] == v:
            kept.append(node)
            prev, prev_affine = node, False
    return kept


def _branches(e, v, deg):
    """The nonlinear sub-expressions of e where the variable enters (the top of each, walking down
    through sums, products and transposes): the branches of a node the variable reaches twice."""
    out, stack, seen = [], [e], set()
    while stack:
        s = stack.pop()
        if s in seen or not deg.has(s) or s == v:
            continue
        seen.add(s)
        if s is not e and not isinstance(s, _POLYNOMIAL):
            out.append(s)
            continue
        if isinstance(s, sp.MatrixBase):
            continue
        stack.extend(a for a in s.args if isinstance(a, sp.Basic))
    return out


def _polynomial(e, v, branches):
    """Whether e is a polynomial in v once its nonlinear branches are cut out."""
    for k, b in enumerate(branches):
        e = cut(e, b, probe(b, f"symcalc_branch{k}"))
    return _Degrees(v)(e) < float("inf")


def _named_in(e, v, deg):
    """The sub-expressions of e to name (e itself excluded), in no particular order."""
    chain = [e]
    while deg(chain[-1]) > 1:
        s = _outermost_cut(chain[-1], v, deg)
        if s is None:
            break
        chain.append(s)
    inner = chain[-1]
    if deg(inner) < float("inf") or not _branches(inner, v, deg):
        return _thin(chain, v, deg)
    # the variable reaches the innermost cut along several paths: name the outermost node where
    # they meet (polynomial in the variable and the branches), then each branch and its inside
    branches = _branches(inner, v, deg)
    meet = next((k for k, node in enumerate(chain) if _polynomial(node, v, branches)), len(chain) - 1)
    kept = []
    if meet > 0:
        kept.append(chain[meet])
        kept += _thin(chain[:meet + 1], v, deg, start=chain[meet])[1:] if meet > 1 else []
    for b in branches:
        for k in [b] + _named_in(b, v, deg):
            if k not in kept and k is not e:
                kept.append(k)
    return kept


# ---------------------------------------------------------------------- unmerging

def unmerge(expr):
    """Nested elementwise functions as nested applications: log σ(Z) is log applied to σ(Z), so
    that a = σ(z) can be named where the loss takes log a and log(1 − a)."""
    def split(e):
        lam = e.function
        body = lam.expr
        var = lam.variables[0]
        if isinstance(body, sp.Function) and len(body.args) == 1 and body.args[0] != var \
                and body.args[0].has(var):
            inner = body.args[0]
            if isinstance(inner, sp.Function) and len(inner.args) == 1 and inner.args[0] == var:
                outer = body.func(ELEMENT)
                return elementwise(outer, elementwise(inner.func(ELEMENT), e.expr))
        return e
    return dag.replace(expr, lambda e: isinstance(e, ElementwiseApplyFunction), split)


# ---------------------------------------------------------------------- naming

def _taken(expr, wrt):
    names = set()
    for a in _distinct(expr):
        if isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not isinstance(a, sp.Dummy):
            names.add(a.name)
        if isinstance(a, sp.MatrixSymbol):
            names |= {s.name for s in a.free_symbols if isinstance(s, sp.Symbol)}
    return names | {wrt.name}


def fresh(base, taken):
    if base not in taken:
        return base
    for k in range(2, 100):
        if f"{base}{k}" not in taken:
            return f"{base}{k}"
    raise RuntimeError("no fresh name")  # pragma: no cover


def symbol_like(name, like):
    if is_matrix(like):
        return sp.MatrixSymbol(name, *like.shape)
    return sp.Symbol(name, real=True)


def _is_big(e):
    return is_matrix(e) and e.rows != 1 and e.cols != 1


def _names(inner, kinds, taken):
    """Names for the intermediates (inner first): z, a per layer for networks, u, v, ... else."""
    network = any(kinds[n] == "activation" for n in inner)
    feeds = {n for n in inner for m in inner if kinds[m] == "activation" and _is_activation_of(m, n)}
    names = {}
    if network:
        layers = sum(1 for n in inner if n in feeds)
        layer = 0
        letters = _letters(["u", "v", "r", "q", "p", "g"])
        for n in inner:
            if n in feeds:
                layer += 1
                base = "z"
            elif kinds[n] == "activation":
                base = "a" if not isinstance(n, Softmax) else "s"
                base = "zhat" if isinstance(n, LayerNorm) else base
            else:
                base = next(letters)
            if base in ("z", "a", "s", "zhat") and layers > 1:
                base = f"{base}{layer}"
            names[n] = (base.upper() if base != "zhat" else "Zhat") if _is_big(n) else base
    else:
        letters = _letters(["u", "v", "r", "q", "p", "g", "h"])
        for n in inner:
            base = next(letters)
            names[n] = base.upper() if _is_big(n) else base
    out = {}
    for n in inner:
        name = fresh(names[n], taken)
        taken.add(name)
        out[n] = name
    return out


def _letters(first):
    """The letters a derivation names intermediates by, then u2, u3, ... (a deep network has more
    intermediates than letters)."""
    yield from first
    k = 2
    while True:
        yield f"u{k}"
        k += 1


def _shared_sums(roots, deg):
    """Sums that depend on the variable and that several nodes use: a residual stream
    a_k = a_{k−1} + tanh(W_k a_{k−1}) feeds both the next sum and the next layer. Named, each
    layer's step is written once; unnamed, the sum is written out at every use (2^L terms)."""
    parents: dict = {}
    for r in roots:
        for node in _distinct(r, inside_explicit=False):
            if isinstance(node, sp.Transpose):  # rᵀ r uses r once
                continue
            children = [node.expr] if isinstance(node, ElementwiseApplyFunction) else node.args
            for a in set(children):
                if isinstance(a, sp.MatAdd):
                    parents[a] = parents.get(a, 0) + 1
    return [a for a, count in parents.items() if count >= 2 and deg.has(a)]


def _split_terms(expr, deg):
    """[(coefficient, term)] of a scalar sum with at least two terms that depend on the variable
    (constant terms dropped), else None. A coefficient of −1 stays with its term."""
    if is_matrix(expr) and expr.shape != (1, 1):
        return None
    if not isinstance(expr, (sp.MatAdd, sp.Add)):
        return None
    dependent = [t for t in expr.args if deg.has(t)]
    if len(dependent) < 2:
        return None
    out = []
    for t in dependent:
        c, core = coefficient(t) if is_matrix(t) else t.as_coeff_Mul()
        if c == -1 or c == 1:
            c, core = sp.S.One, t
        if isinstance(core, sp.Trace) and core.arg.shape == (1, 1):
            core = core.arg  # a reduction added to a scalar: ‖Wx‖² itself
        out.append((c, core))
    return out


def build_model(expr, wrt, output_name=None) -> Model:
    """The model of ``expr`` (already prepared) as a function of ``wrt``."""
    expr = unmerge(expr)
    deg = _Degrees(wrt)
    taken = _taken(expr, wrt)
    scalar_out = not is_matrix(expr) or expr.shape == (1, 1)
    out_name = output_name or fresh("L" if scalar_out else "f", taken)
    taken.add(out_name)
    output = symbol_like(out_name, expr)

    split = _split_terms(expr, deg)
    roots = [t for _, t in split] if split else [expr]
    named = []
    for r in roots:
        for s in _named_in(r, wrt, deg):
            if s not in named and s not in roots and s != expr:
                named.append(s)
    for s in _shared_sums(roots, deg):
        if s not in named and s not in roots and s != expr:
            named.append(s)
    kinds = {}
    for s in named:
        if isinstance(s, ACTIVATIONS):
            kinds[s] = "activation"
        elif isinstance(s, MATRIX_FUNCTIONS) or deg(s) == float("inf"):
            kinds[s] = "function"
        else:
            kinds[s] = "affine"
    inner = sorted(named, key=_size)
    names = _names(inner, kinds, taken)
    symbols = {s: symbol_like(names[s], s) for s in inner}

    terms = None
    if split:
        term_symbols = []
        for k, (c, t) in enumerate(split, start=1):
            name = fresh(f"{out_name}{k}" if len(out_name) == 1 else f"{out_name}_{k}", taken)
            taken.add(name)
            sym = symbol_like(name, t) if not is_matrix(t) else sp.MatrixSymbol(name, 1, 1)
            symbols[t] = sym
            kinds[t] = "term"
            term_symbols.append((c, sym))
        terms = term_symbols
        inner = inner + [t for _, t in split]

    nodes = [_node(symbols[s], s, kinds[s], symbols, wrt) for s in inner]
    if split:
        nodes.append(Node(output, expr, _sum_body(term_symbols, expr), tuple(sym for _, sym in term_symbols),
                          "output"))
    else:
        nodes.append(_node(output, expr, "output", symbols, wrt))
    return Model(expr, wrt, output, nodes, terms)


def _sum_body(terms, expr):
    """L₁ + λ L₂ over the terms' symbols, as a 1 x 1 matrix when the output is one."""
    from ..simplify import as_matrix11, mul
    if is_matrix(expr):  # in the terms' order, as the lecturer wrote them
        return sp.MatAdd(*[mul(c, sym if is_matrix(sym) else as_matrix11(sym)) for c, sym in terms])
    return sp.Add(*[c * (sp.Trace(sym) if is_matrix(sym) else sym) for c, sym in terms])


def _node(symbol, expr, kind, symbols, wrt):
    mapping = {}
    for s, sym in symbols.items():
        if s == expr:
            continue
        mapping[s] = sym
        if is_matrix(s):
            for t in (sp.Transpose(s), transpose(s)):
                if t != s and t not in symbols:
                    mapping[t] = sym.T
    body = dag.xreplace(expr, mapping)
    used = [a for a in _distinct(body) if a == wrt or a in symbols.values()]
    order = [sym for sym in list(symbols.values()) + [wrt] if sym in used and sym != symbol]
    return Node(symbol, expr, body, tuple(order), kind)


@functools.lru_cache(maxsize=256)
def model_of(expr, wrt, output_name=None):
    """(model, prepared expression) for a user's expression: declared symmetry kept as written.
    Remembered: a lecturer derives the same model in several styles and layouts (the model is
    read, never changed, by the styles)."""
    prepared, restore = prepare(expr)
    prepared = dag.xreplace(prepared, restore)
    return build_model(prepared, wrt, output_name), prepared


__all__ = ["ACTIVATIONS", "Model", "Node", "build_model", "cut", "fresh", "model_of", "probe",
           "symbol_like", "unmerge"]
