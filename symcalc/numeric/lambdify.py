"""``lambdify``: a NumPy function for any symcalc result, built on the generated source."""
from __future__ import annotations

import itertools
import linecache

import numpy
import sympy as sp

from typing import Callable, Sequence

from ..assumptions import Assumptions, as_boolean, facts
from ..hints import Arguments, Expr, Variable
from ..errors import ShapeError
from ..functions import OneHot, SymmetricMatrix
from .codegen import HELPERS, function_source

__all__ = ["lambdify"]

_counter = itertools.count(1)


def lambdify(args: Arguments | Variable, expr: Expr | Sequence[Expr], name: str = "f",
             structure: bool = True, assumptions: Assumptions = None, doc: bool = True) -> Callable[..., object]:
    """A NumPy function of ``args`` (MatrixSymbols and Symbols, in order) returning ``expr``.

    ``expr`` is one expression or a list of them (the function then returns a tuple). Matrix
    results are 2-D arrays (a 1 x 1 result is a (1, 1) array), scalar results are floats. Array
    arguments are checked against their declared shapes and a mismatch raises
    ``symcalc.errors.ShapeError``; an argument declared ``SymmetricMatrix`` or ``OneHot`` that is
    not symmetric or one-hot raises ValueError (``structure=False`` skips that check), and so does
    one that ``assumptions`` (SymPy ``Q`` predicates, or ``sp.assuming``) make symmetric: results
    simplified with Aᵀ = A are wrong for any other A. The generated source is ``f.source`` (with a
    docstring describing the outputs unless ``doc=False``).

    The source is produced by ``codegen`` from SymPy objects, never from user text, and every
    name in it is checked to be a plain identifier before it is compiled.
    """
    if isinstance(args, sp.Basic):
        args = [args]
    args = list(args)
    if structure and facts(assumptions):
        given = as_boolean(assumptions)
        declared = {a: SymmetricMatrix(a.name, a.rows) for a in args
                    if isinstance(a, sp.MatrixSymbol) and not isinstance(a, (SymmetricMatrix, OneHot))
                    and a.rows == a.cols and sp.ask(sp.Q.symmetric(a), given)}
        if declared:
            args = [declared.get(a, a) for a in args]
            if isinstance(expr, sp.Basic):
                expr = expr.xreplace(declared)
            else:
                expr = [e.xreplace(declared) for e in expr]
    source = function_source(expr, args, name, structure, doc)
    filename = f"<symcalc-lambdify-{next(_counter)}>"
    text = HELPERS + "\n\n" + source
    namespace = {"numpy": numpy, "ShapeError": ShapeError, "__name__": "symcalc_generated"}
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    fn = namespace[name]
    setattr(fn, "source", source)
    return fn  # type: ignore[return-value]  # the function the generated source defines
