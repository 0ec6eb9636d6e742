r"""Complete LaTeX documents, ``align*`` blocks, Markdown math, and compiling to PDF.

The preamble needs only Debian's texlive-latex-base and texlive-latex-recommended: amsmath,
amssymb, bm, geometry, graphicx and xcolor, with the default Computer Modern fonts (no lmodern, and no T1
font encoding, which without cm-super falls back to bitmap fonts). amssymb has no blackboard one,
so ``\mathbb{1}`` (the indicator in ``\mathbb{1}[z > 0]``) is redefined to draw one from two
overlapping ones; every other ``\mathbb`` letter is untouched. ``PREAMBLE_MACROS`` holds that
definition for people who ``\input`` a fragment into their own document.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ..errors import SymcalcError


class LatexError(SymcalcError, RuntimeError):
    """LaTeX is missing, or a document did not compile; the message quotes the log's error."""


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


def compile_pdf(tex_path, timeout: float = 120) -> Path:
    """Compile ``tex_path`` with ``latexmk -pdf`` beside it; return the PDF's path.

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
    cmd = ["latexmk", "-pdf", "-halt-on-error", "-interaction=nonstopmode", tex.name]
    try:
        run = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True,
                             timeout=timeout, errors="replace")
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
