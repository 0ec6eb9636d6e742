"""LaTeX notation settings: symbol names, bold or plain, the transpose and Hadamard marks.

One ``Notation`` travels with every printing call, so that a derivation, its Markdown and its
standalone document all read the same. It is plain data; ``validate`` catches a misspelt name
before it silently does nothing.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Mapping

import sympy as sp

from ..errors import SymcalcError
from .document import check_tex


class NotationError(SymcalcError, ValueError):
    """A Notation that does not fit the expression it is applied to (e.g. an unknown symbol)."""


DEFAULT_INDICATOR = r"\mathbb{1}"
MARKDOWN_INDICATOR = r"\mathbb{I}"


@dataclass
class Notation:
    """How symbols and operators are written in LaTeX.

    names      symbol name -> LaTeX, used verbatim (``{"theta": r"\\boldsymbol{\\theta}"}``)
    bold       vectors and matrices in bold (``\\mathbf{x}``, ``\\boldsymbol{\\theta}``); scalars stay italic
    transpose  the transpose mark, ``^{\\top}`` by default (``"T"`` or ``"\\mathsf{T}"`` also common)
    hadamard   the elementwise product, ``\\odot`` by default (``\\circ`` is SymPy's)
    division   the elementwise quotient, ``\\oslash``: y ⊙ a^{∘−1} is written y ⊘ a
    indicator  the indicator of ReLU', ``\\mathbb{1}[z > 0]``; the standalone preamble makes
               ``\\mathbb{1}`` print as a double-struck one without extra font packages
    """

    names: Mapping[str, str] = field(default_factory=dict)
    bold: bool = True
    transpose: str = r"\top"
    hadamard: str = r"\odot"
    division: str = r"\oslash"
    indicator: str = DEFAULT_INDICATOR

    def __post_init__(self):
        names = {}
        for key, value in dict(self.names).items():
            if isinstance(key, sp.MatrixSlice):  # a slice is named by its text: "W1[:, 1:]"
                key = str(key)
            key = getattr(key, "name", key)  # accept Symbol / MatrixSymbol keys
            if not isinstance(key, str) or not isinstance(value, str):
                raise NotationError(
                    f"Notation.names maps symbol names to LaTeX strings; got {key!r}: {value!r}")
            names[key] = check_tex(value, f"Notation.names[{key!r}]", NotationError)
        self.names = names
        for mark in ("transpose", "hadamard", "division", "indicator"):
            check_tex(getattr(self, mark), f"Notation.{mark}", NotationError)

    def for_markdown(self) -> "Notation":
        """This notation for KaTeX/MathJax, whose fonts have no blackboard one (KaTeX issue
        3320, MathJax-src issue 289): the indicator \\mathbb{1} becomes \\mathbb{I}."""
        if self.indicator != DEFAULT_INDICATOR:
            return self
        return replace(self, indicator=MARKDOWN_INDICATOR)

    def validate(self, *exprs) -> "Notation":
        """Raise NotationError if ``names`` mentions a symbol that none of ``exprs`` contains.

        Call it once with every expression a document prints (a derivation's input and result),
        not per sub-expression. Returns self, so ``latex(e, notation.validate(e))`` reads well.
        """
        known = set().union(*(symbol_names(e) for e in exprs)) if exprs else set()
        unknown = sorted(set(self.names) - known)
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                if close:
                    hints.append(f"{name!r} (did you mean {close[0]!r}?)")
                else:
                    hints.append(repr(name))
            raise NotationError(
                "Notation names symbols that do not appear in the expression: "
                + ", ".join(hints)
                + ". Symbols it can name: "
                + (", ".join(sorted(known)) or "none")
                + "."
            )
        return self


def symbol_names(expr) -> set[str]:
    """Names of the symbols and matrix symbols in ``expr``, including symbolic sizes."""
    if not isinstance(expr, sp.Basic):
        expr = sp.sympify(expr, strict=True)
    names = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Dummy):
            continue
        if isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
            names.add(node.name)
        elif isinstance(node, sp.MatrixSlice):
            names.add(str(node))
    return names


DEFAULT = Notation()
