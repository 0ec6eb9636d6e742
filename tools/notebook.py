"""Run the example notebook and convert it, as CI does: executed .ipynb, offline HTML, PDF.

    python tools/notebook.py [examples/tour.ipynb] [--out build/notebook] [--no-pdf]

The HTML loads MathJax 3 from a copy installed from the npm registry (``tools/nbconvert/package.json``,
``npm install`` on first use), copied beside it, and nothing from the internet (nbconvert's
default loads MathJax and require.js from a CDN). The PDF goes through LaTeX (nbconvert's ``--to pdf``: xelatex and pandoc).
Exits non-zero when a cell fails or a conversion does.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "tools" / "nbconvert"


def mathjax_copy(out: Path) -> str:
    """Copy MathJax 3 (the npm package, installed here on first use) beside the HTML; the URL
    nbconvert gets."""
    script = TEMPLATES / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"
    if not script.is_file():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(TEMPLATES)],
                       check=True, timeout=600)
    (out / "mathjax").mkdir(exist_ok=True)
    shutil.copy2(script, out / "mathjax" / script.name)
    return f"mathjax/{script.name}"


def nbconvert(*args: str) -> None:
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", *args]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, timeout=1800)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", default=str(ROOT / "examples" / "tour.ipynb"))
    parser.add_argument("--out", default=str(ROOT / "build" / "notebook"))
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    name = Path(args.notebook).stem
    nbconvert("--to", "notebook", "--execute", args.notebook, "--output-dir", str(out))
    executed = out / f"{name}.ipynb"
    nbconvert("--to", "html", str(executed), "--output-dir", str(out),
              f"--TemplateExporter.extra_template_basedirs={TEMPLATES}", "--template", "offline",
              f"--HTMLExporter.mathjax_url={mathjax_copy(out)}")
    html = (out / f"{name}.html").read_text(encoding="utf-8")
    remote = re.findall(r"""<(?:script|link)[^>]+(?:src|href)=["']?(?:https?:)?//[^"'\s>]+""", html)
    if remote:
        print(f"the HTML loads from the internet: {remote}", file=sys.stderr)
        return 1
    print(f"wrote {out / (name + '.html')} (offline: MathJax beside it)")
    if not args.no_pdf:
        nbconvert("--to", "pdf", str(executed), "--output-dir", str(out))
        print(f"wrote {out / (name + '.pdf')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
