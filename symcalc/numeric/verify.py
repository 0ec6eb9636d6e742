"""Is this derivative right? Checking a claimed derivative against the truth.

A claim is compared with symcalc's own derivative after canonicalization (evidence), and with
central finite differences of the expression itself at random rectangular sizes and random values
(the decision: numbers decide when symbols cannot). When the claim is wrong the verdict says how:
a wrong shape, the other layout's answer (a transpose), a constant factor (a missing 2), a formula
that holds only for symmetric matrices, or wrong entries; the counterexample carries the sizes, the
values and both numbers. A claim that cannot be evaluated is reported as unverified, never as
correct.

``verify`` takes a claim in matrix form; ``verify_entrywise`` takes one entry ∂Y[of]/∂X[by]
written with SymPy ``Indexed`` symbols (``x[k]``, ``W[j, k]``) and ``KroneckerDelta``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.tensor.array import NDimArray
from sympy.tensor.indexed import Indexed, IndexedBase

from typing import Mapping

from .. import limits
from ..assumptions import Assumptions, as_boolean, facts, structure
from ..hints import Expr, Layout, Variable
from ..errors import LayoutError, ShapeError, SymcalcError, UnsupportedError
from ..functions import OneHot, SymmetricMatrix, as_expression, is_matrix
from .check import arrange, draw_sizes, draw_values, size_symbols
from .lambdify import lambdify
from .reference import function as reference_function

__all__ = ["Counterexample", "Verdict", "verify", "verify_entrywise"]

TRIALS = 3          # random draws (sizes and values) a claim must pass
RTOL = 1e-5         # agreement with central differences, relative to the derivative's scale
EXACT_RTOL = 1e-9   # agreement with a derivative evaluated from its formula (no differencing error)
STEP = 1e-5         # central-difference step, relative to the entry


# --------------------------------------------------------------------------- results

@dataclass(repr=False)
class Counterexample:
    """Concrete sizes and values at which the claim and the true derivative differ."""

    sizes: dict
    values: dict
    claimed: object
    correct: object
    entry: tuple | None = None

    def __str__(self):
        sizes = ", ".join(f"{k} = {v}" for k, v in self.sizes.items()) or "concrete sizes"
        lines = [f"at {sizes}"]
        if self.entry is not None:
            where = ", ".join(str(i) for i in self.entry)
            lines.append(f"entry [{where}]: claimed {_fmt(_at(self.claimed, self.entry))}, "
                         f"correct {_fmt(_at(self.correct, self.entry))}")
        with np.printoptions(precision=4, suppress=True):
            for name, v in self.values.items():
                lines.append(f"{name} = {np.array2string(np.asarray(v), prefix=name + ' = ')}")
            if np.ndim(self.claimed) <= 2 and np.ndim(self.correct) <= 2:
                for label, v in (("claimed", self.claimed), ("correct", self.correct)):
                    lines.append(f"{label} = {np.array2string(np.asarray(v), prefix=label + ' = ')}")
        return "\n".join(lines)

    __repr__ = __str__


def _at(a, entry):
    a = np.asarray(a)
    return a[entry] if a.ndim else a


def _fmt(x):
    return f"{float(x):.6g}"


@dataclass(repr=False)
class Verdict:
    """The answer to "is this derivative right?".

    ``status`` is "correct", "wrong" or "unverified"; ``ok`` is True only for "correct".
    ``diagnosis`` names how a wrong claim is wrong: "shape", "transpose", "factor", "symmetric",
    "entries" (or "index" for an entry-wise claim whose indices do not fit).
    """

    status: str
    explanation: str
    counterexample: Counterexample | None = None
    diagnosis: str | None = None
    factor: object = None
    expected: object = None          # symcalc's own derivative, when it has one
    symbolic_match: bool | None = None
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "correct"

    def __bool__(self):
        return self.ok

    def _repr_html_(self):
        """An HTML table for Jupyter (the printing side, loaded on first use)."""
        from ..printing.html import verdict_html
        return verdict_html(self)

    def __str__(self):
        text = f"{self.status.upper()}: {self.explanation}"
        if self.notes:
            text += "\n" + "\n".join(f"note: {n}" for n in self.notes)
        if self.counterexample is not None:
            text += "\ncounterexample " + str(self.counterexample)
        return text

    __repr__ = __str__


# --------------------------------------------------------------------------- random sizes and values

def leaves(*exprs, exclude=()):
    """Matrix symbols and scalar symbols that need values (not sizes), sorted by name."""
    sizes = set(size_symbols(*[e for e in exprs if isinstance(e, sp.Basic)]))
    out = set()
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        out |= e.atoms(sp.MatrixSymbol)
        out |= {s for s in e.free_symbols if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy)}
    out -= sizes
    out -= set(exclude)
    return sorted(out, key=lambda s: (str(s), type(s).__name__))


class Sampler:
    """Random sizes and values (``check.draw_sizes`` and ``check.draw_values``: distinct sizes,
    values in the expression's domain) with the declared assumptions imposed on top: symmetric,
    positive (semi)definite matrices, positive scalars; and, on request, extra matrices made
    symmetric (to test whether a claim holds only for symmetric matrices)."""

    def __init__(self, exprs, symbols, assumptions=None, seed=0):
        self.exprs = [e for e in exprs if isinstance(e, sp.Basic)]
        self.symbols = list(symbols)
        self.sizes = size_symbols(*self.exprs, *self.symbols)
        self.rng = np.random.default_rng(seed)
        self._seen = {}                      # size symbol -> values drawn so far
        self.facts = fs = facts(assumptions)
        self.structure = {s: structure(s, fs) for s in self.symbols}
        self.symmetric = {s for s in self.symbols if isinstance(s, SymmetricMatrix)
                          or self.structure[s].symmetric}

    def draw_sizes(self, tries=20):
        """Distinct sizes, each (where possible) different from its values in earlier draws, so
        that a factor such as n cannot pass for a constant."""
        seen = self._seen
        best, score = None, -1
        for _ in range(tries):
            sizes = draw_sizes(self.sizes, self.rng)
            fresh = sum(v not in seen.get(k, ()) for k, v in sizes.items())
            if fresh > score:
                best, score = sizes, fresh
            if fresh == len(sizes):
                break
        for k, v in best.items():
            seen.setdefault(k, set()).add(v)
        return best

    def draw_values(self, sizes, symmetric=(), positive=False):
        """Values at ``sizes`` that satisfy the assumptions; ``positive`` makes every other value
        positive, ``symmetric`` names more matrices to make symmetric (to ask whether a claim holds
        only for symmetric ones)."""
        rng = self.rng
        values = draw_values(self.symbols, sizes, rng, _domain_expr(self.exprs))
        for s in self.symbols:
            v = values[s]
            if positive and not isinstance(s, OneHot):
                v = float(rng.uniform(0.5, 1.5)) if not isinstance(s, sp.MatrixSymbol) else np.abs(v) + 0.1
            v = self.structure[s].impose(v, rng)
            if s in symmetric:
                v = (v + v.T) / 2
            values[s] = v
        return values


def _domain_expr(exprs):
    """One expression whose domain is that of all of ``exprs`` (for ``check.draw_values``)."""
    exprs = [e for e in exprs if isinstance(e, sp.Basic) and not isinstance(e, NDimArray)]
    return exprs[0] if len(exprs) == 1 else sp.Tuple(*exprs)


# --------------------------------------------------------------------------- evaluation

def concrete(e, sizes):
    if isinstance(e, tuple):
        return tuple(sp.sympify(k).xreplace(sizes) for k in e)
    return e.xreplace(sizes) if isinstance(e, sp.Basic) else e


def _plain(s, i):
    """``s`` renamed ``a<i>`` (same class, shape and assumptions): user names such as ``lambda``
    or ``W^{(1)}`` are not Python identifiers, and generated code needs plain ones."""
    if isinstance(s, OneHot):  # keeps its axis: one-hot rows stay rows
        return OneHot(f"a{i}", *s.shape, axis=s.axis)
    if isinstance(s, sp.MatrixSymbol):
        return type(s)(f"a{i}", *s.shape)
    return sp.Symbol(f"a{i}", **s.assumptions0)


def compile_at(expr, symbols, sizes):
    """A NumPy function of the values dict, for expr at concrete sizes (symcalc's lambdify)."""
    args = [concrete(s, sizes) for s in symbols]
    plain = {a: _plain(a, i) for i, a in enumerate(args)}
    args = [plain[a] for a in args]
    e = concrete(expr, sizes).xreplace(plain)
    if isinstance(e, NDimArray):
        flat = sp.ImmutableMatrix(1, len(e), list(sp.flatten(e.tolist())))
        shape = tuple(int(k) for k in e.shape)
        f = lambdify(args, flat)
        return lambda values: np.asarray(f(*[values[s] for s in symbols]), float).reshape(shape)
    f = lambdify(args, e)

    def run(values):
        out = np.asarray(f(*[values[s] for s in symbols]), dtype=float)
        return out.reshape(()) if out.size == 1 and not is_matrix(e) else out
    return run


def reference_at(expr, symbols, sizes):
    """A function of the values dict, for expr at concrete sizes evaluated by its definition
    (``reference.py``): the expression and the claim are never evaluated through the engine's
    rewrites or the code generator that shares them."""
    e = concrete(expr, sizes)
    f = reference_function(e, [concrete(s, sizes) for s in symbols])

    def run(values):
        out = np.asarray(f(*[values[s] for s in symbols]), dtype=float)
        return out.reshape(()) if out.size == 1 and not is_matrix(e) and not isinstance(e, NDimArray) \
            else out
    return run


def _shape2(e):
    """Shape of an expression as rows x cols (a scalar is 1 x 1)."""
    return tuple(e.shape) if is_matrix(e) else (sp.S.One, sp.S.One)


def jacobian_array(f, values, wrt, yshape):
    """D[i, j, k, l] = ∂Y_ij/∂X_kl by central differences (scalars count as 1 x 1)."""
    x0 = np.asarray(values[wrt], dtype=float)
    xshape = x0.shape if x0.ndim == 2 else (1, 1)
    limits.check_numeric(*xshape, f"the variable {wrt}", "MAX_CHECK_ENTRIES")
    D = np.zeros(tuple(yshape) + tuple(xshape))
    for k, l in itertools.product(range(xshape[0]), range(xshape[1])):
        h = STEP * max(1.0, abs(float(x0.reshape(xshape)[k, l])))
        steps = []
        for sign in (1, -1):
            x = x0.copy().reshape(xshape)
            x[k, l] += sign * h
            steps.append(np.reshape(f({**values, wrt: x if x0.ndim == 2 else float(x[0, 0])}), yshape))
        D[:, :, k, l] = (steps[0] - steps[1]) / (2 * h)
    return D


def layout_of(expr, wrt):
    """(y is a scalar, x is a scalar), as ``check.arrange`` takes them."""
    return (not is_matrix(expr) or tuple(expr.shape) == (1, 1)), not is_matrix(wrt)


def expected_shape(expr, wrt, layout, vec=False):
    """The symbolic shape of ∂expr/∂wrt in ``layout`` (docs/layouts.md, as ``check.arrange`` lays it out)."""
    y_scalar, x_scalar = layout_of(expr, wrt)
    (m, n), (p, q) = _shape2(expr), _shape2(wrt)
    if x_scalar:
        num = () if y_scalar else (m, n)
    elif y_scalar:
        num = (1, p * q) if vec and q != 1 else (q, p)
    elif n == 1 and q == 1:
        num = (m, p)
    elif vec:
        num = (m * n, p * q)
    else:
        return (m, n, p, q) if layout == "numerator" else (p, q, m, n)
    return num if layout == "numerator" or not num else (num[1], num[0])


class Exact(np.ndarray):
    """A reference derivative evaluated from symcalc's formula, after central differences
    confirmed it: free of differencing error, so a claim is held to EXACT_RTOL. (Central
    differences alone cannot see a claim that is off by one part in a million, or a derivative of
    1e-6 claimed to be 0.) Transposes and multiples of it stay exact."""


def _other_layout(R):
    """The same derivative in the other layout: a transpose (of the array's two halves)."""
    R = np.asanyarray(R)
    if R.ndim == 2:
        return R.T
    if R.ndim == 4:
        return R.transpose(2, 3, 0, 1)
    return R


def close(a, b):
    """a agrees with the reference b: to EXACT_RTOL of b's scale when b is ``Exact``, else to
    RTOL of the larger of its scale and 1 (central differences carry absolute noise)."""
    exact = isinstance(b, Exact)
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return False
    top = float(np.max(np.abs(b))) if b.size else 0.0
    if exact:
        return bool(np.all(np.abs(a - b) <= EXACT_RTOL * (top + np.abs(b)) + 1e-300))
    scale = max(1.0, top)
    return bool(np.all(np.abs(a - b) <= RTOL * scale + RTOL * np.abs(b)))


# --------------------------------------------------------------------------- diagnosis helpers

def _best_factor(C, R):
    """The least-squares factor c with C ≈ c R, or None when R vanishes."""
    C, R = np.asarray(C, float).ravel(), np.asarray(R, float).ravel()
    rr = float(R @ R)
    return None if rr < 1e-20 else float(C @ R) / rr


def _nice(c, sizes_list):
    """A simple form of a factor seen in several trials: a rational, or a rational times sizes^±1."""
    cs = [c for c, _ in sizes_list]
    if all(abs(x - cs[0]) <= 1e-6 * max(1, abs(cs[0])) for x in cs):
        r = sp.Rational(cs[0]).limit_denominator(1000)
        return r if abs(float(r) - cs[0]) <= 1e-6 * max(1, abs(cs[0])) else sp.Float(cs[0], 6)
    syms = sorted({s for _, sizes in sizes_list for s in sizes}, key=str)
    powers = sorted(itertools.product((-2, -1, 0, 1, 2), repeat=len(syms)) if len(syms) <= 4 else [],
                    key=lambda es: (sum(map(abs, es)), es))
    for es in powers:
        mono = sp.Mul(*[s**e for s, e in zip(syms, es)])
        ratios = [x / float(mono.xreplace(sizes)) for x, sizes in sizes_list]
        r = sp.Rational(ratios[0]).limit_denominator(100)
        if all(abs(float(r) - x) <= 1e-6 * max(1, abs(x)) for x in ratios):
            return r * mono
    return None


def _square_symbols(symbols, already_symmetric):
    return [s for s in symbols if isinstance(s, sp.MatrixSymbol) and s.rows == s.cols
            and s.rows != 1 and s not in already_symmetric]


def _worst_entry(C, R):
    C, R = np.asarray(C, float), np.asarray(R, float)
    if C.ndim == 0:
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(C - R))), C.shape))


def _names(values):
    return {str(k): v for k, v in values.items()}


def _printable(expected):
    """Whether symcalc's derivative is worth quoting in an explanation (a matrix form, not an array)."""
    return expected is not None and not isinstance(expected, NDimArray)


def show(e):
    """Readable text of an expression (``X.T*X``, ``sigmoid(X*w)``, ``(X.T*X)^-1``) for explanations.
    Imported on use: reports read the math's objects, the math never imports printing."""
    if not isinstance(e, sp.Basic):
        return str(e)
    from ..printing.text import text
    return text(e)


def _sizes_named(sizes):
    return {str(k): v for k, v in sizes.items()}


def _shape_text(shape):
    return " x ".join(str(s) for s in shape) if shape else "scalar"


# --------------------------------------------------------------------------- verify

@limits.deep
def verify(claim: Expr, expr: Expr, wrt: Variable, layout: Layout = "denominator",
           assumptions: Assumptions = None, seed: int = 0, vec: bool = False) -> Verdict:
    """Check that ``claim`` is ∂expr/∂wrt in ``layout``; return a Verdict that says how it is wrong.

    ``claim`` is a SymPy (matrix) expression in the symbols of ``expr`` (other symbols are given
    random values too), or an ``ImmutableDenseNDimArray`` for a matrix-by-matrix derivative at
    concrete sizes. ``assumptions`` (SymPy ``Q`` predicates) declare symmetry or positivity; they
    restrict the random values drawn. ``vec=True`` checks the Magnus–Neudecker form.
    """
    if layout not in ("numerator", "denominator"):
        raise LayoutError(f"layout is 'numerator' or 'denominator', not {layout!r}")
    _check_variable(wrt)
    expr, claim = as_expression(expr), as_expression(claim, "the claim")
    other = "numerator" if layout == "denominator" else "denominator"
    want = expected_shape(expr, wrt, layout, vec)
    got = tuple(claim.shape) if (is_matrix(claim) or isinstance(claim, NDimArray)) else ()
    if want == () and got == (1, 1):
        got = ()

    expected, symbolic = _symbolic(claim, expr, wrt, layout, vec, assumptions, got == want)
    symbols = leaves(expr, claim, wrt)
    extra = [s for s in leaves(claim) if s not in set(leaves(expr)) | {wrt}]
    notes = []
    if extra:
        notes.append("the claim uses " + ", ".join(map(str, extra)) + ", which the expression does "
                     "not contain; they were given independent random values")
    sampler = Sampler([expr, claim], symbols, assumptions, seed)
    try:
        trials = _trials(sampler, expr, claim, wrt, symbols, layout, vec, expected=expected)
    except _Unevaluable as err:
        text = f"the claim could not be checked numerically ({err})"
        if symbolic:
            text += "; it is symbolically identical to symcalc's derivative, but that alone is not a check"
        return Verdict("unverified", text, expected=expected, symbolic_match=symbolic, notes=notes)

    def verdict(status, text, diagnosis=None, trial=None, factor=None):
        cx = None
        if trial is not None:
            sizes, values, C, R = trial
            cx = Counterexample(_sizes_named(sizes), _names(values), C, R, _worst_entry(C, R)
                                if np.shape(C) == np.shape(R) else None)
        return Verdict(status, text, cx, diagnosis, factor, expected, symbolic, notes)

    what = f"∂({show(expr)})/∂{wrt} in {layout} layout"
    shape_ok = got == want
    if shape_ok and all(close(C, R) for _, _, C, R in trials):
        how = "symbolically identical to symcalc's derivative and " if symbolic else ""
        return verdict("correct", f"the claim is {what}: {how}equal to central differences at "
                       f"{len(trials)} random sizes and values")
    if symbolic:
        return verdict("unverified", "the claim is symbolically identical to symcalc's derivative, but "
                       "finite differences disagree (a non-differentiable point, or a symcalc bug): "
                       "not reported as correct", trial=trials[0])

    squares = _square_symbols(symbols, sampler.symmetric) if shape_ok else []
    needed = _symmetric_needed(sampler, expr, claim, wrt, symbols, layout, vec, squares) \
        if squares else None
    diagnosis = _diagnose(trials, got, want, layout, other, what, expected)
    if diagnosis is not None:
        status, text, code, factor, index = diagnosis
        if needed:
            notes.append(f"the claim does agree when {', '.join(map(str, needed))} is symmetric")
        return verdict(status, text, code, trials[index], factor)
    if needed:
        names = ", ".join(map(str, needed))
        text = (f"right only for symmetric {names} ({names}ᵀ = {names}): at a non-symmetric "
                f"{names} it differs from {what}")
        if _printable(expected):
            text += f", which is {show(expected)}"
        bad = next(t for t in trials if not close(t[2], t[3]))
        return verdict("wrong", text, "symmetric", bad)
    bad = next((t for t in trials if not close(t[2], t[3])), trials[0])
    text = f"wrong entries: the claim is not {what}"
    if _printable(expected):
        text += f", which is {show(expected)}"
    return verdict("wrong", text, "entries", bad)


class _Unevaluable(SymcalcError):
    pass


def _check_variable(wrt):
    if not isinstance(wrt, (sp.Symbol, sp.MatrixSymbol)):
        raise UnsupportedError(f"a derivative is taken with respect to a sp.Symbol or sp.MatrixSymbol; "
                               f"{wrt} is a {type(wrt).__name__}")


def _symbolic(claim, expr, wrt, layout, vec, assumptions, same_shape):
    """(symcalc's derivative or None, whether the claim is identical to it after canonicalization)."""
    try:
        from ..diff import diff
        from ..simplify import textbook
        expected = diff(expr, wrt, layout=layout, vec=vec, assumptions=as_boolean(assumptions))
    except (SymcalcError, ImportError, TypeError, ValueError, AttributeError):
        return None, None
    if not same_shape or isinstance(expected, NDimArray) or isinstance(claim, NDimArray):
        return expected, None
    try:
        if textbook(claim) == textbook(expected):
            return expected, True
        if sp.expand(claim) == sp.expand(expected):
            return expected, True
    except (SymcalcError, TypeError, ValueError, AttributeError):
        pass
    return expected, None


def _exact(f_expected, values, R):
    """symcalc's derivative at the values, as ``Exact``, when central differences R confirm it."""
    if f_expected is None:
        return R
    try:
        with np.errstate(all="ignore"):
            E = np.asarray(f_expected(values), float)
    except Exception:  # noqa: BLE001 - no exact reference; the differences stand
        return R
    if np.ndim(R) == 0 and E.size == 1:
        E = np.reshape(E, ())
    return E.view(Exact) if close(E, R) else R


def _trials(sampler, expr, claim, wrt, symbols, layout, vec, symmetric=(), expected=None):
    """[(sizes, values, claimed, correct)] at TRIALS random draws; ``correct`` is symcalc's
    ``expected`` derivative (``Exact``) where central differences confirm it, else the differences."""
    out = []
    for _ in range(TRIALS):
        sizes = sampler.draw_sizes()
        try:
            f_expr = reference_at(expr, symbols, sizes)
            f_claim = reference_at(claim, symbols, sizes)
        except Exception as err:  # noqa: BLE001 - any failure to compile means "cannot check"
            raise _Unevaluable(f"{type(err).__name__}: {err}") from err
        try:
            f_expected = None if expected is None or isinstance(expected, NDimArray) else \
                compile_at(expected, symbols, sizes)
        except Exception:  # noqa: BLE001 - then the differences alone are the reference
            f_expected = None
        yshape = tuple(int(k) for k in concrete(_shape2(expr), sizes))
        for positive in (False, True):
            values = sampler.draw_values(sizes, symmetric, positive)
            with np.errstate(all="ignore"):
                try:
                    R = np.asarray(arrange(jacobian_array(f_expr, values, wrt, yshape),
                                           *layout_of(expr, wrt), layout, vec))
                    C = f_claim(values)
                except Exception as err:  # noqa: BLE001 - reported as unverified, with the error
                    raise _Unevaluable(f"{type(err).__name__}: {err}") from err
            if np.ndim(R) == 0 and np.size(C) == 1:
                C = np.reshape(C, ())
            if np.all(np.isfinite(R)) and np.all(np.isfinite(C)):
                R = _exact(f_expected, values, R)
                break
        else:
            raise _Unevaluable("no random values were found at which both are finite")
        out.append((sizes, values, C, R))
    return out


def _diagnose(trials, got, want, layout, other, what, expected):
    """(status, text, code, factor, trial index) for shape, transpose and factor mistakes, or None."""
    def all_close(f):
        return all(close(C, f(R)) for _, _, C, R in trials)

    transposable = np.ndim(trials[0][3]) in (2, 4)
    if transposable and all_close(_other_layout):
        other_name = f"the {other} layout's answer"
        return ("wrong", f"right up to a transpose: the claim is {other_name}; "
                f"{what} has shape {_shape_text(want)}" + (f" and is {show(expected)}" if _printable(expected)
                                                            else ""), "transpose", None, 0)
    for flip, label in ((lambda R: R, ""), (_other_layout, " and transposed (the other layout)")):
        if label and not transposable:
            continue
        fits = []
        for sizes, _, C, R in trials:
            c = _best_factor(C, flip(R)) if np.shape(C) == np.shape(flip(R)) else None
            if c is None or not close(C, c * flip(R)):
                break
            fits.append((c, sizes))
        else:
            factor = _nice(fits[0][0], fits) if fits else None
            if factor is not None and factor not in (0, 1):
                kind_text = "the wrong sign" if factor == -1 else f"a constant factor {factor}"
                return ("wrong", f"right but for {kind_text}{label}: the claim is {factor} times "
                        f"{what}" + (f", which is {show(expected)}" if _printable(expected) else ""),
                        "factor", factor, 0)
    if got != want:
        return ("wrong", f"wrong shape: {what} has shape {_shape_text(want)}, the claim has shape "
                f"{_shape_text(got)}", "shape", None, 0)
    return None


def _symmetric_needed(sampler, expr, claim, wrt, symbols, layout, vec, squares):
    """The smallest set of square matrices whose symmetry makes the claim right, or None."""
    def holds(sym):
        try:
            return all(close(C, R) for _, _, C, R in
                       _trials(sampler, expr, claim, wrt, symbols, layout, vec, symmetric=sym))
        except _Unevaluable:
            return False
    if not holds(set(squares)):
        return None
    for k in range(1, len(squares) + 1):
        for subset in itertools.combinations(squares, k):
            if holds(set(subset)):
                return list(subset)
    return list(squares)


# --------------------------------------------------------------------------- entry-wise claims

@limits.deep
def verify_entrywise(claim: Expr, expr: Expr, wrt: Variable, of: tuple[sp.Symbol, ...],
                     by: tuple[sp.Symbol, ...], where: Mapping[sp.Basic, Expr] | None = None,
                     assumptions: Assumptions = None, seed: int = 0) -> Verdict:
    """Check an entry-wise claim ∂expr[of]/∂wrt[by] = claim for every value of the indices.

    ``of`` and ``by`` are tuples of SymPy index symbols: one per dimension of a matrix (two), one
    for a vector (its other index is 0), none for a scalar. An index that appears in both ties
    them, as in ∂z_ij/∂W_jk. ``claim`` is a scalar SymPy expression in the index symbols, written
    with ``IndexedBase`` entries named like the matrix symbols (``x[k]`` for the vector x,
    ``X[i, k]``), entries ``X[i, k]`` of the MatrixSymbols themselves, ``KroneckerDelta`` and
    scalar symbols. ``where`` defines other names the claim uses ({"u": sc.exp(Z)}, or with an
    IndexedBase or Symbol as key). Indices run from 0; the check does not depend on the base.

    Example, z = W x + b: ``verify_entrywise(KroneckerDelta(i, j) * x_[k], W*x + b, W, of=(i,),
    by=(j, k))`` with ``x_ = IndexedBase("x")``.
    """
    _check_variable(wrt)
    expr = as_expression(expr)
    claim = as_expression(claim, "the claim")
    of, by = ((i,) if isinstance(i, sp.Basic) else tuple(i) for i in (of, by))
    yshape, xshape = _shape2(expr), _shape2(wrt)
    positions = _positions(of, yshape, expr, 0) + _positions(by, xshape, wrt, 2)
    defs = {_name(k): sp.sympify(v) for k, v in (where or {}).items()}
    index_syms = {p[0] for p in positions}
    scalar_defs = {name: d for name, d in defs.items() if not is_matrix(d)}  # where={a: 2*lam}
    claim = claim.xreplace({s: scalar_defs[s.name] for s in claim.free_symbols
                            if isinstance(s, sp.Symbol) and s.name in scalar_defs})
    defs = {name: d for name, d in defs.items() if is_matrix(d)}

    base_shapes = {}
    for m in leaves(expr, wrt, *defs.values()):
        if isinstance(m, sp.MatrixSymbol):
            base_shapes[m.name] = m
    for name, d in defs.items():
        base_shapes[name] = d
    refs = _claim_refs(claim, index_syms)
    free = sorted({s for _, idx, _ in refs for i in idx for s in sp.sympify(i).free_symbols}
                  & claim.free_symbols - index_syms, key=str)
    if free:
        return Verdict("wrong", f"the claim has the free index {', '.join(map(str, free))}, which is neither "
                       f"in of={tuple(of)} nor in by={tuple(by)} nor summed: the entry it claims is not "
                       f"defined (a missing Σ over {free[0]}?)", diagnosis="index")
    unknown = sorted({r[0] for r in refs if r[0] not in base_shapes})
    if unknown:
        return Verdict("unverified", f"the claim uses {', '.join(unknown)}, which is neither a symbol of "
                       f"{show(expr)} nor defined in where=; give its definition, e.g. "
                       f"where={{'{unknown[0]}': ...}}",
                       diagnosis=None)

    # each index must run over one range: the sizes at all its positions must agree
    ranges: dict = {}
    for s, size, place, _ in positions:
        ranges.setdefault(s, []).append((size, place))
    for name, idx, owner in refs:
        target = base_shapes[name]
        tshape = _shape2(target)
        for i, (pos_size, axis) in zip(idx, _index_dims(idx, tshape, name)):
            if i in index_syms:
                ranges[i].append((pos_size, f"the {axis} of {name}"))
    for s, entries in ranges.items():
        sizes = {sp.sympify(z) for z, _ in entries}
        if len(sizes) > 1:
            where_text = "; ".join(f"{place} (size {z})" for z, place in dict.fromkeys(entries))
            return Verdict("wrong", f"the indices do not fit: {s} runs over {where_text}; these sizes "
                           "differ, so the claimed entry is not even defined for all index values",
                           diagnosis="index")

    symbols = leaves(expr, wrt, *defs.values(), *[r[2].parent for r in refs
                                                   if isinstance(r[2], MatrixElement)])
    bare = claim.xreplace({node: sp.S.Zero for _, _, node in refs}) if refs else claim
    claim_scalars = leaves(bare, exclude=set(index_syms) | set(size_symbols(expr, wrt, *defs.values())))
    symbols = sorted(set(symbols) | set(claim_scalars), key=str)
    sampler = Sampler([expr, *defs.values()], symbols, assumptions, seed)
    order = sorted(index_syms, key=str)
    failure = None
    for _ in range(TRIALS):
        sizes = sampler.draw_sizes()
        values = sampler.draw_values(sizes)
        try:
            with np.errstate(all="ignore"):
                got, ref, grid, arrays = _entry_trial(expr, wrt, claim, defs, symbols, sizes, values,
                                                      positions, ranges, order)
        except Exception as err:  # noqa: BLE001 - reported as unverified, with the error
            return Verdict("unverified", f"the claim could not be checked numerically "
                           f"({type(err).__name__}: {err})")
        if not close(got, ref):
            failure = sizes, values, got, ref, grid, arrays
            break
    what = f"∂{_entry_text(expr, of)}/∂{_entry_text(wrt, by)}"
    if failure is None:
        return Verdict("correct", f"{what} = {show(claim)} holds for every index value at {TRIALS} "
                       "random sizes and values (central differences)")
    sizes, values, got, ref, grid, arrays = failure
    at = _worst_entry(got, ref)
    assignment = ", ".join(f"{s} = {int(grid[s][at])}" for s in order)
    factor = _best_factor(got, ref)
    if factor is not None and abs(factor - 1) > 1e-6 and abs(factor) > 1e-6 and close(got, factor * ref):
        r = _nice(factor, [(factor, sizes)])
        text = f"right but for a constant factor {r}: the claim is {r} times the derivative"
        diagnosis, fac = "factor", r
    else:
        text = f"wrong entries: at {assignment} the claim gives {_fmt(got[at])} but {what} is {_fmt(ref[at])}"
        diagnosis, fac = "entries", None
        hint = _suggest(ref, grid, order, arrays)
        if hint is not None:
            text += f"; the correct value is {hint}"
    cx = Counterexample(_sizes_named(sizes), _names(values), got, ref, at)
    return Verdict("wrong", text, cx, diagnosis, fac)


def _entry_trial(expr, wrt, claim, defs, symbols, sizes, values, positions, ranges, order):
    """(claim, truth, index grid, named arrays) over every index value at one draw."""
    D = jacobian_array(reference_at(expr, symbols, sizes), values, wrt,
                       tuple(int(k) for k in concrete(_shape2(expr), sizes)))
    arrays = {m.name: np.asarray(values[m], float) for m in symbols if isinstance(m, sp.MatrixSymbol)}
    for name, d in defs.items():
        arrays[name] = np.asarray(reference_at(d, symbols, sizes)(values), float).reshape(
            tuple(int(k) for k in concrete(_shape2(d), sizes)))
    extent = [int(sp.sympify(ranges[s][0][0]).xreplace(sizes)) for s in order]
    grid = dict(zip(order, np.meshgrid(*[np.arange(n) for n in extent], indexing="ij")))
    ref = _gather(D, positions, grid, extent)
    got = _evaluate_indexed(claim, grid, extent, arrays, values, set(order), sizes)
    return got, ref, grid, arrays


def _name(key):
    if isinstance(key, str):
        return key
    if isinstance(key, IndexedBase):
        return str(key.label)
    return str(getattr(key, "name", key))


def _entry_text(e, idx):
    text = show(e) if e.is_Atom or isinstance(e, sp.MatrixSymbol) else f"({show(e)})"
    return f"{text}[{', '.join(map(str, idx))}]" if idx else text


def _positions(idx, shape, owner, axis):
    """[(index symbol, size it runs over, description, axis of D)] for the entry owner[idx]."""
    rows, cols = shape
    if len(idx) == 2:
        return [(idx[0], rows, f"the rows of {owner}", axis),
                (idx[1], cols, f"the columns of {owner}", axis + 1)]
    if len(idx) == 1:
        if cols == 1:
            return [(idx[0], rows, f"the entries of {owner}", axis)]
        if rows == 1:
            return [(idx[0], cols, f"the entries of {owner}", axis + 1)]
        raise ShapeError(f"{owner} is {rows} x {cols}: give two indices for its entries, not one")
    if len(idx) == 0 and (rows, cols) == (1, 1):
        return []
    raise ShapeError(f"{owner} is {rows} x {cols}; an entry takes "
                     f"{0 if (rows, cols) == (1, 1) else (1 if 1 in (rows, cols) else 2)} indices, "
                     f"got {len(idx)}")


def _index_dims(idx, shape, name):
    rows, cols = shape
    if len(idx) == 2:
        return [(rows, "rows"), (cols, "columns")]
    if len(idx) == 1 and cols == 1:
        return [(rows, "entries")]
    if len(idx) == 1 and rows == 1:
        return [(cols, "entries")]
    raise ShapeError(f"{name} is {rows} x {cols} but the claim indexes it with {len(idx)} indices")


def _claim_refs(claim, index_syms):
    """[(base name, indices, node)] for the Indexed entries and matrix elements the claim uses."""
    refs = []
    for node in sp.preorder_traversal(claim):
        if isinstance(node, Indexed):
            refs.append((str(node.base.label), tuple(node.indices), node))
        elif isinstance(node, MatrixElement):
            refs.append((node.parent.name, (node.i, node.j), node))
    return refs


def _index_value(i, grid, extent):
    i = sp.sympify(i)
    if i in grid:
        return grid[i]
    if i.is_Integer:
        return np.full(extent, int(i))
    raise ShapeError(f"an index must be an index symbol or an integer, not {i}")


def _take(arr, idx, grid, extent):
    """arr[idx] over the index grid (constants broadcast)."""
    parts = [_index_value(i, grid, extent) for i in idx]
    if arr.shape[1] == 1 and len(parts) == 1:
        parts = [parts[0], np.zeros(extent, int)]
    elif arr.shape[0] == 1 and len(parts) == 1:
        parts = [np.zeros(extent, int), parts[0]]
    return arr[tuple(parts)]


def _evaluate_indexed(claim, grid, extent, arrays, values, index_syms, sizes):
    """The claim's value at every point of the index grid."""
    if claim.has(sp.Sum):  # Σ_k W_jk x_k: the bounds are sizes, so the sum is now explicit
        claim = claim.xreplace(sizes).doit()
    subs, args, vals = {}, [], []
    for k, (name, idx, node) in enumerate(_claim_refs(claim, index_syms)):
        s = sp.Dummy(f"e{k}")
        subs[node] = s
        args.append(s)
        vals.append(_take(arrays[name], idx, grid, extent))
    for k, d in enumerate(claim.atoms(sp.KroneckerDelta)):
        s = sp.Dummy(f"d{k}")
        subs[d] = s
        args.append(s)
        a, b = (_index_value(i, grid, extent) for i in d.args)
        vals.append((a == b).astype(float))
    body = claim.xreplace(subs)
    for s in sorted(body.free_symbols - set(args), key=str):
        args.append(s)
        vals.append(grid[s] if s in grid else np.full(extent, values[s]) if s in values
                    else np.full(extent, float(sp.sympify(s).xreplace(sizes))))
    if not args:
        return np.full(tuple(extent), float(body))
    f = reference_function(body, args)  # evaluated point by point over the (small) grid
    vals = [np.broadcast_to(np.asarray(v, float), tuple(extent)) for v in vals]
    out = np.empty(tuple(extent))
    with np.errstate(all="ignore"):
        for point in np.ndindex(*extent):
            out[point] = f(*[float(v[point]) for v in vals])
    return out


def _gather(D, positions, grid, extent):
    """The true ∂Y[of]/∂X[by] over the index grid, from the full array D[i, j, k, l]."""
    axes = [np.zeros(extent, int) for _ in range(4)]
    for s, _, _, axis in positions:
        axes[axis] = grid[s]
    return D[tuple(axes)]


def _suggest(ref, grid, order, arrays):
    """A simple entry that equals the true derivative everywhere (x_ik, δ_ij x_k, 1, 0), or None."""
    extent = ref.shape
    if close(ref, np.zeros(extent)):
        return "0"
    if close(ref, np.ones(extent)):
        return "1"
    deltas = [(None, np.ones(extent))] + [
        ((a, b), (grid[a] == grid[b]).astype(float)) for a, b in itertools.combinations(order, 2)]
    for name, arr in sorted(arrays.items()):
        rows, cols = arr.shape
        k = 1 if 1 in (rows, cols) else 2
        for idx in itertools.permutations(order, k):
            if any(grid[i].max() >= n for i, n in zip(idx, _dims(arr, k))):
                continue
            value = _take(arr, idx, grid, extent)
            for pair, d in deltas:
                if close(d * value, ref):
                    entry = f"{name}_{''.join(map(str, idx))}"
                    return entry if pair is None else f"δ_{pair[0]}{pair[1]} {entry}"
    return None


def _dims(arr, k):
    rows, cols = arr.shape
    if k == 2:
        return (rows, cols)
    return (rows,) if cols == 1 else (cols,)
