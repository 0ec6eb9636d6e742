r"""The steps students need written out, each one an equation the derivation check evaluates.

A chain-rule product is reduced from the output end, one local derivative at a time. Where a
lecture writes a step of its own, so does the derivation:

* an entrywise Jacobian times a gradient: diag(v) g = v ⊙ g (gᵀ diag(v) = gᵀ ⊙ vᵀ), then the
  cancellation it allows: σ′ = a ⊙ (1 − a) against the cross-entropy's (1 − y) ⊘ (1 − a) − y ⊘ a
  gives (1 − y) ⊙ a − y ⊙ (1 − a) = a − y;
* the softmax Jacobian times the cross-entropy's gradient: (diag(s) − s sᵀ)(−y ⊘ s)
  = −y + s 1ᵀy = s − y, the last step by 1ᵀy = 1 for a one-hot target;
* the same for a batch, column by column, through the softmax's gradient map.

Other factors multiply silently; the line after the last teaching step shows their product.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from ..functions import OneHot, is_matrix
from ..simplify import _entrywise_atoms, add, from_entrywise, hadamard, mul, textbook, transpose

DIAG = r"diagonal Jacobian: $\operatorname{diag}(v)\, g = v \odot g$"
DIAG_ROW = r"diagonal Jacobian: $g^\top \operatorname{diag}(v) = (g \odot v)^\top$"
SCALAR = "a product of numbers"


def entrywise_multiplier(J):
    """v when J = diag(v) (a 1 x 1 J is its own v), else None."""
    if isinstance(J, DiagMatrix) and J.args[0].cols == 1:
        return J.args[0]
    if is_matrix(J) and J.shape == (1, 1):
        return J
    if not is_matrix(J):
        return J
    return None


def _terms(e):
    return list(e.args) if isinstance(e, (sp.MatAdd, sp.Add)) else [e]


def _cancelled(v, g):
    """v ⊙ g distributed over g's terms, each term's powers merged: (1 − y) ⊙ a − y ⊙ (1 − a)."""
    shape = g.shape
    return add(shape, *[hadamard(v, _split_powers(t)) for t in _terms(g)])


def _split_powers(e):
    """(a ⊙ b)^{∘p} as a^{∘p} ⊙ b^{∘p}, so that a factor a of v can cancel."""
    def split(p):
        return sp.HadamardProduct(*[sp.HadamardPower(a, p.exp) for a in p.base.args])

    def flat(h):
        out = []
        for a in h.args:
            out += list(a.args) if isinstance(a, sp.HadamardProduct) else [a]
        return sp.HadamardProduct(*out)
    e = e.replace(lambda a: isinstance(a, sp.HadamardPower) and isinstance(a.base, sp.HadamardProduct),
                  split)
    return e.replace(lambda a: isinstance(a, sp.HadamardProduct), flat)


def _expanded(e):
    """An entrywise expression expanded and collected, when that is shorter: a − y."""
    atoms: dict = {}
    try:
        poly = _entrywise_atoms(e, atoms)
    except Exception:  # noqa: BLE001 - not entrywise: nothing to expand
        return e
    if len(atoms) > 8:
        return e
    for form in (sp.expand(sp.cancel(poly)), sp.factor(poly)):
        if sp.count_ops(form) < sp.count_ops(poly):
            try:
                return from_entrywise(form, {s: a for a, s in atoms.items()}, e.shape)
            except ValueError:
                continue
    return e


def as_number(e):
    """A 1 x 1 matrix expression as the scalar it is: a ⊙ (1 − a) is a (1 − a), a 1 x 1 symbol a
    stands as tr(a) (its only entry; printed a), so that SymPy's scalar algebra can cancel."""
    if not isinstance(e, sp.Basic):
        return e
    if not is_matrix(e):
        if isinstance(e, sp.Trace):
            return as_number(e.arg)
        if e.args and any(is_matrix(a) or isinstance(a, sp.Trace) for a in sp.preorder_traversal(e)):
            return e.func(*[as_number(a) for a in e.args])
        return e
    if e.shape != (1, 1):
        raise ValueError(f"{e} is not 1 x 1")
    if isinstance(e, sp.MatrixSymbol):
        return sp.Trace(e)
    if isinstance(e, (sp.Identity, sp.OneMatrix)):
        return sp.S.One
    if isinstance(e, sp.ZeroMatrix):
        return sp.S.Zero
    if isinstance(e, sp.MatAdd):
        return sp.Add(*[as_number(a) for a in e.args])
    if isinstance(e, (sp.MatMul, sp.HadamardProduct)):
        if isinstance(e, sp.MatMul) and any(is_matrix(a) and a.shape != (1, 1) for a in e.args):
            return sp.Trace(e)  # 1ᵀ(…)x: a product of non-scalar factors, 1 x 1 as a whole
        return sp.Mul(*[as_number(a) for a in e.args])
    if isinstance(e, sp.HadamardPower):
        return as_number(e.base) ** e.exp
    if isinstance(e, (sp.Transpose, DiagMatrix)):
        return as_number(e.args[0])
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    if isinstance(e, ElementwiseApplyFunction):
        lam = e.function
        return lam.expr.xreplace({lam.variables[0]: as_number(e.expr)})
    return sp.Trace(e)


def _scalar_steps(J, g):
    """Two numbers (1 x 1 factors): their product, with its common factors cancelled."""
    prod = sp.Mul(as_number(J), as_number(g), evaluate=False)
    done = sp.factor(sp.cancel(sp.Mul(as_number(J), as_number(g))))
    if _divides_scalar(as_number(g)) and sp.count_ops(done) < sp.count_ops(prod):
        return [("cancel the common factors", done)]
    return None


def _divides_scalar(e):
    return any(isinstance(a, sp.Pow) and a.exp.is_negative for a in sp.preorder_traversal(e))


def diagonal_steps(J, g, layout):
    """[(rule, value)] for J g (denominator) or g J (numerator) with J entrywise, else None."""
    v = entrywise_multiplier(J)
    if v is None:
        return None
    if not is_matrix(v) or v.shape == (1, 1):
        if not is_matrix(g) or g.shape == (1, 1):
            return _scalar_steps(J, g)
        return None  # a number times a vector: the product needs no step of its own
    num = layout == "numerator"
    if num and not (is_matrix(g) and g.rows == 1):
        return None
    if not num and not (is_matrix(g) and g.cols == 1):
        return None
    col = transpose(g) if num else g
    first = hadamard_product(col, v)
    steps = [(DIAG_ROW if num else DIAG, _orient(first, num))]
    merged = _cancelled(v, col)
    if merged != first and _smaller(merged, first) and _divides(col, v):
        steps.append(("cancel the common factors", _orient(merged, num)))
        done = _expanded(merged)
        if done != merged:
            steps.append(("expand and collect", _orient(done, num)))
    return steps


def _divides(e, v):
    """Whether e divides entrywise by a factor of v (a^{∘−1} with a a factor of v): what v ⊙ e
    cancels."""
    factors = set(v.args) if isinstance(v, sp.HadamardProduct) else {v}
    return any(isinstance(a, sp.HadamardPower) and a.exp.is_negative and a.base in factors
               for a in sp.preorder_traversal(_split_powers(e)))


def hadamard_product(a, b):
    """a ⊙ b as written (the upstream gradient first), without merging; 1 ⊙ b is b."""
    if isinstance(a, sp.OneMatrix):
        return b
    if isinstance(b, sp.OneMatrix):
        return a
    return sp.HadamardProduct(a, b)


def _orient(e, as_row):
    """A column result as the row numerator layout writes: (g ⊙ v)ᵀ, (a − y)ᵀ."""
    if not as_row:
        return e
    from .local import row
    return row(e)


def _smaller(a, b):
    return sp.count_ops(a) <= sp.count_ops(b) + 4


# ---------------------------------------------------------------------- softmax

def _softmax_parts(J):
    """s when J = diag(s) − s sᵀ, else None."""
    if not isinstance(J, sp.MatAdd) or len(J.args) != 2:
        return None
    diag = [a for a in J.args if isinstance(a, DiagMatrix)]
    if not diag:
        return None
    s = diag[0].args[0]
    other = [a for a in J.args if a is not diag[0]][0]
    if other == mul(-1, s, transpose(s)):
        return s
    return None


def _cross_entropy_target(g, s):
    """y when g = −y ⊘ s, else None."""
    if not isinstance(g, sp.MatMul):
        return None
    c, rest = g.as_coeff_mmul()
    core = rest.args[0] if isinstance(rest, sp.MatMul) and len(rest.args) == 1 else rest
    if c != -1 or not isinstance(core, sp.HadamardProduct) or len(core.args) != 2:
        return None
    inv = [a for a in core.args if isinstance(a, sp.HadamardPower) and a.base == s and a.exp == -1]
    if not inv:
        return None
    return [a for a in core.args if a is not inv[0]][0]


def softmax_steps(J, g, layout):
    """(diag(s) − s sᵀ)(−y ⊘ s) = −y + s 1ᵀy = s − y, each a line; None when J, g are not these."""
    num = layout == "numerator"
    gc = transpose(g) if num else g
    s = _softmax_parts(J)
    if s is None or s.cols != 1:
        return None
    y = _cross_entropy_target(gc, s)
    if y is None:
        return None
    ratio = sp.HadamardProduct(y, sp.HadamardPower(s, -1))
    ones = sp.OneMatrix(s.rows, 1)
    spread = sp.MatMul(diag_of(s), ratio)
    first = sp.MatAdd(sp.MatMul(-1, spread), sp.MatMul(s, transpose(s), ratio))
    second = sp.MatAdd(sp.MatMul(-1, y), sp.MatMul(s, sp.MatMul(transpose(ones), y)))
    steps = [("distribute the product", first),
             (r"$\operatorname{diag}(s)(y \oslash s) = y$ and $s^\top (y \oslash s) = \mathbf{1}^\top y$", second)]
    if isinstance(y, OneHot) and y.axis == 0:
        steps.append((r"$\mathbf{1}^\top y = 1$: the target is one-hot", add(s.shape, s, mul(-1, y))))
    if num:
        steps = [(r, _row(e)) for r, e in steps]
    return steps


def diag_of(s):
    return DiagMatrix(s)


def _row(e):
    if isinstance(e, sp.MatAdd):
        return sp.MatAdd(*[_row(a) for a in e.args])
    if isinstance(e, sp.MatMul):
        c, rest = e.as_coeff_mmul()
        mats = rest.args if isinstance(rest, sp.MatMul) else (rest,)
        return sp.MatMul(c, *[transpose(m) for m in reversed(mats)]) if c != 1 else \
            sp.MatMul(*[transpose(m) for m in reversed(mats)])
    return transpose(e)


def softmax_map_steps(S, upstream):
    """A batch (samples as columns): S ⊙ (G − 1 1ᵀ(S ⊙ G)) with G = −Y ⊘ S is S − Y."""
    Y = _cross_entropy_target(upstream, S)
    if Y is None:
        return None
    ones = sp.MatMul(sp.OneMatrix(S.rows, 1), sp.OneMatrix(1, S.rows))  # 1 1ᵀ, written as such
    first = sp.MatAdd(sp.MatMul(-1, Y), sp.HadamardProduct(S, sp.MatMul(ones, Y)))
    steps = [(r"$S \odot (Y \oslash S) = Y$, column by column", first)]
    if isinstance(Y, OneHot) and Y.axis == 0:
        steps.append((r"$\mathbf{1}^\top Y = \mathbf{1}^\top$: one-hot columns", add(S.shape, S, mul(-1, Y))))
    return steps


# ---------------------------------------------------------------------- products

def combine(J, g, layout):
    """The teaching steps for one local derivative J times the gradient g that follows it (in
    the layout's order), or None when the product needs no step of its own."""
    for rule in (softmax_steps, diagonal_steps):
        steps = rule(J, g, layout)
        if steps:
            return steps
    return None


def reduce_product(factors, layout):
    """Reduce a product of local derivatives (given from the input to the output) from the
    output end.

    Returns ([(rule, factors after the step)], the product's value): one entry per teaching step;
    plain matrix products between them happen silently.
    """
    fs = list(factors)
    den = layout == "denominator"
    lines = []
    while len(fs) >= 2:
        J, g = fs[-2], fs[-1]
        steps = combine(J, g, layout)
        if steps:
            for rule, value in steps:
                lines.append((rule, fs[:-2] + [value]))
            fs = lines[-1][1]
        else:
            fs = fs[:-2] + [_times(J, g, den)]
    value = fs[0] if fs else sp.S.One
    return lines, textbook(value) if is_matrix(value) else value


def _times(J, g, den):
    if is_matrix(J) or is_matrix(g):
        return mul(J, g) if den else mul(g, J)
    return J * g


# ---------------------------------------------------------------------- layer normalisation

LAYER_NORM = (r"layer normalisation: $\operatorname{diag}(\hat{z})\, \mathbf{1}\mathbf{1}^\top \operatorname{diag}(\hat{z})"
              r" = \hat{z} \hat{z}^\top$")


def layer_norm_jacobian(body, zhat):
    """∂ẑ/∂z of ẑ = LN(z) for one sample z (a column, or a row), as lectures write it:
    (1/s)(I − 11ᵀ/d − ẑẑᵀ/d), s = √(σ² + ε). The same in both layouts (it is symmetric)."""
    d = body.features
    a = zhat if zhat.cols == 1 else transpose(zhat)
    ones = sp.OneMatrix(d, 1)
    outer = [sp.MatMul(u, sp.Transpose(u), evaluate=False) for u in (ones, a)]
    centring = sp.MatAdd(sp.Identity(d), *[sp.MatMul(-1 / d, o, evaluate=False) for o in outer],
                         evaluate=False)
    return sp.MatMul(1 / sp.Trace(body.std), centring, evaluate=False)


__all__ = ["combine", "diagonal_steps", "layer_norm_jacobian", "reduce_product", "softmax_map_steps",
           "softmax_steps"]
