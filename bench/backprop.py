"""Backpropagation: derivation time against depth, and generated NumPy against hand-written NumPy.

    python bench/backprop.py [--depths 1,2,4,8,16,32,64] [--width 256] [--batch 512] [--repeat 30]

1. For depth L = 1 … 64 (symbolic widths, activations cycling sigmoid, tanh, ReLU; sigmoid +
   binary cross-entropy at the output), the time of ``Network.backprop()`` (the δ recursion and the
   local Jacobians), of building its ``Derivation``, of expanding the let-bindings, and of
   generating and compiling the NumPy backward pass (``Backprop.numpy()`` at width 8, batch n).
   All should grow linearly in L.
2. A 4-layer ReLU MLP of width 256 with a batch of 512 samples as columns and ½‖ŷ − y‖² (CS229's
   Algorithm 4): the generated backward pass (including its input shape checks) against the same
   algorithm written by hand in NumPy, in the same run. Target: ratio <= 1.2.
Times are the median of ``repeat`` calls after a warm-up; the two backward passes alternate.
BLAS is limited to one thread so that the comparison is not decided by thread scheduling.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's symcalc
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from symcalc import nn  # noqa: E402

ACTIVATIONS = [nn.Sigmoid, nn.Tanh, nn.ReLU]


def deep_network(depth, width):
    layers = []
    for k in range(depth):
        layers.append(nn.Linear(width, width if k < depth - 1 else 1))
        layers.append(ACTIVATIONS[k % 3]() if k < depth - 1 else nn.Sigmoid())
    return nn.Network(layers, loss=nn.BinaryCrossEntropy(), batch="columns")


def derivation_times(depths):
    h = sp.Symbol("h", integer=True, positive=True)
    rows = []
    for depth in depths:
        t0 = time.perf_counter()
        bp = deep_network(depth, h).backprop()
        t1 = time.perf_counter()
        [bp.expand(g) for g in bp.gradients.values()]
        t2 = time.perf_counter()
        bp.derivation
        t3 = time.perf_counter()
        deep_network(depth, 8).backprop().numpy()
        t4 = time.perf_counter()
        rows.append((depth, t1 - t0, t3 - t2, t2 - t1, t4 - t3))
    return rows


def hand_backprop(Ws, bs, X, Y):
    """CS229 Algorithm 4, samples as columns: ReLU hidden layers, linear output, ½‖ŷ − y‖²."""
    r = len(Ws)
    A, Z = [X], []
    for k in range(r):
        z = Ws[k] @ A[-1] + bs[k]
        Z.append(z)
        A.append(np.maximum(z, 0) if k < r - 1 else z)
    delta = A[-1] - Y
    grads = [None] * (2 * r)
    for k in range(r - 1, -1, -1):
        grads[2 * k] = delta @ A[k].T
        grads[2 * k + 1] = delta.sum(axis=1, keepdims=True)
        if k > 0:
            delta = (Ws[k].T @ delta) * (Z[k - 1] > 0)
    return grads


def median_time(fn, args, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def mlp_ratio(width, batch, repeat, layers=4, seed=0):
    spec = []
    for k in range(layers):
        spec.append(nn.Linear(width, width))
        if k < layers - 1:
            spec.append(nn.ReLU())
    bp = nn.Network(spec, loss=nn.SquaredError(), batch="columns", samples=batch).backprop()
    _, backward = bp.numpy()
    rng = np.random.default_rng(seed)
    params = {}
    for p in bp.parameters:
        params[p.name] = rng.normal(scale=1 / np.sqrt(width), size=tuple(int(s) for s in p.shape))
    X = rng.normal(size=(width, batch))
    Y = rng.normal(size=(width, batch))
    names = [p.name for p in bp.parameters]
    Ws = [params[n] for n in names if n.startswith("W")]
    bs = [params[n] for n in names if n.startswith("b")]

    got = backward(params, X, Y)
    want = dict(zip(names, hand_backprop(Ws, bs, X, Y)))
    err = max(np.max(np.abs(got[n] - want[n])) / max(1.0, np.max(np.abs(want[n]))) for n in names)

    gen_t, hand_t = [], []
    backward(params, X, Y), hand_backprop(Ws, bs, X, Y)            # warm-up
    for _ in range(repeat):                                          # alternate the two
        gen_t.append(median_time(backward, (params, X, Y), 1))
        hand_t.append(median_time(hand_backprop, (Ws, bs, X, Y), 1))
    g, h = statistics.median(gen_t), statistics.median(hand_t)
    return g, h, err, backward.source


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depths", default="1,2,4,8,16,32,64")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--show-source", action="store_true")
    opts = ap.parse_args(argv)

    depths = [int(d) for d in opts.depths.split(",")]
    print("Derivation time (seconds) against depth; symbolic widths, sigmoid/tanh/ReLU, BCE output")
    print(f"{'depth':>6} {'backprop()':>11} {'.derivation':>12} {'expand':>9} {'numpy()':>9} "
          f"{'backprop/depth (ms)':>20}")
    for depth, t_bp, t_d, t_ex, t_np in derivation_times(depths):
        print(f"{depth:>6} {t_bp:>11.4f} {t_d:>12.4f} {t_ex:>9.4f} {t_np:>9.3f} "
              f"{1000 * t_bp / depth:>20.2f}")

    g, h, err, source = mlp_ratio(opts.width, opts.batch, opts.repeat)
    print()
    print(f"4-layer ReLU MLP, width {opts.width}, batch {opts.batch} (samples as columns), "
          f"single-threaded BLAS, median of {opts.repeat}")
    print(f"  generated backward  {1000 * g:8.2f} ms")
    print(f"  hand-written (CS229 Alg. 4) {1000 * h:8.2f} ms")
    print(f"  ratio generated / hand = {g / h:.3f}   (target <= 1.2); max relative difference {err:.1e}")
    if opts.show_source:
        print(source)


if __name__ == "__main__":
    main()
