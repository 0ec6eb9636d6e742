"""Regenerate the PNG renderings of compiled derivations shown in the user guide.

    python docs/img/render.py          (needs latexmk, pdflatex and pdftoppm)

Each image is page 1 of a standalone document written by ``Derivation.write_tex``, rendered with
``pdftoppm -png`` and cropped to the text (the crop box is found on a grey-scale rendering, so no
image library is needed). Keep each image under 200 KB.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import sympy as sp

import symcalc as sc
from symcalc import nn
from symcalc.derivation import derive

HERE = Path(__file__).resolve().parent
DPI = 100


def derivations():
    n, d, m = sp.symbols("n d m", integer=True, positive=True)
    X, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1)
    theta = sp.MatrixSymbol("theta", d, 1)
    x, M = sp.MatrixSymbol("x", d, 1), sp.MatrixSymbol("M", d, d)
    W, b, t = sp.MatrixSymbol("W", m, d), sp.MatrixSymbol("b", m, 1), sp.MatrixSymbol("t", m, 1)
    h = sp.Symbol("h", integer=True, positive=True)
    W1, b1 = sp.MatrixSymbol("W1", h, d), sp.MatrixSymbol("b1", h, 1)
    W2, yd = sp.MatrixSymbol("W2", d, h), sp.MatrixSymbol("y", d, 1)
    net = nn.Network([nn.Linear(d, m, name="1"), nn.Sigmoid(), nn.Linear(m, 1, name="2"), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy())
    return {
        "least_squares_chain": derive((y - X * theta).T * (y - X * theta), theta),
        "quadratic_form_index": derive(x.T * M * x, x, style="index"),
        "sigmoid_layer_numerator": derive(sc.norm2(sc.sigmoid(W * x + b) - t), W, layout="numerator"),
        "skip_connection_chain": derive(sc.norm2(x + W2 * sc.tanh(W1 * x + b1) - yd) / 2, x),
        "mlp_backprop": net.backprop().derivation,
    }


def pgm_rows(path):
    """The rows of a binary PGM (P5) image as a 2-D array."""
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][-width * height:], dtype=np.uint8).reshape(height, width)


def ink_box(page):
    """(left, top, width, height) of the ink on a page, without the page number at the foot."""
    rows = np.flatnonzero((page < 200).any(axis=1))
    groups = np.split(rows, np.flatnonzero(np.diff(rows) > 20) + 1)
    last = groups[-1]
    cols = np.flatnonzero((page[last] < 200).any(axis=0))
    if len(groups) > 1 and last[-1] - last[0] < 25 and cols[-1] - cols[0] < 40:
        groups = groups[:-1]  # the page number
    rows = np.concatenate(groups)
    cols = np.flatnonzero((page[rows] < 200).any(axis=0))
    pad = 12
    top, left = max(rows[0] - pad, 0), max(cols[0] - pad, 0)
    return left, top, cols[-1] - cols[0] + 2 * pad, rows[-1] - rows[0] + 2 * pad


def render(derivation, name, workdir):
    """PNGs of every page: docs/img/NAME.png, or NAME-1.png, NAME-2.png, ... for several pages."""
    pdf = derivation.write_tex(workdir / f"{name}.tex", compile=True)
    subprocess.run(["pdftoppm", "-gray", "-r", str(DPI), str(pdf), str(workdir / name)], check=True)
    pages = sorted(workdir.glob(f"{name}*.pgm"))
    sizes = []
    for number, gray in enumerate(pages, start=1):
        left, top, width, height = ink_box(pgm_rows(gray))
        out = HERE / (name if len(pages) == 1 else f"{name}-{number}")
        subprocess.run(["pdftoppm", "-png", "-singlefile", "-r", str(DPI), "-f", str(number),
                        "-l", str(number), "-x", str(left), "-y", str(top), "-W", str(width),
                        "-H", str(height), str(pdf), str(out)], check=True)
        size = out.with_suffix(".png").stat().st_size
        print(f"docs/img/{out.name}.png: {width} x {height} px, {size // 1024} KB")
        sizes.append(size)
    return max(sizes)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [render(d, name, Path(tmp)) for name, d in derivations().items()]
    return 0 if max(sizes) < 200_000 else 1


if __name__ == "__main__":
    sys.exit(main())
