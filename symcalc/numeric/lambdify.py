"""``lambdify``: a NumPy function for any symcalc result, built on the generated source."""
from __future__ import annotations

import itertools
import linecache

import numpy
import sympy as sp

from ..errors import ShapeError
from .codegen import HELPERS, function_source

__all__ = ["lambdify"]

_counter = itertools.count(1)


def lambdify(args, expr, name: str = "f", structure: bool = True, doc: bool = True):
    """A NumPy function of ``args`` (MatrixSymbols and Symbols, in order) returning ``expr``.

    ``expr`` is one expression or a list of them (the function then returns a tuple). Matrix
    results are 2-D arrays (a 1 x 1 result is a (1, 1) array), scalar results are floats. Array
    arguments are checked against their declared shapes and a mismatch raises
    ``symcalc.errors.ShapeError``; an argument declared ``SymmetricMatrix`` or ``OneHot`` that is
    not symmetric or one-hot raises ValueError (``structure=False`` skips that check). The
    generated source is ``f.source`` (with a docstring describing the outputs unless ``doc=False``).

    The source is produced by ``codegen`` from SymPy objects, never from user text, and every
    name in it is checked to be a plain identifier before it is compiled.
    """
    if isinstance(args, sp.Basic):
        args = [args]
    source = function_source(expr, list(args), name, structure, doc)
    filename = f"<symcalc-lambdify-{next(_counter)}>"
    text = HELPERS + "\n\n" + source
    namespace = {"numpy": numpy, "ShapeError": ShapeError, "__name__": "symcalc_generated"}
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    fn = namespace[name]
    fn.source = source
    return fn
