"""Generated NumPy gradients against hand-written NumPy.

    python bench/codegen.py [--n 2000] [--d 200] [--repeat 50] [--threads 1]
                            [--depth 32] [--width 128] [--batch 256]

1. For the least-squares and the logistic loss (n = 2000, d = 200): the time of symcalc's
   generated gradient (symcalc.diff -> codegen -> lambdify, including its input shape checks),
   the time of the same gradient written by hand, and their ratio. Target: ratio <= 1.1.
2. A residual network A <- A + tanh(W A) of depth L = ``--depth`` (samples as columns, squared
   loss ||A - Y||_F^2): the time to derive the gradients of all L weight matrices and to generate
   and compile their NumPy code (target: under 5 s at L = 32), and the generated backward pass
   against backpropagation written by hand (target: ratio <= 1.2).
All measured in the same run (BLAS on ``--threads`` threads, default 1); times are the median of
``repeat`` calls after a warm-up, the generated and the hand-written code alternating.
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
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's symcalc

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symcalc.functions as F  # noqa: E402
from symcalc.diff import backward, gradient  # noqa: E402
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


def residual_network(depth):
    """A <- A + tanh(W A), depth times; the squared loss ||A - Y||_F^2. Sizes n x n and n x b."""
    n, b = sp.symbols("n b", integer=True, positive=True)
    X, Y = sp.MatrixSymbol("X", n, b), sp.MatrixSymbol("Y", n, b)
    Ws = [sp.MatrixSymbol(f"W{k}", n, n) for k in range(1, depth + 1)]
    A = X
    for W in Ws:
        A = A + F.tanh(W * A)
    return F.frobenius2(A - Y), X, Y, Ws


def hand_residual(Ws, X, Y):
    """Backpropagation through A <- A + tanh(W A), written by hand."""
    A, T = [X], []
    for W in Ws:
        t = np.tanh(W @ A[-1])
        T.append(t)
        A.append(A[-1] + t)
    G = 2 * (A[-1] - Y)
    grads = [None] * len(Ws)
    for k in range(len(Ws) - 1, -1, -1):
        D = G * (1 - T[k] ** 2)
        grads[k] = D @ A[k].T
        if k:
            G = G + Ws[k].T @ D
    return grads


def alternate(f, g, args_f, args_g, repeat):
    """Medians of ``f`` and ``g``, timed one after the other ``repeat`` times after a warm-up, in
    CPU time of this process (on a shared machine, time waiting for a core is not counted)."""
    f(*args_f), g(*args_g)
    tf, tg = [], []
    for _ in range(repeat):
        for fn, args, out in ((f, args_f, tf), (g, args_g, tg)):
            t0 = time.process_time()
            fn(*args)
            out.append(time.process_time() - t0)
    return statistics.median(tf), statistics.median(tg)


def residual_table(depth, width, batch, repeat):
    t0 = time.perf_counter()
    loss, X, Y, Ws = residual_network(depth)
    t1 = time.perf_counter()
    grads = backward(loss, Ws).gradients
    t2 = time.perf_counter()
    fn = lambdify([X, Y, *Ws], [grads[W] for W in Ws])
    t3 = time.perf_counter()

    rng = np.random.default_rng(0)
    Wv = [rng.normal(scale=0.5 / np.sqrt(width), size=(width, width)) for _ in Ws]
    Xv, Yv = rng.normal(size=(width, batch)), rng.normal(size=(width, batch))
    got, want = fn(Xv, Yv, *Wv), hand_residual(Wv, Xv, Yv)
    err = max(float(np.max(np.abs(g - w)) / np.max(np.abs(w))) for g, w in zip(got, want))
    del got, want
    t_gen, t_hand = alternate(fn, hand_residual, (Xv, Yv, *Wv), (Wv, Xv, Yv), repeat)
    print(f"\nresidual network A <- A + tanh(W A), L = {depth}: gradients of all {depth} weight matrices")
    print(f"  build {t1 - t0:.2f} s, derive {t2 - t1:.2f} s, generate and compile {t3 - t2:.2f} s: "
          f"{t3 - t0:.2f} s in all (target < 5 s)")
    print(f"  width {width}, batch {batch}: generated {t_gen * 1e3:.2f} ms, by hand {t_hand * 1e3:.2f} ms, "
          f"ratio {t_gen / t_hand:.2f} (target <= 1.2); max relative difference {err:.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    ap.add_argument("--depth", type=int, default=32, help="depth of the residual network")
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
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
    residual_table(opts.depth, opts.width, opts.batch, opts.repeat)


if __name__ == "__main__":
    main()
