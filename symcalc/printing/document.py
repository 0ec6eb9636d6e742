r"""Complete LaTeX documents, ``align*`` blocks, Markdown math, and compiling to PDF.

The preamble needs only Debian's texlive-latex-base and texlive-latex-recommended: amsmath,
amssymb, bm, geometry, graphicx and xcolor, with the default Computer Modern fonts (no lmodern, and no T1
font encoding, which without cm-super falls back to bitmap fonts). amssymb has no blackboard one,
so ``\mathbb{1}`` (the indicator in ``\mathbb{1}[z > 0]``) is redefined to draw one from two
overlapping ones; every other ``\mathbb`` letter is untouched. ``PREAMBLE_MACROS`` holds that
definition for people who ``\input`` a fragment into their own document.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import SymcalcError


class LatexError(SymcalcError, RuntimeError):
    """LaTeX is missing, or a document did not compile; the message quotes the log's error."""


# ---------------------------------------------------------------------- user text in TeX

#: The control words user LaTeX (a symbol's name, ``--tex``, a notation's marks, math in prose)
#: may use: letters, accents, fonts, operators, relations, delimiters, spacing. Nothing that reads
#: or writes files (\input, \openout, \write18, \read, \pdffiledump), defines macros (\def),
#: changes category codes (\catcode) or builds control sequences (\csname).
SAFE_MACROS = frozenset("""
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa varkappa lambda mu nu
xi omicron pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta
Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
mathbf mathrm mathit mathsf mathtt mathcal mathbb mathfrak boldsymbol bm operatorname text textrm
textbf textit textsf texttt emph textbackslash textasciitilde textasciicircum
hat widehat tilde widetilde bar overline underline vec dot ddot breve check acute grave mathring
overrightarrow overleftarrow underbrace overbrace
top intercal prime ell hbar imath jmath partial nabla infty emptyset varnothing
cdot cdots ldots dots vdots ddots times div pm mp odot oslash otimes oplus ominus circ ast star
bullet dagger ddagger setminus backslash wedge vee cap cup
sum prod int oint log ln exp det tr min max sup inf lim arg
sin cos tan cot sec csc sinh cosh tanh coth arcsin arccos arctan
triangleq coloneqq phantom hphantom vphantom mkern
le leq ge geq ne neq approx equiv sim simeq cong propto in notin ni subset subseteq supset supseteq
to mapsto rightarrow leftarrow Rightarrow Leftarrow leftrightarrow
langle rangle lVert rVert lvert rvert Vert vert mid lfloor rfloor lceil rceil
left right middle big Big bigg Bigg bigl bigr Bigl Bigr
quad qquad frac dfrac tfrac sqrt binom
mathbin mathrel mathop mathord mathopen mathclose displaystyle textstyle scriptstyle
""".split())

#: Characters after a backslash that escape one symbol or space (\, \; \{ \% ...).
_SAFE_SYMBOLS = set(",;:! {}|%#&$_")


def tex_problem(text: str) -> str | None:
    """What makes ``text`` unsafe as user LaTeX, or None: a control word outside SAFE_MACROS, a
    raw % # & $ (a comment, a parameter, an alignment tab, a math shift), ^^ (a character code
    that can spell any control word), a control character, or unbalanced braces."""
    if not isinstance(text, str):
        return f"{text!r} is not text"
    depth, k = 0, 0
    while k < len(text):
        ch = text[k]
        if ch == "\\":
            name = re.match(r"[A-Za-z]+", text[k + 1:])
            if name:
                if name.group() not in SAFE_MACROS:
                    return f"the command \\{name.group()} is not allowed in user LaTeX"
                k += 1 + len(name.group())
                continue
            if k + 1 >= len(text) or text[k + 1] not in _SAFE_SYMBOLS:
                return f"the command {text[k:k + 2]!r} is not allowed in user LaTeX"
            k += 2
            continue
        if ch in "%#&$":
            return f"a raw {ch!r} is not allowed in user LaTeX (write \\{ch})"
        if ch == "^" and text[k + 1:k + 2] == "^":
            return "^^ (a character code) is not allowed in user LaTeX"
        if ord(ch) < 32 or ord(ch) == 127:
            return "control characters (such as line breaks) are not allowed in user LaTeX"
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return "a } closes a brace that was not opened"
        k += 1
    return "a { is not closed" if depth else None


def check_tex(text: str, what: str, error=LatexError) -> str:
    """``text`` if it is safe user LaTeX (``tex_problem``), else ``error`` naming ``what``."""
    problem = tex_problem(text)
    if problem is not None:
        raise error(f"{what}: {problem}; allowed are letters, digits, ^ _ {{ }}, and commands such "
                    "as \\alpha, \\mathbf, \\boldsymbol, \\hat, \\top, \\operatorname")
    return text


_NAME_ESCAPES = {"\\": r"\backslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\hat{\ }",
                 "$": r"\$", "%": r"\%", "#": r"\#", "&": r"\&", "~": r"\sim{}"}


def escape_name(name: str) -> str:
    """A symbol name that is not safe LaTeX, set literally: ``\\mathrm{...}`` with every special
    character escaped and control characters dropped."""
    body = "".join(_NAME_ESCAPES.get(ch, ch) for ch in name if 32 <= ord(ch) != 127)
    return r"\mathrm{%s}" % body


#: Macros a document needs for symcalc's output beyond amsmath/amssymb/bm.
PREAMBLE_MACROS = r"""\makeatletter
% amssymb has no blackboard one: draw \mathbb{1} (the indicator) from two ones.
\def\symcalc@one{1}
\NewCommandCopy\symcalc@mathbb\mathbb
\DeclareRobustCommand{\mathbb}[1]{\begingroup\def\symcalc@arg{#1}%
  \ifx\symcalc@arg\symcalc@one\endgroup\mathrm{1\mkern-6.5mu 1}%
  \else\endgroup\symcalc@mathbb{#1}\fi}
\makeatother"""

PACKAGES = ("amsmath", "amssymb", "bm", "graphicx", "xcolor")


def standalone(body: str, title: str | None = None, packages=()) -> str:
    """A complete document around ``body`` (LaTeX), compiling with pdflatex.

    ``title`` is LaTeX text set as an unnumbered heading; ``packages`` adds ``\\usepackage``
    lines (a TikZ graph needs ``"tikz"``, which is in texlive-pictures, not in the two packages
    above).
    """
    uses = "\n".join(r"\usepackage{%s}" % p for p in (*PACKAGES, *packages))
    head = "" if title is None else "\\section*{%s}\n\n" % title
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage[margin=2.5cm]{geometry}\n"
        f"{uses}\n"
        f"{PREAMBLE_MACROS}\n"
        "\\allowdisplaybreaks\n"
        "\\setlength{\\parindent}{0pt}\n"
        "\\setlength{\\parskip}{0.6\\baselineskip}\n"
        "\\begin{document}\n"
        f"{head}{body.strip()}\n"
        "\\end{document}\n"
    )


def align(rows) -> str:
    r"""An ``align*`` block. Each row is a string already holding its ``&`` (``"L &= u^\top u"``),
    a pair ``(lhs, rhs)`` giving ``lhs &= rhs``, or a triple ``(lhs, rhs, note)`` with the note
    set as text at the right (``&& \text{note}``)."""
    lines = []
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        lhs, rhs, *note = row
        line = f"{lhs} &= {rhs}"
        if note and note[0]:
            line += r" && \text{%s}" % note[0]
        lines.append(line)
    if not lines:
        raise ValueError("align needs at least one row")
    return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"


_ALIGN = re.compile(r"\\begin\{align\*?\}(.*?)\\end\{align\*?\}", re.S)
_TEXTBF = re.compile(r"\\textbf\{([^{}]*)\}")


def markdown_math(latex_body: str) -> str:
    """``$$`` blocks that KaTeX and MathJax render: each ``align*`` block of ``latex_body``
    becomes ``$$\\begin{aligned} ... \\end{aligned}$$``; a body without one is taken as the
    rows of a single block. ``\\intertext{...}`` (which KaTeX lacks) becomes a paragraph
    between blocks, ``\\textbf{...}`` in it bold. Blank lines, which end a Markdown paragraph,
    are dropped from the math."""
    blocks = _ALIGN.findall(latex_body) or [latex_body]
    out = []
    for block in blocks:
        for kind, piece in _split_intertext(block):
            if kind == "text":
                out.append(_TEXTBF.sub(r"**\1**", piece.strip()))
                continue
            rows = "\n".join(line for line in piece.strip().splitlines() if line.strip())
            rows = rows.strip().removesuffix("\\\\").rstrip()
            if not rows:
                continue
            if "&" in rows:
                rows = "\\begin{aligned}\n%s\n\\end{aligned}" % rows
            out.append("$$\n%s\n$$" % rows)
    return "\n\n".join(out)


def _split_intertext(block: str):
    """[("math", rows), ("text", words), ...] at each ``\\intertext{...}``."""
    pieces, start, marker = [], 0, "\\intertext{"
    while (k := block.find(marker, start)) >= 0:
        depth, j = 1, k + len(marker)
        while j < len(block) and depth:
            depth += {"{": 1, "}": -1}.get(block[j], 0)
            j += 1
        pieces += [("math", block[start:k]), ("text", block[k + len(marker):j - 1])]
        start = j
    pieces.append(("math", block[start:]))
    return pieces


# ---------------------------------------------------------------------- compiling

def have_latex() -> bool:
    """Whether ``latexmk`` and ``pdflatex`` are on the PATH."""
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def tex_environment():
    """The environment TeX runs in: paranoid file access (no absolute paths, no .., no dot files
    for reading or writing) and no shell escape, whatever texmf.cnf says."""
    return {**os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f"}


def compile_pdf(tex_path, timeout: float = 120) -> Path:
    """Compile ``tex_path`` with ``latexmk -pdf`` beside it; return the PDF's path.

    TeX runs with ``-no-shell-escape`` and paranoid ``openin_any``/``openout_any`` (a document
    cannot read /etc/... or write outside its folder), and latexmk reads no latexmkrc (-norc).

    Raises LatexError quoting the log's ``!`` line (and the lines after it, which name the
    input line) when the document does not compile, or naming the Debian packages when
    latexmk is missing.
    """
    tex = Path(tex_path).resolve()
    if not tex.is_file():
        raise LatexError(f"no such LaTeX file: {tex}")
    if not have_latex():
        raise LatexError(
            "latexmk/pdflatex not found; on Debian or Ubuntu: apt-get install -y "
            "--no-install-recommends texlive-latex-base texlive-latex-recommended latexmk")
    cmd = ["latexmk", "-pdf", "-norc", "-halt-on-error", "-interaction=nonstopmode",
           "-pdflatex=pdflatex -no-shell-escape %O %S", tex.name]
    try:
        run = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True,
                             timeout=timeout, errors="replace", env=tex_environment())
    except subprocess.TimeoutExpired as exc:
        raise LatexError(f"latexmk did not finish within {timeout} s on {tex}") from exc
    pdf = tex.with_suffix(".pdf")
    if run.returncode != 0 or not pdf.is_file():
        raise LatexError(f"LaTeX failed on {tex}:\n{_log_error(tex.with_suffix('.log'), run)}")
    return pdf


def _log_error(log: Path, run) -> str:
    text = log.read_text(errors="replace") if log.is_file() else ""
    lines = text.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("!"):
            return "\n".join(lines[k:k + 4])
    tail = (run.stdout + run.stderr).strip().splitlines()[-8:]
    return "\n".join(tail) or f"latexmk exited with status {run.returncode}"
