"""Type aliases of the public API, for type checkers and the documentation (no runtime cost).

Every public function of symcalc is annotated with these, and none with ``Any`` (a test checks).
"""
from __future__ import annotations

from typing import Literal, Mapping, Sequence, Union

import sympy as sp

#: a SymPy expression: a scalar, a matrix expression, an explicit matrix or an N-D array
Expr = sp.Basic
#: what a derivative is taken with respect to
Variable = Union[sp.Symbol, sp.MatrixSymbol]
Layout = Literal["numerator", "denominator"]
#: a number or an expression a SymPy constructor accepts (``2``, ``0.5``, ``lam``)
Scalar = Union[int, float, sp.Expr]
#: concrete sizes for symbolic ones: ``{"n": 5}`` or ``{n: 5}``
Sizes = Mapping[Union[str, sp.Symbol], int]
#: the arguments of a generated function, in order
Arguments = Sequence[Variable]
Reduction = Literal["sum", "mean"]

__all__ = ["Arguments", "Expr", "Layout", "Reduction", "Scalar", "Sizes", "Variable"]
