r"""Long formulas broken across lines, so that nothing in a derivation runs off the page.

A formula breaks where a lecturer breaks it: between the terms of a top-level sum (``a``,
``+ b``, ``- c``), else between the factors of a top-level entrywise product (``a``,
``\odot b``); a product, a transpose or a sum over indices with one long parenthesized factor
breaks inside that factor, and a derivative of a long expression is written as an operator,
∂/∂x (…), so that it can break inside. A piece still too wide is broken again, the same way.

``width(tex)`` estimates the width of LaTeX math in points (11 pt Computer Modern, display
style, as ``align*`` sets it) from the fonts' widths; the tests compare it with TeX's boxes.
``lines(expr, budget)`` packs the pieces into lines of at most ``budget`` points.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul

from .common import HADAMARD, MUL, entry_of_11, hadamard_order, is_11, is_negative, negated, positive_first
from .latex import SymcalcLatexPrinter


@dataclass
class Piece:
    """prefix + the printed expression + suffix; ``expr`` None for fixed text. ``style`` says how
    the expression is printed: "plain", "negative" (a subtracted term: parenthesized when it binds
    less tightly than ⊙) or "factor" (a factor of ⊙: a sum or product parenthesized)."""

    prefix: str
    expr: object
    suffix: str = ""
    style: str = "plain"

    def body(self, printer):
        if self.style == "negative":
            return printer._wrap(self.expr, HADAMARD)
        if self.style == "factor":
            return printer._hadamard_factor(self.expr)
        if self.style == "product":
            return printer._wrap(self.expr, MUL)
        return printer._print(self.expr)

    def tex(self, printer):
        if self.expr is None:
            return self.prefix + self.suffix
        return self.prefix + self.body(printer) + self.suffix


# ---------------------------------------------------------------------- pieces

def _terms(printer, terms):
    out = []
    for k, term in enumerate(positive_first(terms)):
        negative = is_negative(term)
        if negative:
            term = negated(term)
        sign = ("-" if negative else "") if k == 0 else ("- " if negative else "+ ")
        out.append(Piece(sign, term, style="negative" if negative else "plain"))
    return out


def split(printer, piece):
    """The pieces a piece breaks into (itself alone when it does not break)."""
    e = piece.expr
    if e is None:
        return [piece]
    inner = _split(printer, e)
    if not inner or len(inner) < 2:
        return [piece]
    if piece.body(printer) != printer._print(e):  # −(a + b), (a + b) ⊙ c: the parentheses stay
        inner = _around("(", inner, ")")
    return _around(piece.prefix, inner, piece.suffix)


def _split(printer, e):
    e = entry_of_11(e)
    if isinstance(e, (MatAdd, sp.Add)) and not is_11(e) and not printer._bound:
        terms = list(e.args) if isinstance(e, MatAdd) else printer._as_ordered_terms(e)
        if isinstance(e, sp.Add) and any(printer._depends(t) for t in terms):
            return None
        return _terms(printer, terms)
    if isinstance(e, HadamardProduct) and not is_11(e):
        if printer._hadamard_quotient(e.args, "", "") is not None:
            return None
        had = r"%s " % printer.notation.hadamard
        factors = hadamard_order(e.args)
        return [Piece("" if k == 0 else had, f, style="factor") for k, f in enumerate(factors)]
    if isinstance(e, MatMul):
        return _product(printer, e) or _factors(printer, e)
    if isinstance(e, sp.Trace) and not is_11(e.arg):
        inner = _split(printer, e.arg)
        return _around(r"\operatorname{tr}(", inner, ")") if inner else None
    if isinstance(e, sp.Transpose) and isinstance(e.arg, (MatAdd, HadamardProduct)):
        inner = _split(printer, e.arg)
        return _around("(", inner, ")^{%s}" % printer.notation.transpose) if inner else None
    if isinstance(e, sp.Sum) and isinstance(e.function, sp.Add) and \
            all(low == 0 and high.free_symbols for _, low, high in e.limits):
        head = r"\sum_{%s} (" % ", ".join(printer._print(i) for i, _, _ in e.limits)
        return _around(head, _terms(printer, printer._as_ordered_terms(e.function)), ")")
    num, den = getattr(e, "num", None), getattr(e, "den", None)
    if num is not None and den is not None and isinstance(getattr(e, "print_level", None), int):
        inner = _split(printer, num)  # ∂(a + b)/∂x as the operator ∂/∂x (a + b)
        if inner:
            head = r"\frac{\partial}{\partial %s} (" % printer._wrap(den, 40)
            return _around(head, inner, ")")
    return None


def _product(printer, e):
    """A product with a long parenthesized factor (a sum, an entrywise product, or the
    transpose of one): break inside the widest such factor."""
    coeff, matrices = e.as_coeff_matrices()
    inner = {}
    for m in matrices:
        core = m.arg if isinstance(m, sp.Transpose) else m
        if isinstance(core, (MatAdd, HadamardProduct)) and not is_11(core):
            parts = _split(printer, core)
            if parts and len(parts) > 1:
                inner[m] = parts
    if not inner:
        return None
    target = max(inner, key=lambda m: width(printer._print(m)))
    sign = ""
    if coeff.could_extract_minus_sign():
        sign, coeff = "-", -coeff
    before, after = [] if coeff == 1 else [printer._wrap(coeff, MUL)], []
    seen = False
    for m in matrices:
        if m is target and not seen:
            seen = True
            continue
        (after if seen else before).append(printer._wrap(m, MUL))
    head = sign + " ".join(before) + (" " if before else "")
    close = "^{%s}" % printer.notation.transpose if isinstance(target, sp.Transpose) else ""
    tail = close + ((" " + " ".join(after)) if after else "")
    return _around(head + "(", inner[target], ")" + tail)


def _factors(printer, e):
    """A long product of matrices, broken between its factors (a last resort)."""
    coeff, matrices = e.as_coeff_matrices()
    if len(matrices) < 2:
        return None
    sign = ""
    if coeff.could_extract_minus_sign():
        sign, coeff = "-", -coeff
    head = sign + ("" if coeff == 1 else printer._wrap(coeff, MUL) + " ")
    out = [Piece(head if k == 0 else "", m, style="product") for k, m in enumerate(matrices)]
    return out


def _around(head, inner, tail):
    """head inner₀ … innerₙ tail: the parentheses plain, so that a line may break inside."""
    inner = list(inner)
    first, last = inner[0], inner[-1]
    inner[0] = Piece(head + first.prefix, first.expr, first.suffix, first.style)
    last = inner[-1]
    inner[-1] = Piece(last.prefix, last.expr, last.suffix + tail, last.style)
    return inner


def pieces(expr, notation=None) -> list[str]:
    """The chunks of ``latex(expr)`` between which a line may break (one chunk when none)."""
    printer = SymcalcLatexPrinter({"notation": notation})
    return [p.tex(printer) for p in split(printer, Piece("", expr))]


# ---------------------------------------------------------------------- packing

def lines(expr, budget, notation=None, indent=11.0) -> list[str]:
    """``expr`` printed as lines of at most ``budget`` points where it can break; continuation
    lines start with \\quad (``indent`` points). A piece wider than a line is broken again where
    it can be; what cannot break stays whole."""
    printer = SymcalcLatexPrinter({"notation": notation})
    whole = Piece("", expr)
    if width(whole.tex(printer)) <= budget:
        return [whole.tex(printer)]
    return _pack(printer, split(printer, whole), budget, indent)


def _pack(printer, parts, budget, indent):
    out, current = [], ""
    queue = list(parts)
    while queue:
        p = queue.pop(0)
        tex = p.tex(printer)
        room = budget - (indent if out or current else 0.0)
        if width(tex) > room:
            finer = split(printer, p)
            if len(finer) > 1:
                queue = finer + queue
                continue
        trial = (current + " " + tex) if current else tex
        if current and width(trial) > budget - (indent if out else 0.0):
            out.append(current)
            current = tex
        else:
            current = trial
    if current:
        out.append(current)
    return out


# ---------------------------------------------------------------------- width

#: widths in points of what Computer Modern sets at 11 pt (a binary operator with its spaces)
_COMMANDS = {
    r"\partial": 6.3, r"\odot": 12.6, r"\oslash": 12.6, r"\otimes": 12.6, r"\cdot": 7.6, r"\top": 8.6,
    r"\sigma": 6.6, r"\theta": 5.6, r"\beta": 6.8, r"\mu": 6.6, r"\lambda": 6.4, r"\alpha": 7.0,
    r"\delta": 5.0, r"\Delta": 9.2, r"\Sigma": 7.9, r"\epsilon": 4.9, r"\varepsilon": 5.0,
    r"\eta": 5.8, r"\gamma": 5.6, r"\phi": 6.5, r"\psi": 7.4, r"\omega": 6.9, r"\pi": 6.3,
    r"\tau": 4.8, r"\nu": 5.6, r"\rho": 5.6, r"\xi": 5.4, r"\kappa": 6.4, r"\lVert": 5.0,
    r"\rVert": 5.0, r"\log": 14.2, r"\exp": 17.2, r"\det": 14.6, r"\tanh": 22.5, r"\sin": 14.0,
    r"\cos": 16.0, r"\max": 20.0, r"\min": 18.0, r"\in": 7.9, r"\times": 12.6, r"\Rightarrow": 11.0,
    r"\circ": 5.5, r"\quad": 11.0, r"\qquad": 22.0, r"\,": 1.9, r"\;": 3.2, r"\!": -1.9,
    r"\triangleq": 8.6, r"\ldots": 13.0, r"\dots": 13.0, r"\infty": 11.0, r"\nabla": 9.2,
}
_LETTER, _DIGIT, _OP = 6.0, 5.5, 12.5

# Computer Modern at 10 pt (math italic, bold); scaled to 10.95 pt below
_ITALIC10 = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [
    7.5, 7.6, 7.2, 8.3, 7.4, 6.4, 7.9, 8.3, 4.4, 5.5, 8.5, 6.8, 9.7, 8.0, 7.6, 6.4, 7.9, 7.6, 6.1, 5.8,
    6.8, 5.8, 9.4, 8.3, 5.8, 6.8, 5.3, 4.3, 4.3, 5.2, 4.7, 4.9, 4.8, 5.8, 3.4, 4.1, 5.2, 3.0, 8.8, 6.0,
    4.8, 5.0, 4.5, 4.5, 4.7, 3.6, 5.7, 4.9, 7.2, 5.7, 4.9, 4.7]))
_BOLD10 = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [
    8.7, 8.2, 8.3, 8.8, 7.5, 7.2, 9.0, 9.0, 4.4, 5.9, 9.0, 6.9, 10.9, 9.0, 8.6, 7.9, 8.6, 8.6, 6.4, 8.0,
    8.8, 8.7, 11.9, 8.7, 8.7, 7.0, 5.6, 6.4, 5.1, 6.4, 5.3, 3.5, 5.8, 6.4, 3.2, 3.5, 6.1, 3.2, 9.6, 6.4,
    5.8, 6.4, 6.1, 4.7, 4.5, 4.5, 6.4, 6.1, 8.3, 6.1, 6.1, 5.1]))
_SCALE = 1.095


def width(tex: str) -> float:
    """Estimated width in points of LaTeX math ``tex`` (11 pt, display style)."""
    return _Width(tex).run()


class _Width:
    def __init__(self, tex):
        self.s, self.k = tex, 0

    def run(self, scale=1.0, bold=False):
        total = 0.0
        while self.k < len(self.s):
            if self.s[self.k] == "}":
                self.k += 1
                return total
            total += self.atom(scale, bold)
        return total

    def group(self, scale, bold=False):
        """The width of the next {...} group (or the next single atom)."""
        while self.k < len(self.s) and self.s[self.k] == " ":
            self.k += 1
        if self.k < len(self.s) and self.s[self.k] == "{":
            self.k += 1
            return self.run(scale, bold)
        return self.atom(scale, bold) if self.k < len(self.s) else 0.0

    def atom(self, scale, bold):
        s, k = self.s, self.k
        c = s[k]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", s[k:])
            name = "\\" + m.group(1)
            self.k += len(m.group(0))
            return self.command(name, scale, bold)
        self.k += 1
        if c in "^_":
            return self.group(scale * 0.72, bold) + 0.6 * scale
        if c == "{":
            return self.run(scale, bold)
        if c in " &":
            return 0.0
        if c in "+-=<>":
            return (_OP if scale >= 0.99 else 9.0) * scale
        if c in "()[]|":
            return 4.3 * scale
        if c in ",;":
            return 4.7 * scale
        if c.isdigit():
            return _DIGIT * scale
        if c.isalpha():
            return (_BOLD10 if bold else _ITALIC10).get(c, 7.0) * _SCALE * scale
        return _LETTER * scale

    def command(self, name, scale, bold):
        if name in (r"\frac", r"\dfrac", r"\tfrac"):
            small = scale * (0.7 if name == r"\tfrac" else 1.0)
            top, bottom = self.group(small, bold), self.group(small, bold)
            return max(top, bottom) + 2.4 * scale
        if name in (r"\mathbf", r"\boldsymbol", r"\bm"):
            return self.group(scale, True)
        if name in (r"\operatorname", r"\mathrm", r"\text", r"\textbf", r"\mathit"):
            return self.group(scale, False) * 0.93 + 1.7 * scale
        if name == r"\mathbb":
            self.group(scale)
            return 7.3 * scale
        if name in (r"\hat", r"\tilde", r"\bar", r"\overline", r"\widehat", r"\hphantom", r"\phantom"):
            return self.group(scale, bold)
        if name == r"\sqrt":
            return self.group(scale, bold) + 9.0 * scale
        if name == r"\sum":
            return 16.0 * scale
        if name in (r"\left", r"\right"):  # the printer grows a delimiter around tall content only
            return 3.5 * scale
        if name in (r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", "\\\\", r"\begin", r"\end"):
            if name in (r"\begin", r"\end"):
                self.group(scale)
            return 1.5 * scale if name.startswith(r"\b") and name not in (r"\begin",) else 0.0
        return _COMMANDS.get(name, _LETTER) * scale * (1.1 if bold else 1.0)


__all__ = ["Piece", "lines", "pieces", "split", "width"]
