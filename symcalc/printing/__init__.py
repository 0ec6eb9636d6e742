"""Printing: LaTeX in lecture-notes notation, plain text, standalone documents, computation graphs.

Printing reads the math's objects; nothing in the math imports printing.
"""
from .document import (
    PREAMBLE_MACROS, LatexError, align, compile_pdf, have_latex, markdown_math, standalone,
)
from .graph import ComputationGraph, computation_graph, picture_graph, tikz_graph
from .latex import SymcalcLatexPrinter, latex, partial, shape_latex
from .notation import Notation, NotationError
from .protocol import init_printing
from .text import SymcalcStrPrinter, text

__all__ = [
    "ComputationGraph", "LatexError", "Notation", "NotationError", "PREAMBLE_MACROS",
    "SymcalcLatexPrinter", "SymcalcStrPrinter", "align", "compile_pdf", "computation_graph",
    "have_latex", "init_printing", "latex", "markdown_math", "partial", "picture_graph", "shape_latex",
    "standalone", "text", "tikz_graph",
]
