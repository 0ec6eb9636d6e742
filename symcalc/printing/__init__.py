"""Printing: LaTeX in lecture-notes notation, plain text, standalone documents, computation graphs.

Printing reads the math's objects; nothing in the math imports printing.
"""
from .latex import SymcalcLatexPrinter, latex, partial, shape_latex
from .notation import Notation, NotationError

__all__ = [
    "Notation", "NotationError", "SymcalcLatexPrinter", "latex", "partial", "shape_latex",
]
