"""One way to state assumptions: SymPy's ``Q`` predicates, as a list or through ``sp.assuming``.

``assumptions=[Q.symmetric(A), Q.positive(lam)]`` (or one predicate, or their ``&``) and
``with sp.assuming(Q.symmetric(A)):`` mean the same to every entry point (``diff``, ``gradient``,
``hessian``, ``derive``, ``check``, ``verify``, ``solve_stationary``, ``lambdify``,
``Network.backprop``): both are read by ``facts``. The engine asks SymPy what follows
(``sp.ask(Q.symmetric(A), ...)``: a diagonal or positive definite matrix is symmetric too), and the
numeric checks draw values that satisfy what follows (``Structure``), so that a result simplified
with Aᵀ = A is always checked at a symmetric A: symcalc never calls its own result wrong.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
from dataclasses import dataclass
from typing import Iterable, Iterator, Union

import sympy as sp
from sympy.assumptions.assume import AppliedPredicate, global_assumptions
from sympy.logic.boolalg import Boolean

from . import dag
from .errors import UnsupportedError

#: What ``assumptions=`` takes: a SymPy boolean (``Q.symmetric(A)``, ``Q.a(x) & Q.b(y)``), a list
#: or tuple of them, or None.
Assumptions = Union[Boolean, bool, Iterable[Boolean], None]

#: Predicates the numeric checks draw values for, by the kind of symbol they apply to.
MATRIX_PREDICATES = ("symmetric", "positive_definite", "positive_semidefinite", "diagonal",
                     "lower_triangular", "upper_triangular", "orthogonal")
SCALAR_PREDICATES = ("positive", "negative", "nonnegative", "nonpositive")
#: Predicates every drawn value satisfies already (real random values are finite, nonzero and, for
#: square matrices, invertible with probability one; inverted matrices are drawn well conditioned).
HARMLESS = frozenset({"real", "finite", "extended_real", "complex", "commutative", "nonzero",
                      "real_elements", "complex_elements", "square", "invertible", "fullrank",
                      "hermitian"})


def explicit(assumptions: Assumptions) -> tuple:
    """The conjuncts of ``assumptions`` (a SymPy boolean, a list or tuple of them, or None).

    Anything else (a string, a dict, ``False``) raises UnsupportedError: a misspelt assumption must
    not be silently ignored.
    """
    if assumptions is None or assumptions is True or assumptions is sp.true:
        return ()
    if isinstance(assumptions, (list, tuple, set, frozenset)):
        return tuple(dict.fromkeys(itertools.chain.from_iterable(explicit(a) for a in assumptions)))
    if not isinstance(assumptions, Boolean) or assumptions is sp.false:
        raise UnsupportedError(
            f"assumptions are SymPy Q predicates, e.g. [sp.Q.symmetric(A), sp.Q.positive(lam)] or "
            f"sp.Q.symmetric(A) & sp.Q.positive(lam) (or the same in `with sp.assuming(...)`); got "
            f"{assumptions!r} ({type(assumptions).__name__})")
    return tuple(sp.And.make_args(assumptions))


def facts(assumptions: Assumptions = None) -> tuple:
    """The given ``assumptions`` and those of the enclosing ``sp.assuming`` blocks, in that order."""
    return tuple(dict.fromkeys(explicit(assumptions) + tuple(global_assumptions)))


def as_boolean(assumptions: Assumptions):
    """The given assumptions as one SymPy boolean (``True`` when none), as ``sp.ask`` takes them;
    ``sp.ask`` adds those of ``sp.assuming`` itself."""
    fs = explicit(assumptions)
    return sp.And(*fs) if fs else True


@contextlib.contextmanager
def given(assumptions: Assumptions) -> Iterator[tuple]:
    """Work under the given assumptions as under ``sp.assuming``: every ``sp.ask`` inside sees them
    (a derivation asks at each of its steps). Yields all facts in force."""
    fs = explicit(assumptions)
    if not fs:
        yield facts()
        return
    with sp.assuming(*fs):
        yield facts()


def declared(fs, predicate_name: str) -> set:
    """The arguments of the facts that apply ``predicate_name`` directly (``Q.symmetric(A)`` -> A)."""
    return {f.arguments[0] for f in fs
            if isinstance(f, AppliedPredicate) and f.function.name == predicate_name}


# --------------------------------------------------------------------------- values that satisfy them

@dataclass(frozen=True)
class Structure:
    """What the values of one symbol must satisfy, as far as the assumptions imply it."""

    properties: frozenset = frozenset()

    def __contains__(self, name) -> bool:
        return name in self.properties

    @property
    def symmetric(self) -> bool:
        return bool(self.properties & {"symmetric", "positive_semidefinite", "diagonal"})

    def impose(self, value, rng):
        """``value`` (a float or a square array drawn at random) made to satisfy the structure;
        other draws keep their randomness."""
        import numpy as np  # the numeric side loads on first use (``import symcalc`` stays light)

        p = self.properties
        if not p:
            return value
        if np.ndim(value) == 0:
            if p & {"positive", "nonnegative"} and value <= 0:
                return -value + 0.5 if value < 0 else 0.5
            if p & {"negative", "nonpositive"} and value >= 0:
                return -value - 0.5 if value > 0 else -0.5
            return value
        v = np.array(value, dtype=float)
        r, c = v.shape
        if r != c:
            return v
        if "orthogonal" in p:
            q, t = np.linalg.qr(rng.normal(size=(r, r)))
            return q * np.sign(np.diag(t))
        if p & {"positive_definite", "positive_semidefinite"}:
            B = rng.normal(size=(r, r))
            v = B @ B.T / r + (np.eye(r) if "positive_definite" in p else 0)
            if not self.symmetric:  # Q.positive_definite is xᵀAx > 0, symmetric or not (SymPy)
                K = rng.normal(size=(r, r))
                v = v + (K - K.T) / 2
        if "diagonal" in p:
            d = np.diag(v)
            if p & {"positive_definite", "positive_semidefinite"}:
                d = np.abs(d) + 0.5
            return np.diag(d)
        if "lower_triangular" in p:
            v = np.tril(v)
        elif "upper_triangular" in p:
            v = np.triu(v)
        if "symmetric" in p and "lower_triangular" not in p and "upper_triangular" not in p:
            v = (v + v.T) / 2
        return v


def structure(symbol, fs) -> Structure:
    """The properties ``symbol``'s values need under the facts ``fs`` (what ``sp.ask`` derives:
    ``Q.diagonal(A)`` makes A symmetric as well). Raises UnsupportedError for a predicate applied to
    the symbol that no drawn value can be made to satisfy (``Q.integer(lam)``)."""
    fs = tuple(fs)
    if not fs or not any(symbol in f.free_symbols for f in fs if isinstance(f, Boolean)):
        return Structure()
    return _structure(symbol, fs)


@functools.lru_cache(maxsize=512)
def _structure(symbol, fs) -> Structure:
    matrix = isinstance(symbol, sp.MatrixSymbol)
    names = MATRIX_PREDICATES if matrix else SCALAR_PREDICATES
    unknown = sorted({f.function.name for f in fs if isinstance(f, AppliedPredicate)
                      and f.arguments == (symbol,) and f.function.name not in names
                      and f.function.name not in HARMLESS})
    if unknown:
        raise UnsupportedError(
            f"the numeric checks cannot draw values of {symbol} that satisfy "
            + ", ".join(f"Q.{u}({symbol})" for u in unknown)
            + f"; the predicates they honour for {'a matrix' if matrix else 'a scalar'} are "
            + ", ".join(f"Q.{n}" for n in names)
            + (" (positive_semidefinite: sc.positive_semidefinite)" if matrix else ""))
    if matrix and symbol.rows != symbol.cols:
        return Structure()
    assumed = sp.And(*fs)
    found = set()
    for name in names:
        if name == "positive_semidefinite":
            if symbol in declared(fs, name):
                found.add(name)
            continue
        with contextlib.suppress(Exception):  # SymPy's ask raises on a few combinations
            if sp.ask(getattr(sp.Q, name)(symbol), assumed) is True:
                found.add(name)
    if symbol in declared(fs, "hermitian") or matrix and symbol.T == symbol:
        found.add("symmetric")  # real values; a SymmetricMatrix is its own transpose
    if "orthogonal" in found and symbol not in declared(fs, "positive_definite"):
        found.discard("positive_definite")  # SymPy's ask derives it from orthogonality; it is not so
    return Structure(frozenset(found))


def draw(symbols, values: dict, rng, fs) -> dict:
    """``values`` with each symbol's value made to satisfy ``structure(symbol, fs)``."""
    if not fs:
        return values
    out = dict(values)
    for s in symbols:
        if s in out:
            out[s] = structure(s, fs).impose(out[s], rng)
    return out


def declared_symmetric(m, given):
    """Whether the assumptions make the square matrix symbol ``m`` symmetric.

    Without any assumptions only a 1 x 1 matrix is: SymPy's ``ask`` would say so too, after
    loading its SAT solver, once per symbol (a second per 64 weight matrices).
    """
    if m.rows != m.cols:
        return False
    if given is True and not sp.assumptions.global_assumptions and m.rows != 1:
        return False
    return bool(sp.ask(sp.Q.symmetric(m), given))


def symmetric_transposes(result, expr, assumptions: Assumptions = None):
    """``result`` with Aᵀ written A for every square matrix of ``expr`` the assumptions make
    symmetric: 2xᵀA, not 2xᵀAᵀ, in numerator layout."""
    if not isinstance(result, sp.Basic):
        return result
    transposed = dag.atoms(result, sp.Transpose)
    if not transposed:
        return result
    given_ = as_boolean(assumptions)
    symmetric = {m.T: m for m in dag.atoms(sp.sympify(expr), sp.MatrixSymbol)
                 if m.T in transposed and declared_symmetric(m, given_)}
    return dag.xreplace(result, symmetric) if symmetric else result


__all__ = ["Assumptions", "Structure", "as_boolean", "declared", "draw", "explicit", "facts",
           "declared_symmetric", "given", "structure", "symmetric_transposes"]
