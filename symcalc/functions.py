"""Elementwise functions, reductions, softmax, norms and losses as SymPy objects.

Scalar functions are SymPy ``Function`` classes that know their derivative (``fdiff``), their
LaTeX name and their NumPy form (class attributes that the printers read). Applied to a matrix they
become SymPy's own ``ElementwiseApplyFunction`` over one canonical dummy, so that two equal
expressions compare equal (``Z.applyfunc(exp)`` makes a fresh dummy every call). Reductions and
softmax are ``MatrixExpr`` nodes; their derivative rules live in ``symcalc.diff.rules``.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.cache import cacheit
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

from .dag import node
from .errors import ShapeError, UnsupportedError
from .hints import Expr, Reduction, Scalar

#: The bound variable of every elementwise function symcalc builds.
ELEMENT = sp.Dummy("z", real=True)


def as_expression(value, what="the expression"):
    """``value`` as a SymPy object, or a typed error: text is never given to ``sympify`` (which
    evaluates it as Python), and None or other objects have no derivative."""
    if isinstance(value, (sp.Basic, sp.MatrixBase)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return sp.sympify(value)
    hint = ("; parse text with symcalc.parse.parse(text, shapes) (or the command line), which "
            "reads it safely" if isinstance(value, str) else "")
    raise UnsupportedError(f"{what} must be a SymPy expression (MatrixSymbols, Symbols and symcalc's "
                           f"functions of them), not the {type(value).__name__} {value!r:.80}{hint}")


# --------------------------------------------------------------------------- scalar functions

def _holds_matrix(cls, args) -> bool:
    """Whether an argument holds a matrix, about which SymPy's assumptions cannot always answer
    (σ(tanh(C)) asks C % π, which raises TypeError for some hash seeds): then eval does not simplify.
    A matrix of more than one entry as the argument itself is refused: it asks for the entrywise
    form."""
    for a in args:
        if is_matrix(a) and tuple(a.shape) != (1, 1):
            name = cls.__name__.lower() if cls.__name__ != "LeakyReLU" else "leaky_relu"
            raise ShapeError(f"{name} of the {a.rows} x {a.cols} matrix {a}: a scalar function takes a "
                             f"scalar; entry by entry it is sc.{name}({a}) or {a}.applyfunc(...)")
    seen, stack = set(), list(args)
    while stack:
        e = stack.pop()
        if e in seen or not isinstance(e, sp.Basic):
            continue
        if is_matrix(e):
            return True
        seen.add(e)
        stack.extend(e.args)
    return False


class _ScalarFunction(sp.Function):
    """A scalar function with a LaTeX name and a NumPy template (``{0}`` is the argument)."""

    latex_name = ""
    numpy_template = ""

    @property
    def display_name(self):
        return type(self).__name__.lower()


class Sigmoid(_ScalarFunction):
    """The logistic function σ(x) = 1 / (1 + e^{-x}); σ' = σ (1 − σ)."""

    nargs = 1
    latex_name = r"\sigma"
    numpy_template = "1/(1 + numpy.exp(-({0})))"

    @classmethod
    def eval(cls, x):
        if _holds_matrix(cls, (x,)):
            return None
        if x.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real


class _Indicator(_ScalarFunction):
    """1[x > 0] or 1[x ≥ 0]: 0 or 1, with derivative 0 almost everywhere. ``at_zero`` is its value at 0."""

    nargs = 1
    latex_name = r"\mathbb{1}"
    at_zero = 0

    @classmethod
    def eval(cls, x):
        if _holds_matrix(cls, (x,)):
            return None
        if x.is_positive or (cls.at_zero and x.is_nonnegative):
            return sp.S.One
        if x.is_negative or (not cls.at_zero and x.is_nonpositive):
            return sp.S.Zero

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return sp.Heaviside(x, self.at_zero)

    def _eval_is_real(self):
        return True

    def _eval_is_nonnegative(self):
        return True


class Step(_Indicator):
    """The indicator 1[x > 0] (0 at 0): the ReLU's derivative almost everywhere."""

    numpy_template = "numpy.greater({0}, 0).astype(float)"


class Threshold(_Indicator):
    """The hard threshold 1[x ≥ 0] (1 at 0; the perceptron's unit): its derivative is 0 almost everywhere."""

    at_zero = 1
    numpy_template = "numpy.greater_equal({0}, 0).astype(float)"


class ReLU(_ScalarFunction):
    """max(0, x); ReLU' = 1[x > 0]."""

    nargs = 1
    latex_name = r"\operatorname{ReLU}"
    numpy_template = "numpy.maximum({0}, 0)"

    @classmethod
    def eval(cls, x):
        if _holds_matrix(cls, (x,)):
            return None
        if x.is_nonnegative:
            return x
        if x.is_nonpositive:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        return Step(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(0, x)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return self.args[0].is_real


class LeakyReLU(_ScalarFunction):
    """x for x > 0, αx otherwise; its derivative is α + (1 − α) 1[x > 0]."""

    nargs = 2
    latex_name = r"\operatorname{LeakyReLU}_{{{1}}}"
    numpy_template = "numpy.where(numpy.greater({0}, 0), {0}, ({1})*({0}))"

    @property
    def display_name(self):
        return "leaky_relu"

    @classmethod
    def eval(cls, x, alpha):
        if _holds_matrix(cls, (x, alpha)):
            return None
        if x.is_positive:
            return x
        if x.is_nonpositive:
            return alpha * x

    def fdiff(self, argindex=1):
        x, alpha = self.args
        if argindex == 1:
            return alpha + (1 - alpha) * Step(x)
        return x * (1 - Step(x))

    def _eval_rewrite_as_Max(self, x, alpha, **kwargs):
        return sp.Max(0, x) + alpha * sp.Min(0, x)


class Softplus(_ScalarFunction):
    """log(1 + e^x); softplus' = σ."""

    nargs = 1
    latex_name = r"\operatorname{softplus}"
    numpy_template = "numpy.logaddexp(0, {0})"

    @classmethod
    def eval(cls, x):
        if _holds_matrix(cls, (x,)):
            return None

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.log)._eval_evalf(prec)


SCALAR_FUNCTIONS = (Sigmoid, Step, Threshold, ReLU, LeakyReLU, Softplus)


# --------------------------------------------------------------------------- elementwise application

def is_matrix(expr) -> bool:
    return getattr(expr, "is_Matrix", False)


class Entrywise(ElementwiseApplyFunction):
    """SymPy's ``ElementwiseApplyFunction`` with ``doit`` and the transpose memoised on the node.

    ``a + tanh(W a)`` calls ``doit`` on the whole expression, and SymPy's ``doit`` walks the tree:
    building a residual network of depth L would cost 2^L, and ``r.T`` of an L-layer MLP L².
    """

    @cacheit
    def doit(self, **hints):
        return super().doit(**hints)

    @cacheit
    def _eval_transpose(self):
        return super()._eval_transpose()


def elementwise(body, Z):
    """``body`` (a scalar expression in ``ELEMENT``) applied to every entry of ``Z``."""
    return node(Entrywise, sp.Lambda(ELEMENT, body), Z)


def canonical_elementwise(expr: ElementwiseApplyFunction) -> ElementwiseApplyFunction:
    """The same function over the canonical dummy, so that equal applications compare equal."""
    lam = expr.function
    if not isinstance(lam, sp.Lambda):
        lam = sp.Lambda(ELEMENT, lam(ELEMENT))
    (var,) = lam.variables
    if var == ELEMENT and type(expr) is Entrywise:
        return expr
    body = lam.expr.xreplace({var: ELEMENT})
    return node(Entrywise, sp.Lambda(ELEMENT, body), expr.expr)


def _scalar_form(Z, name):
    """A scalar Z with each 1 x 1 matrix inside a scalar function, sum, product or power written as
    its entry tr(M) (SymPy's assumptions cannot answer for a matrix there: exp(tanh(C)) raises
    TypeError for some hash seeds). A larger matrix there is refused: sp.tanh(C) of a 3 x 1 C is
    not the entrywise tanh, which is sc.tanh(C)."""
    order, seen, stack = [], set(), [(Z, False)]
    while stack:  # children first, each distinct node once; matrices are not entered
        e, done = stack.pop()
        if done:
            order.append(e)
        elif e not in seen and isinstance(e, sp.Basic) and not is_matrix(e):
            seen.add(e)
            stack.append((e, True))
            stack.extend((a, False) for a in e.args)
    new = {}
    for e in order:
        args = [new.get(a, a) for a in e.args]
        if isinstance(e, (sp.Function, sp.Add, sp.Mul, sp.Pow)):
            for k, a in enumerate(args):
                if is_matrix(a) and tuple(a.shape) != (1, 1):
                    f = getattr(e.func, "__name__", str(e.func))
                    ours = f"sc.{f.lower()}({a}) or " if f.lower() in _ENTRYWISE_NAMES else ""
                    raise ShapeError(
                        f"{e} applies the scalar function {f} to the {a.rows} x {a.cols} matrix {a} "
                        f"(inside {name}); entry by entry, write {ours}{a}.applyfunc({f})")
                if is_matrix(a):
                    args[k] = sp.Trace(a)
        if any(x is not y for x, y in zip(args, e.args)):
            new[e] = e.func(*args)
    return new.get(Z, Z)


_ENTRYWISE_NAMES = {"sigmoid", "relu", "step", "softplus", "tanh", "exp", "log", "sqrt", "sin", "cos"}


def _lift(function, *extra):
    def apply(Z: Expr) -> Expr:
        Z = as_expression(Z, f"the argument of {apply.__name__}")
        if is_matrix(Z):
            return elementwise(function(ELEMENT, *extra), Z)
        return function(_scalar_form(Z, apply.__name__), *extra)

    apply.__name__ = getattr(function, "__name__", "f").lower()
    apply.__doc__ = f"{apply.__name__} of a scalar, or of every entry of a matrix."
    return apply


sigmoid = _lift(Sigmoid)
relu = _lift(ReLU)
step = _lift(Step)
threshold = _lift(Threshold)
softplus = _lift(Softplus)
tanh = _lift(sp.tanh)
exp = _lift(sp.exp)
log = _lift(sp.log)
sqrt = _lift(sp.sqrt)
sin = _lift(sp.sin)
cos = _lift(sp.cos)


def leaky_relu(Z: Expr, alpha: Scalar = sp.Rational(1, 100)) -> Expr:
    """x for x > 0, αx otherwise, entry by entry."""
    return _lift(LeakyReLU, as_expression(alpha, "leaky_relu's alpha"))(Z)


# --------------------------------------------------------------------------- matrix nodes

def _as_matrix(Z, what):
    Z = as_expression(Z, f"the argument of {what}")
    if not is_matrix(Z):
        raise ShapeError(f"{what} takes a matrix expression, got the scalar {Z}")
    return Z


def _axis(axis, what):
    if axis not in (0, 1) or isinstance(axis, bool):
        raise ValueError(f"{what}: axis is 0 (each column, samples as columns) or 1 (each row, samples "
                         f"as rows), not {axis!r}")
    return int(axis)


class _MatrixNode(MatrixExpr):
    """A matrix node with one matrix argument (``args[0]``)."""

    def __new__(cls, Z):
        Z = _as_matrix(Z, cls.__name__)
        cls._check(Z)
        return super().__new__(cls, Z)

    @classmethod
    def _check(cls, Z):
        pass

    display_name = ""

    @property
    def arg(self):
        return self.args[0]

    def _indices(self):
        i, j = sp.Dummy("i", integer=True), sp.Dummy("j", integer=True)
        return i, j, (i, 0, self.arg.rows - 1), (j, 0, self.arg.cols - 1)

    def _entries_sum(self, f):
        i, j, ri, rj = self._indices()
        if sp.sympify(self.arg.rows).is_Integer and sp.sympify(self.arg.cols).is_Integer:
            return sp.Add(*[f(self.arg[a, b]) for a in range(self.arg.rows)
                            for b in range(self.arg.cols)])
        return sp.Sum(f(self.arg[i, j]), ri, rj)


class _Reduction(_MatrixNode):
    """A 1 x 1 result (a scalar, as matrix expressions need it).

    Added to a scalar (‖X‖_F² + λ tr(BᵀB)) it acts as its one entry, a scalar, where SymPy would
    raise "Mix of Matrix and Scalar symbols".
    """

    @property
    def shape(self):
        return (sp.S.One, sp.S.One)

    def _with_scalar(self, other, combine):
        try:
            other = sp.sympify(other, strict=True)  # never text: sympify would evaluate it
        except sp.SympifyError:
            return NotImplemented
        if isinstance(other, sp.Expr) and not is_matrix(other) and self.shape == (1, 1):
            return combine(sp.Trace(self), other)
        return NotImplemented

    def __add__(self, other):
        result = self._with_scalar(other, lambda a, b: a + b)
        return super().__add__(other) if result is NotImplemented else result

    def __radd__(self, other):
        result = self._with_scalar(other, lambda a, b: b + a)
        return super().__radd__(other) if result is NotImplemented else result

    def __sub__(self, other):
        result = self._with_scalar(other, lambda a, b: a - b)
        return super().__sub__(other) if result is NotImplemented else result

    def __rsub__(self, other):
        result = self._with_scalar(other, lambda a, b: b - a)
        return super().__rsub__(other) if result is NotImplemented else result


class EntrySum(_Reduction):
    """The sum of all entries, 1ᵀ Z 1."""

    display_name = "sum"

    def _entry(self, i, j, **kwargs):
        return self._entries_sum(lambda e: e)


class EntryMean(_Reduction):
    """The mean of all entries."""

    display_name = "mean"

    def _entry(self, i, j, **kwargs):
        return self._entries_sum(lambda e: e) / (self.arg.rows * self.arg.cols)


class _AlongAxis(MatrixExpr):
    """A node applied along an axis of its argument, NumPy's convention: axis 0 runs down each
    column (samples as columns, the default, stored as ``args == (Z,)``), axis 1 along each row
    (``args == (Z, 1)``)."""

    def __new__(cls, Z, axis=0):
        Z = _as_matrix(Z, cls.__name__)
        axis = _axis(int(axis) if isinstance(axis, sp.Integer) else axis, cls.display_name)
        return MatrixExpr.__new__(cls, Z) if axis == 0 else MatrixExpr.__new__(cls, Z, sp.Integer(1))

    @property
    def axis(self) -> int:
        return 0 if len(self.args) == 1 else 1

    def _sympystr(self, printer):
        axis = ", axis=1" if self.axis == 1 else ""
        return f"{self.display_name}({printer._print(self.arg)}{axis})"

    def _along(self, i, j, f):
        """Σ f over the entries of the column j (axis 0) or of the row i (axis 1)."""
        Z, k = self.arg, sp.Dummy("k", integer=True)
        length = Z.rows if self.axis == 0 else Z.cols
        at = (lambda r: Z[r, j]) if self.axis == 0 else (lambda c: Z[i, c])
        if sp.sympify(length).is_Integer:
            return sp.Add(*[f(at(r)) for r in range(length)])
        return sp.Sum(f(at(k)), (k, 0, length - 1))


class LogSumExp(_AlongAxis, _Reduction):
    """log Σ exp of each column (axis 0: a column vector gives a 1 x 1) or of each row (axis 1);
    its gradient is softmax along the same axis."""

    display_name = "logsumexp"

    @property
    def shape(self):
        return (sp.S.One, self.arg.cols) if self.axis == 0 else (self.arg.rows, sp.S.One)

    def _entry(self, i, j, **kwargs):
        return sp.log(self._along(i, j, sp.exp))


class SquaredNorm(_Reduction):
    """‖x‖₂² = xᵀx of a vector."""

    display_name = "norm2"

    @classmethod
    def _check(cls, Z):
        if Z.shape[1] != 1 and Z.shape[0] != 1:
            raise ShapeError(f"norm2 takes a vector, got {Z} of shape {Z.shape}; "
                             "use frobenius2 for a matrix")

    def _entry(self, i, j, **kwargs):
        return self._entries_sum(lambda e: e**2)


class FrobeniusSquared(_Reduction):
    """‖Z‖_F² = tr(ZᵀZ), the sum of squared entries."""

    display_name = "frobenius2"

    def _entry(self, i, j, **kwargs):
        return self._entries_sum(lambda e: e**2)


class Softmax(_AlongAxis, _MatrixNode):
    """Softmax along an axis: each column is exp(z) / 1ᵀexp(z) (axis 0, samples as columns), or each
    row (axis 1, samples as rows; self-attention's softmax(QKᵀ))."""

    display_name = "softmax"

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        return sp.exp(self.arg[i, j]) / self._along(i, j, sp.exp)


class CausalSoftmax(Softmax):
    """Softmax with a causal mask, of a square S: along each row (axis 1, tokens as rows) the
    entries above the diagonal (token j > i) are masked, exp(s_ij) 1[j ≤ i] / Σ_{k ≤ i} exp(s_ik);
    along each column (axis 0) the transposed mask, so that softmax_causal(Sᵀ, 0) = softmax_causal(S, 1)ᵀ.
    A masked entry is 0 (not merely small), which is what lets softmax's rule hold unchanged."""

    def __new__(cls, Z, axis=0):
        Z = _as_matrix(Z, "the causal softmax")
        if Z.rows != Z.cols:
            raise ShapeError(f"the causal softmax takes a square matrix (token i attends to tokens j ≤ i); "
                             f"{Z} is {Z.rows} x {Z.cols}")
        return super().__new__(cls, Z, axis)

    def _entry(self, i, j, **kwargs):
        kept = (lambda r, c: c <= r) if self.axis == 1 else (lambda r, c: r <= c)
        Z, k = self.arg, sp.Dummy("k", integer=True)
        if all(sp.sympify(t).is_Integer for t in (i, j, Z.rows)):
            if not kept(i, j):
                return sp.S.Zero
            terms = ([Z[i, c] for c in range(int(i) + 1)] if self.axis == 1
                     else [Z[r, j] for r in range(int(j) + 1)])
            return sp.exp(Z[i, j]) / sp.Add(*[sp.exp(t) for t in terms])
        total = (sp.Sum(sp.exp(Z[i, k]), (k, 0, i)) if self.axis == 1
                 else sp.Sum(sp.exp(Z[k, j]), (k, 0, j)))
        return sp.Piecewise((sp.exp(Z[i, j]) / total, kept(i, j)), (0, True))


def _eps(eps, what):
    """The variance offset ε of a normalisation: a scalar (a Symbol or a number), not negative."""
    eps = as_expression(eps, f"{what}'s eps")
    if is_matrix(eps):
        raise ShapeError(f"{what}'s eps is a scalar (a Symbol or a number), not the {eps.rows} x "
                         f"{eps.cols} matrix {eps}")
    if eps.is_negative or (eps.is_number and eps.is_real is False):
        raise ValueError(f"{what}'s eps is a non-negative scalar (added to the variance), not {eps}")
    return eps


class _Normalising(_AlongAxis, _MatrixNode):
    """A per-sample statistic along an axis with a variance offset ε, stored as ``args == (Z, axis, ε)``:
    axis 0 normalises each column (samples as columns), axis 1 each row (samples, tokens, as rows).
    The features of a sample are the d entries of its column (row); σ² is their biased variance (1/d)."""

    def __new__(cls, Z, axis=0, eps=0):
        Z = _as_matrix(Z, cls.display_name)
        axis = _axis(int(axis) if isinstance(axis, sp.Integer) else axis, cls.display_name)
        return MatrixExpr.__new__(cls, Z, sp.Integer(axis), _eps(eps, cls.display_name))

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def eps(self):
        return self.args[2]

    @property
    def features(self):
        """d, the number of features a sample is normalised over."""
        return self.arg.rows if self.axis == 0 else self.arg.cols

    def _std_entry(self, i, j):
        d = self.features
        mu = self._along(i, j, lambda z: z) / d
        return sp.sqrt(self._along(i, j, lambda z: (z - mu) ** 2) / d + self.eps)


class Std(_Normalising):
    """√(σ² + ε) of each column (axis 0: a 1 x n row) or of each row (axis 1: an m x 1 column), σ² the
    biased variance; ε = 0 gives the (population) standard deviation. Layer normalisation divides by it."""

    display_name = "std"

    @property
    def shape(self):
        return (sp.S.One, self.arg.cols) if self.axis == 0 else (self.arg.rows, sp.S.One)

    def _entry(self, i, j, **kwargs):
        return self._std_entry(i, j)


class LayerNorm(_Normalising):
    """Layer normalisation without the affine part: each sample x (a column, axis 0, or a row, axis 1)
    becomes x̂ = (x − μ)/√(σ² + ε), μ and σ² the mean and biased variance of its d features."""

    display_name = "layer_norm"

    @property
    def shape(self):
        return self.arg.shape

    @property
    def std(self) -> Std:
        """√(σ² + ε) of each sample, the divisor."""
        return Std(self.arg, self.axis, self.eps)

    def _entry(self, i, j, **kwargs):
        mu = self._along(i, j, lambda z: z) / self.features
        return (self.arg[i, j] - mu) / self._std_entry(i, j)


def sum(Z: Expr, axis: int | None = None) -> MatrixExpr:  # noqa: A001 - the public name the design asks for
    """The sum of all entries of Z (a 1 x 1 matrix expression); with ``axis=0`` the row 1ᵀZ of column
    sums, with ``axis=1`` the column Z1 of row sums."""
    if axis is None:
        return EntrySum(Z)
    Z = _as_matrix(Z, "sum")
    if _axis(axis, "sum") == 0:
        return sp.OneMatrix(1, Z.rows) * Z
    return Z * sp.OneMatrix(Z.cols, 1)


def mean(Z: Expr, axis: int | None = None) -> MatrixExpr:
    """The mean of all entries of Z (1 x 1); with ``axis=0`` of each column (1ᵀZ/m), with ``axis=1``
    of each row (Z1/n)."""
    if axis is None:
        return EntryMean(Z)
    Z = _as_matrix(Z, "mean")
    return sum(Z, axis) / (Z.rows if _axis(axis, "mean") == 0 else Z.cols)


def logsumexp(z: Expr, axis: int | None = None) -> MatrixExpr:
    """log Σ exp(zᵢ) of a column vector z; of a matrix, of each column (``axis=0``, a 1 x n row) or of
    each row (``axis=1``, an m x 1 column: NYU (18)'s per-sample log-sum-exp, samples as rows)."""
    z = _as_matrix(z, "logsumexp")
    if axis is None:
        if z.shape[1] != 1:
            raise ShapeError(f"logsumexp takes a column vector (k x 1), got {z} of shape {z.shape[0]} x "
                             f"{z.shape[1]}; for a matrix give axis=0 (each column) or axis=1 (each row), "
                             "or write log(sum(exp(Z))) for all entries")
        axis = 0
    return LogSumExp(z, axis)


def softmax(z: Expr, axis: int = 0, causal: bool = False) -> MatrixExpr:
    """Softmax of a column vector; of a matrix, column by column (``axis=0``, samples as columns) or
    row by row (``axis=1``, samples as rows). ``causal=True`` (a square matrix of attention scores)
    masks the entries above the diagonal along rows (token j > i; below it along columns)."""
    if causal:
        return CausalSoftmax(z, axis)
    return Softmax(z, axis)


def _sample_axis(X, axis, what):
    """``axis``, or the axis of a vector's entries when it is None (a matrix must say which)."""
    X = _as_matrix(X, what)
    if axis is not None:
        return X, axis
    if X.cols == 1 or X.rows == 1:
        return X, 0 if X.cols == 1 else 1
    raise ShapeError(f"{what} of the {X.rows} x {X.cols} matrix {X}: say which axis holds a sample's features, "
                     f"axis=1 (each row is a sample, tokens as rows) or axis=0 (each column is a sample)")


def layer_norm(X: Expr, axis: int | None = None, eps: Scalar = 0) -> MatrixExpr:
    """Layer normalisation x̂ = (x − μ)/√(σ² + ε) of each sample: each row of X (``axis=1``, tokens as
    rows), each column (``axis=0``), or the entries of a vector (``axis`` omitted). μ and σ² are the
    mean and biased (1/d) variance of the sample's d features; ``eps`` ≥ 0 a Symbol or a number.
    No affine part: γ and β are applied outside, X̂ ⊙ (1γᵀ) + 1βᵀ."""
    X, axis = _sample_axis(X, axis, "layer_norm")
    return LayerNorm(X, axis, eps)


def std(X: Expr, axis: int | None = None, eps: Scalar = 0) -> MatrixExpr:
    """√(σ² + ε) of each sample (the biased variance σ² of its d features): of each row (``axis=1``,
    an m x 1 column), of each column (``axis=0``, a 1 x n row), or of a vector's entries."""
    X, axis = _sample_axis(X, axis, "std")
    return Std(X, axis, eps)


def norm2(x: Expr) -> MatrixExpr:
    """The squared 2-norm ‖x‖² of a vector."""
    return SquaredNorm(x)


def frobenius2(Z: Expr) -> MatrixExpr:
    """The squared Frobenius norm ‖Z‖_F² of a matrix."""
    return FrobeniusSquared(Z)


def scalar(M: Expr) -> sp.Expr:
    """A 1 x 1 matrix expression as the scalar it stands for: ``sc.scalar(w.T*x) + b``.

    SymPy refuses ``w.T*x + b`` ("Mix of Matrix and Scalar symbols"); the scalar (SymPy's trace of
    the 1 x 1 matrix, printed as its entry) adds to and multiplies with scalars.
    """
    M = sp.sympify(M)
    if not is_matrix(M):
        return M
    if M.shape != (1, 1):
        raise ShapeError(f"sc.scalar takes a 1 x 1 matrix; {M} is {M.shape[0]} x {M.shape[1]} "
                         "(for every entry plus a scalar b, write M + b*sp.OneMatrix(*M.shape))")
    return sp.Trace(M)


def dot(u: Expr, v: Expr) -> sp.Expr:
    """The inner product uᵀv of two vectors as a scalar, so that ``sc.dot(w, x) + b`` reads like wᵀx + b."""
    u, v = _as_matrix(u, "dot"), _as_matrix(v, "dot")
    if u.shape != v.shape or 1 not in u.shape:
        raise ShapeError(f"dot takes two vectors of one shape; {u} is {u.shape[0]} x {u.shape[1]} and {v} is "
                         f"{v.shape[0]} x {v.shape[1]}")
    return sp.Trace(u.T * v) if u.shape[1] == 1 else sp.Trace(u * v.T)


# --------------------------------------------------------------------------- declared structure

class SymmetricMatrix(sp.MatrixSymbol):
    """A square matrix symbol declared symmetric: its transpose is itself."""

    def __new__(cls, name: str, n: Scalar, m: Scalar | None = None) -> SymmetricMatrix:
        if m is not None and sp.sympify(m) != sp.sympify(n):
            raise ShapeError(f"a symmetric matrix is square; {name} was given {n} x {m}")
        return super().__new__(cls, name, n, n)

    def _eval_transpose(self):
        return self


class OneHot(sp.MatrixSymbol):
    """A target matrix symbol declared one-hot: every column sums to one (1ᵀY = 1ᵀ), or with
    ``axis=1`` every row (Y 1 = 1, samples as rows)."""

    def __new__(cls, name: str, n: Scalar, m: Scalar, axis: int = 0) -> OneHot:
        if int(axis) not in (0, 1):
            raise ValueError(f"axis is 0 (one-hot columns) or 1 (one-hot rows), not {axis!r}")
        return sp.Basic.__new__(cls, *sp.MatrixSymbol(name, n, m).args, sp.Integer(axis))

    @property
    def shape(self):
        return self.args[1], self.args[2]

    @property
    def axis(self) -> int:
        """The axis whose entries sum to one (NumPy's convention): 0 for columns, 1 for rows."""
        return int(self.args[3])


class InternalMatrix(sp.MatrixSymbol):
    """A matrix symbol symcalc makes for its own use (a reverse sweep's seed, a probe, a direction).

    It is its own class and carries a serial number, so no symbol of a user's, whatever its name
    (``V_seed``), is ever equal to it, and two internal symbols are never equal either."""

    _serial = 0

    def __new__(cls, name, n, m, serial=None):
        if serial is None:
            InternalMatrix._serial += 1
            serial = InternalMatrix._serial
        return sp.Basic.__new__(cls, *sp.MatrixSymbol(name, n, m).args, sp.Integer(serial))

    @property
    def shape(self):
        return self.args[1], self.args[2]


# --------------------------------------------------------------------------- losses

def _same_shape(a, b, what):
    a, b = _as_matrix(a, what), _as_matrix(b, what)
    if a.shape != b.shape:
        raise ShapeError(f"{what}: prediction {a} has shape {a.shape} but target {b} has shape {b.shape}")
    return a, b


SAMPLES = ("columns", "rows")


def _reduce(total, count, reduction):
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / count
    raise ValueError(f"reduction is 'sum' or 'mean', not {reduction!r}")


def _sample_count(p, y, samples, reduction, what, vector_samples):
    """The number of samples a mean divides by: the columns or the rows of p.

    ``samples`` says which ("columns" or "rows"); without it a one-hot target's axis says, and a
    vector's entries are ``vector_samples`` ("entries": one sample each, as for a binary loss;
    "one": a vector is one sample, as a distribution over classes is). A matrix with neither is
    refused for a mean: dividing by the wrong count is a silent wrong answer."""
    if samples is not None and samples not in SAMPLES:
        raise ValueError(f"{what}: samples is 'columns' or 'rows', not {samples!r}")
    if reduction != "mean":
        return None
    if samples is None and isinstance(y, OneHot):
        samples = "columns" if y.axis == 0 else "rows"
    rows, cols = p.shape
    if samples is None and (cols == 1 or rows == 1):
        if vector_samples == "entries":
            return rows * cols
        samples = "columns" if cols == 1 else "rows"
    if samples is None:
        raise UnsupportedError(
            f"{what}(..., reduction='mean') of the {rows} x {cols} matrix {p}: say which axis holds "
            "the samples, samples='columns' (divide by the columns) or samples='rows'")
    return cols if samples == "columns" else rows


def mse(yhat: Expr, y: Expr) -> MatrixExpr:
    """Mean squared error: the mean of (ŷ − y)² over all entries."""
    yhat, y = _same_shape(yhat, y, "mse")
    return EntryMean(sp.HadamardPower(yhat - y, 2))


def bce(p: Expr, y: Expr, reduction: Reduction = "sum", samples: str | None = None) -> Expr:
    """Binary cross-entropy on probabilities: −Σ [y log p + (1 − y) log(1 − p)].

    ``reduction="mean"`` divides by the number of samples: the entries of a vector p (each entry a
    sample's probability), and for a matrix the columns (``samples="columns"``) or the rows
    (``samples="rows"``), which must be given (or follow from a one-hot target's axis)."""
    p, y = _same_shape(p, y, "bce")
    count = _sample_count(p, y, samples, reduction, "bce", "entries")
    one = sp.OneMatrix(*p.shape)
    total = -EntrySum(sp.HadamardProduct(y, log(p)) + sp.HadamardProduct(one - y, log(one - p)))
    return _reduce(total, count, reduction)


def cross_entropy(p: Expr, y: Expr, reduction: Reduction = "sum", samples: str | None = None) -> Expr:
    """Categorical cross-entropy on probabilities: −Σ y ⊙ log p.

    Each sample's probabilities lie along one axis: a column vector is one sample (as
    ``sc.softmax`` gives it), a row vector one sample, and a matrix holds its samples as columns
    (``samples="columns"``, the default for a one-hot target with ``axis=0``) or as rows
    (``samples="rows"``); ``reduction="mean"`` divides by their number."""
    p, y = _same_shape(p, y, "cross_entropy")
    count = _sample_count(p, y, samples, reduction, "cross_entropy", "one")
    return _reduce(-EntrySum(sp.HadamardProduct(y, log(p))), count, reduction)
