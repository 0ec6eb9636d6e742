r"""SymPy's own printers know symcalc's classes: ``sp.latex``, ``str``, ``sp.pprint`` and Jupyter.

SymPy asks an object for ``_latex``, ``_sympystr`` or ``_pretty`` before it looks for a method of
its own (the printing protocol of ``sympy.printing.printer``). symcalc's math defines its classes
with data only (``latex_name``, ``display_name``) and no printing code; this module attaches the
three methods to them when symcalc is imported (``install``), so the dependency runs one way,
printing → math, and every SymPy printer prints σ(x), ‖x‖₂², sum(Z) instead of Sigmoid(x) or
‖Squared‖(x).

A symcalc printer (``sc.latex``, ``sc.text``) is handed back to its own ``_print_<Class>``
methods. Any other printer gets the notation below with the sub-expressions printed by that
printer, so its settings (``mat_symbol_style="bold"``) reach inside. SymPy's own nodes (a
``MatMul``, an elementwise ``(z ↦ σ(z))∘(Xθ)``) keep SymPy's notation there;
``symcalc.init_printing()`` gives whole expressions symcalc's notation in Jupyter and IPython.
"""
from __future__ import annotations

from sympy.printing.pretty.stringpict import prettyForm

from .. import functions as F
from ..convolution import Shift
from .common import KEYWORDED, MatrixPrinting, keyworded_latex, node_keywords
from .notation import MARKDOWN_INDICATOR, Notation

#: LaTeX of the matrix nodes for other printers; ``%s`` is the argument
_NODE_LATEX: dict[type, str | None] = {
    F.EntrySum: r"\operatorname{sum}{\left(%s \right)}",
    F.EntryMean: r"\operatorname{mean}{\left(%s \right)}",
    F.LogSumExp: r"\operatorname{logsumexp}{\left(%s \right)}",
    F.Softmax: r"\operatorname{softmax}{\left(%s \right)}",
    F.SquaredNorm: r"\left\lVert %s \right\rVert_{2}^{2}",
    F.FrobeniusSquared: r"\left\lVert %s \right\rVert_{F}^{2}",
}
_NODE_LATEX.update(dict.fromkeys(KEYWORDED))  # printed by keyworded_latex
_NORM_SUBSCRIPT = {F.SquaredNorm: "₂", F.FrobeniusSquared: "_F"}
_PRETTY_NAME = {F.Sigmoid: "σ", F.ReLU: "ReLU", F.Softplus: "softplus", F.LeakyReLU: "LeakyReLU"}


def _own(printer) -> bool:
    return isinstance(printer, MatrixPrinting)


# ---------------------------------------------------------------------- LaTeX

def _latex(self, printer, exp=None, **kwargs):
    if _own(printer):
        return printer._print_by_class(self, **({} if exp is None else {"exp": exp}), **kwargs)
    power = "" if exp is None else "^{%s}" % exp
    if isinstance(self, F.Step):
        return r"%s\left[%s > 0\right]%s" % (MARKDOWN_INDICATOR, printer._print(self.args[0]), power)
    if isinstance(self, F._ScalarFunction):
        name = self.latex_name
        for k, a in enumerate(self.args[1:], start=1):
            name = name.replace("{%d}" % k, printer._print(a))
        return r"%s%s{\left(%s \right)}" % (name, power, printer._print(self.args[0]))
    if isinstance(self, KEYWORDED):
        eps = printer._print(self.eps) if isinstance(self, F._Normalising) else ""
        return keyworded_latex(self, printer._print(self.arg), eps, lambda s: r"{\left(%s \right)}" % s)
    tex = _NODE_LATEX[type(self)] % printer._print(self.arg)
    if getattr(self, "axis", 0) == 1:  # along the rows, as symcalc's own printer writes it
        tex = tex.replace(r"{\left(", r"_{\text{row}}{\left(", 1)
    return tex


# ---------------------------------------------------------------------- plain text

def _sympystr(self, printer, **kwargs):
    """The command line's words: sigmoid(x), leaky_relu(x, 1/100), norm2(x), sum(Z)."""
    if _own(printer):
        return printer._print_by_class(self, **kwargs)
    if isinstance(self, KEYWORDED):
        return "%s(%s)" % (self.display_name, ", ".join([printer._print(self.arg)] + [
            "%s=%s" % (k, printer._print(v) if k == "eps" else v) for k, v in node_keywords(self)]))
    if isinstance(self, F._MatrixNode):
        axis = ", axis=1" if getattr(self, "axis", 0) == 1 else ""
        return "%s(%s%s)" % (self.display_name, printer._print(self.arg), axis)
    return "%s(%s)" % (self.display_name, ", ".join(printer._print(a) for a in self.args))


# ---------------------------------------------------------------------- pretty (terminals)

def _pretty(self, printer, **kwargs):
    if isinstance(self, KEYWORDED):  # one line, as the command line reads it: layer_norm(X, axis=1)
        from .text import text
        return prettyForm(text(self, ascii=not printer._use_unicode))
    if isinstance(self, F.Step):
        inside = prettyForm(*printer._print(self.args[0]).right(" > 0"))
        one = "𝟙" if printer._use_unicode else "1"
        return prettyForm(*prettyForm(*inside.parens("[", "]")).left(one))
    if isinstance(self, (F.SquaredNorm, F.FrobeniusSquared)):
        inner = printer._print(self.arg)
        if inner.height() == 1 and printer._use_unicode:
            norm = prettyForm("‖%s‖" % inner.s)
        else:
            norm = prettyForm(*prettyForm(*inner.parens("|", "|")).parens("|", "|"))
        sub = _NORM_SUBSCRIPT[type(self)] if printer._use_unicode else "_" + _NORM_SUBSCRIPT[type(self)][-1]
        return prettyForm(*norm.right(sub)) ** prettyForm("2")
    if isinstance(self, F._ScalarFunction):
        name = _PRETTY_NAME.get(type(self), self.display_name)
        if not printer._use_unicode and name == "σ":
            name = "sigmoid"
        return printer._helper_print_function(self.func, self.args, func_name=name)
    return printer._helper_print_function(self.func, self.args, func_name=self.display_name)


#: symcalc's SymPy classes that get the protocol here (derivation nodes carry their own)
CLASSES = (*F.SCALAR_FUNCTIONS, *_NODE_LATEX)


def install():
    """Attach ``_latex``, ``_sympystr`` and ``_pretty`` to symcalc's classes (idempotent)."""
    for cls in CLASSES:
        cls._latex = _latex
        cls._sympystr = _sympystr
        cls._pretty = _pretty


install()


def _shift_latex(self, printer, exp=None, **kwargs):
    """S_{j}, a convolution's shift matrix; ``str`` keeps SymPy's Shift(T, k, j, s, p), which says it all."""
    if _own(printer):
        return printer._print_by_class(self, **({} if exp is None else {"exp": exp}), **kwargs)
    tex = "S_{%d}" % self.tap + ("^{(%s)}" % self.name if self.name else "")
    return tex if exp is None else "{%s}^{%s}" % (tex, exp)


Shift._latex = _shift_latex


def init_printing(notation: Notation | None = None, **settings: object) -> None:
    """Display every SymPy expression in symcalc's notation in Jupyter and IPython: bold vectors,
    σ(Xθ) for an elementwise sigmoid, ``^{\\top}``, no ``tr`` around a 1 x 1 matrix used as a
    number. A thin layer over ``sympy.init_printing`` (``settings`` are passed on to it); the math
    uses KaTeX- and MathJax-safe macros (``notation.for_markdown()``).
    """
    import sympy as sp

    from .latex import latex
    from .notation import DEFAULT
    from .text import text
    tex_notation = (notation or DEFAULT).for_markdown()

    def latex_printer(expr, mode="plain", **_):
        s = latex(expr, tex_notation)
        return s if mode == "plain" else "$%s$" % s

    def text_printer(expr, **_):
        return text(expr)

    settings.setdefault("use_latex", "mathjax")
    sp.init_printing(latex_printer=latex_printer, str_printer=text_printer,
                     pretty_printer=text_printer, **settings)
