"""Write the golden LaTeX files: python tests/derivation/regen_golden.py (review the diff!)."""
from pathlib import Path

from symcalc.derivation import derive

from examples import CASES, examples

HERE = Path(__file__).parent / "golden"

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    ex = examples()
    for name, style in CASES:
        expr, wrt, _ = ex[name]
        for layout in ("denominator", "numerator"):
            tex = derive(expr, wrt, layout=layout, style=style).latex()
            (HERE / f"{name}-{style}-{layout}.tex").write_text(tex + "\n")
