"""Printing: LaTeX in lecture-notes notation, plain text, standalone documents, computation graphs.

Printing reads the math's objects; nothing in the math imports printing.
"""
from .latex import SymcalcLatexPrinter, latex, partial, shape_latex
from .notation import Notation, NotationError
from .text import SymcalcStrPrinter, text

__all__ = [
    "Notation", "NotationError", "SymcalcLatexPrinter", "SymcalcStrPrinter", "latex", "partial",
    "shape_latex", "text",
]
