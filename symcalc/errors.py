"""Typed errors: every failure names the sub-expression, its shape and what would work."""
from sympy.matrices.exceptions import ShapeError as _SympyShapeError


class SymcalcError(Exception):
    """Base class of every error symcalc raises on purpose."""


class ShapeError(SymcalcError, _SympyShapeError):
    """Shapes that do not fit; the message names both shapes and the sub-expression."""


class UnsupportedError(SymcalcError, NotImplementedError):
    """An operation symcalc has no rule for; the message names it and lists what is supported."""


class LayoutError(SymcalcError, ValueError):
    """An unknown layout, or a layout option that does not apply."""


class ParseError(SymcalcError, ValueError):
    """Text that is not in the expression grammar; the message names the position."""
