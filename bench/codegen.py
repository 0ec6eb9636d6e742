"""Generated NumPy gradients against hand-written NumPy (n = 2000, d = 200).

    python bench/codegen.py [--n 2000] [--d 200] [--repeat 50] [--threads 1]

Prints, for the least-squares and the logistic loss (BLAS on ``--threads`` threads, default 1),
the time of symcalc's generated gradient (symcalc.diff -> codegen -> lambdify, including its
input shape checks), the time of the same gradient written by hand, and their ratio, all measured in the same run. Target: ratio <= 1.1.
Times are the median of ``repeat`` calls after a warm-up.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _threads_from_argv(argv):
    """BLAS reads its thread count at import: set it before numpy loads."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--threads", type=int, default=1)
    threads = ap.parse_known_args(argv)[0].threads
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    return threads


THREADS = _threads_from_argv(sys.argv[1:])

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symcalc.functions as F  # noqa: E402
from symcalc.diff import gradient  # noqa: E402
from symcalc.numeric.codegen import describe  # noqa: E402
from symcalc.numeric.lambdify import lambdify  # noqa: E402


def median_time(fn, args, repeat):
    fn(*args)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    opts = ap.parse_args(argv)

    n, d = sp.symbols("n d", integer=True, positive=True)
    X = sp.MatrixSymbol("X", n, d)
    y = sp.MatrixSymbol("y", n, 1)
    w = sp.MatrixSymbol("w", d, 1)
    losses = {
        "least squares": ((y - X * w).T * (y - X * w),
                          lambda X, y, w: -2 * (X.T @ (y - X @ w))),
        "logistic": (F.sum(F.softplus(X * w)) - y.T * X * w,
                     lambda X, y, w: X.T @ (1 / (1 + np.exp(-(X @ w))) - y)),
    }

    rng = np.random.default_rng(0)
    Xv = rng.normal(size=(opts.n, opts.d)) / np.sqrt(opts.d)
    yv = (rng.uniform(size=(opts.n, 1)) > 0.5).astype(float)
    wv = rng.normal(size=(opts.d, 1))

    print(f"gradient, n = {opts.n}, d = {opts.d}, median of {opts.repeat} calls, {THREADS} thread(s)")
    print(f"{'loss':<15} {'symcalc (ms)':>13} {'by hand (ms)':>13} {'ratio':>7}  max |diff|   gradient")
    for name, (loss, by_hand) in losses.items():
        G = gradient(loss, w)
        fn = lambdify([X, y, w], G)
        diff = float(np.max(np.abs(fn(Xv, yv, wv) - by_hand(Xv, yv, wv))))
        t_gen = median_time(fn, (Xv, yv, wv), opts.repeat)
        t_hand = median_time(by_hand, (Xv, yv, wv), opts.repeat)
        print(f"{name:<15} {t_gen * 1e3:>13.3f} {t_hand * 1e3:>13.3f} {t_gen / t_hand:>7.2f}  "
              f"{diff:.1e}     {describe(G)}")
        body = [line.strip() for line in fn.source.splitlines()]
        start = max(i for i, line in enumerate(body) if line.startswith("raise")) + 1
        print(" " * 17 + "generated: " + "; ".join(body[start:]))


if __name__ == "__main__":
    main()
