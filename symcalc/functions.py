"""Elementwise functions, reductions, softmax, norms and losses as SymPy objects.

Scalar functions are SymPy ``Function`` classes that know their derivative (``fdiff``), their
LaTeX name and their NumPy form (class attributes that the printers read). Applied to a matrix they
become SymPy's own ``ElementwiseApplyFunction`` over one canonical dummy, so that two equal
expressions compare equal (``Z.applyfunc(exp)`` makes a fresh dummy every call). Reductions and
softmax are ``MatrixExpr`` nodes; their derivative rules live in ``symcalc.diff.rules``.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import ShapeError, UnsupportedError

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

    def _sympystr(self, printer):
        args = ", ".join(printer._print(a) for a in self.args)
        return f"{self.display_name}({args})"

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


class Step(_ScalarFunction):
    """The indicator 1[x > 0] (0 at 0): the ReLU's derivative almost everywhere."""

    nargs = 1
    latex_name = r"\mathbb{1}"
    numpy_template = "numpy.greater({0}, 0).astype(float)"

    @classmethod
    def eval(cls, x):
        if _holds_matrix(cls, (x,)):
            return None
        if x.is_positive:
            return sp.S.One
        if x.is_nonpositive:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return sp.Heaviside(x, 0)

    def _eval_is_real(self):
        return True

    def _eval_is_nonnegative(self):
        return True


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


SCALAR_FUNCTIONS = (Sigmoid, Step, ReLU, LeakyReLU, Softplus)


# --------------------------------------------------------------------------- elementwise application

def is_matrix(expr) -> bool:
    return getattr(expr, "is_Matrix", False)


def elementwise(body, Z):
    """``body`` (a scalar expression in ``ELEMENT``) applied to every entry of ``Z``."""
    return ElementwiseApplyFunction(sp.Lambda(ELEMENT, body), Z)


def canonical_elementwise(expr: ElementwiseApplyFunction) -> ElementwiseApplyFunction:
    """The same function over the canonical dummy, so that equal applications compare equal."""
    lam = expr.function
    if not isinstance(lam, sp.Lambda):
        lam = sp.Lambda(ELEMENT, lam(ELEMENT))
    (var,) = lam.variables
    body = lam.expr.xreplace({var: ELEMENT})
    return ElementwiseApplyFunction(sp.Lambda(ELEMENT, body), expr.expr)


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
    def apply(Z):
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
softplus = _lift(Softplus)
tanh = _lift(sp.tanh)
exp = _lift(sp.exp)
log = _lift(sp.log)
sqrt = _lift(sp.sqrt)
sin = _lift(sp.sin)
cos = _lift(sp.cos)


def leaky_relu(Z, alpha=sp.Rational(1, 100)):
    """x for x > 0, αx otherwise, entry by entry."""
    return _lift(LeakyReLU, as_expression(alpha, "leaky_relu's alpha"))(Z)


# --------------------------------------------------------------------------- matrix nodes

def _as_matrix(Z, what):
    Z = as_expression(Z, f"the argument of {what}")
    if not is_matrix(Z):
        raise ShapeError(f"{what} takes a matrix expression, got the scalar {Z}")
    return Z


def _require_vector(Z, what):
    if Z.shape[1] != 1:
        raise ShapeError(
            f"{what} takes a column vector (k x 1), got {Z} of shape {Z.shape[0]} x {Z.shape[1]}"
        )


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

    def _sympystr(self, printer):
        return f"{self.display_name}({printer._print(self.arg)})"

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
        if isinstance(other, sp.Expr) and not is_matrix(other):
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


class LogSumExp(_Reduction):
    """log Σᵢ exp(zᵢ) of a column vector; its gradient is softmax(z)."""

    display_name = "logsumexp"

    _check = classmethod(lambda cls, Z: _require_vector(Z, "logsumexp"))

    def _entry(self, i, j, **kwargs):
        return sp.log(self._entries_sum(sp.exp))


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


class Softmax(_MatrixNode):
    """Column-wise softmax: each column of the result is exp(z) / 1ᵀexp(z)."""

    display_name = "softmax"

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        k = sp.Dummy("k", integer=True)
        Z = self.arg
        if sp.sympify(Z.rows).is_Integer:
            total = sp.Add(*[sp.exp(Z[r, j]) for r in range(Z.rows)])
        else:
            total = sp.Sum(sp.exp(Z[k, j]), (k, 0, Z.rows - 1))
        return sp.exp(Z[i, j]) / total


def sum(Z):  # noqa: A001 - the public name the design asks for
    """The sum of all entries of Z, as a 1 x 1 matrix expression."""
    return EntrySum(Z)


def mean(Z):
    """The mean of all entries of Z, as a 1 x 1 matrix expression."""
    return EntryMean(Z)


def logsumexp(z):
    """log Σ exp(zᵢ) of a column vector z."""
    return LogSumExp(z)


def softmax(z):
    """Softmax of a column vector; of a matrix, column by column (samples as columns)."""
    return Softmax(z)


def norm2(x):
    """The squared 2-norm ‖x‖² of a vector."""
    return SquaredNorm(x)


def frobenius2(Z):
    """The squared Frobenius norm ‖Z‖_F² of a matrix."""
    return FrobeniusSquared(Z)


# --------------------------------------------------------------------------- declared structure

class SymmetricMatrix(sp.MatrixSymbol):
    """A square matrix symbol declared symmetric: its transpose is itself."""

    def __new__(cls, name, n, m=None):
        if m is not None and sp.sympify(m) != sp.sympify(n):
            raise ShapeError(f"a symmetric matrix is square; {name} was given {n} x {m}")
        return super().__new__(cls, name, n, n)

    def _eval_transpose(self):
        return self


class OneHot(sp.MatrixSymbol):
    """A target matrix symbol declared one-hot: every column sums to one (1ᵀY = 1ᵀ), or with
    ``axis=1`` every row (Y 1 = 1, samples as rows)."""

    def __new__(cls, name, n, m, axis=0):
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


def mse(yhat, y):
    """Mean squared error: the mean of (ŷ − y)² over all entries."""
    yhat, y = _same_shape(yhat, y, "mse")
    return EntryMean(sp.HadamardPower(yhat - y, 2))


def bce(p, y, reduction="sum", samples=None):
    """Binary cross-entropy on probabilities: −Σ [y log p + (1 − y) log(1 − p)].

    ``reduction="mean"`` divides by the number of samples: the entries of a vector p (each entry a
    sample's probability), and for a matrix the columns (``samples="columns"``) or the rows
    (``samples="rows"``), which must be given (or follow from a one-hot target's axis)."""
    p, y = _same_shape(p, y, "bce")
    count = _sample_count(p, y, samples, reduction, "bce", "entries")
    one = sp.OneMatrix(*p.shape)
    total = -EntrySum(sp.HadamardProduct(y, log(p)) + sp.HadamardProduct(one - y, log(one - p)))
    return _reduce(total, count, reduction)


def cross_entropy(p, y, reduction="sum", samples=None):
    """Categorical cross-entropy on probabilities: −Σ y ⊙ log p.

    Each sample's probabilities lie along one axis: a column vector is one sample (as
    ``sc.softmax`` gives it), a row vector one sample, and a matrix holds its samples as columns
    (``samples="columns"``, the default for a one-hot target with ``axis=0``) or as rows
    (``samples="rows"``); ``reduction="mean"`` divides by their number."""
    p, y = _same_shape(p, y, "cross_entropy")
    count = _sample_count(p, y, samples, reduction, "cross_entropy", "one")
    return _reduce(-EntrySum(sp.HadamardProduct(y, log(p))), count, reduction)
