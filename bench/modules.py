"""A pre-LN transformer block: symcalc's generated NumPy against hand-written NumPy and jax.jit.

    python bench/modules.py [--tokens 128] [--width 256] [--repeat 20]

The block X ↦ R = X + Attn(LN(X)) ↦ R + MLP(LN(R)) (single head, d_k = width/4, MLP hidden 4·width,
ReLU) with ½‖out − Y‖², built with ``symcalc.nn.Model`` at symbolic sizes and differentiated in one
backward pass (all 11 parameters and X). Reported, in one run: the time to derive and to generate
the code; the forward + backward pass of the generated code, of the same algorithm written by hand
in NumPy (below), and of ``jax.jit(jax.grad(loss))`` after compilation where JAX is installed;
the ratios generated / hand-written (target ≤ 1.2) and generated / jax. The three agree to 1e-8
(asserted before timing). Medians of ``repeat`` calls, alternating; BLAS on one thread.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from symcalc import nn  # noqa: E402

EPS = sp.Rational(1, 100000)
NAMES = ["gamma1", "beta1", "W_Q1", "W_K1", "W_V1", "gamma2", "beta2", "W1", "b1", "W2", "b2"]


def block_model():
    T, d, dk, h = sp.symbols("T d d_k h", integer=True, positive=True)
    model = nn.Model(batch="rows", samples=T)
    X = model.input("X", d)
    out = nn.TransformerBlock(d, dk, h, eps=EPS)(X)
    return model.output(out, "squared_error")


# --------------------------------------------------------------------------- by hand

def _ln(X, g, b, eps):
    Xc = X - X.mean(1, keepdims=True)
    inv = 1.0 / np.sqrt((Xc * Xc).mean(1, keepdims=True) + eps)
    Xh = Xc * inv
    return Xh * g.T + b.T, Xh, inv


def _ln_back(G, g, Xh, inv):
    Gh = G * g.T
    dX = inv * (Gh - Gh.mean(1, keepdims=True) - Xh * (Gh * Xh).mean(1, keepdims=True))
    return dX, (G * Xh).sum(0)[:, None], G.sum(0)[:, None]


def by_hand(p, X, Y, eps=float(EPS)):
    """Forward and backward of the block, as one writes them in NumPy."""
    N1, Xh1, inv1 = _ln(X, p["gamma1"], p["beta1"], eps)
    Q, K, V = N1 @ p["W_Q1"], N1 @ p["W_K1"], N1 @ p["W_V1"]
    c = 1.0 / np.sqrt(Q.shape[1])
    S = (Q @ K.T) * c
    A = np.exp(S - S.max(1, keepdims=True))
    A /= A.sum(1, keepdims=True)
    R1 = X + A @ V
    N2, Xh2, inv2 = _ln(R1, p["gamma2"], p["beta2"], eps)
    Z1 = N2 @ p["W1"] + p["b1"].T
    H = np.maximum(Z1, 0)
    R2 = R1 + H @ p["W2"] + p["b2"].T
    G = R2 - Y
    g = {"W2": H.T @ G, "b2": G.sum(0)[:, None]}
    dZ1 = (G @ p["W2"].T) * (Z1 > 0)
    g["W1"], g["b1"] = N2.T @ dZ1, dZ1.sum(0)[:, None]
    dR1, g["gamma2"], g["beta2"] = _ln_back(dZ1 @ p["W1"].T, p["gamma2"], Xh2, inv2)
    dR1 += G
    dA, dV = dR1 @ V.T, A.T @ dR1
    dS = A * (dA - (dA * A).sum(1, keepdims=True))
    dQ, dK = (dS @ K) * c, (dS.T @ Q) * c
    g["W_Q1"], g["W_K1"], g["W_V1"] = N1.T @ dQ, N1.T @ dK, N1.T @ dV
    dX, g["gamma1"], g["beta1"] = _ln_back(dQ @ p["W_Q1"].T + dK @ p["W_K1"].T + dV @ p["W_V1"].T,
                                            p["gamma1"], Xh1, inv1)
    g["X"] = dX + dR1
    return g


def jax_grad(eps=float(EPS)):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def ln(X, g, b):
        Xc = X - X.mean(1, keepdims=True)
        return Xc / jnp.sqrt((Xc * Xc).mean(1, keepdims=True) + eps) * g.T + b.T

    def loss(p, X, Y):
        N1 = ln(X, p["gamma1"], p["beta1"])
        Q, K, V = N1 @ p["W_Q1"], N1 @ p["W_K1"], N1 @ p["W_V1"]
        A = jax.nn.softmax(Q @ K.T / jnp.sqrt(Q.shape[1]), axis=1)
        R1 = X + A @ V
        N2 = ln(R1, p["gamma2"], p["beta2"])
        R2 = R1 + jnp.maximum(N2 @ p["W1"] + p["b1"].T, 0) @ p["W2"] + p["b2"].T
        return 0.5 * jnp.sum((R2 - Y) ** 2)

    return jax.jit(jax.grad(loss, argnums=(0, 1)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    T, d = args.tokens, args.width
    dk, hid = d // 4, 4 * d

    t0 = time.perf_counter()
    model = block_model()
    bp = model.backprop("denominator")
    t1 = time.perf_counter()
    _, backward = bp.numpy()
    t2 = time.perf_counter()
    print(f"pre-LN transformer block, {len(bp.forward)} bindings, {len(bp.backward)} adjoints: "
          f"derive {1e3 * (t1 - t0):.0f} ms, generate {1e3 * (t2 - t1):.0f} ms")

    rng = np.random.default_rng(0)
    shapes = {"gamma1": (d, 1), "beta1": (d, 1), "W_Q1": (d, dk), "W_K1": (d, dk), "W_V1": (d, d),
              "gamma2": (d, 1), "beta2": (d, 1), "W1": (d, hid), "b1": (hid, 1), "W2": (hid, d), "b2": (d, 1)}
    p = {k: rng.normal(size=s) / np.sqrt(s[0]) for k, s in shapes.items()}
    p["gamma1"] += 1
    p["gamma2"] += 1
    X, Y = rng.normal(size=(T, d)), rng.normal(size=(T, d))
    assert [q.name for q in model.parameters] == NAMES, [q.name for q in model.parameters]

    ours, hand = backward(p, X, Y), by_hand(p, X, Y)
    for k in hand:
        np.testing.assert_allclose(ours[k], hand[k], rtol=1e-8, atol=1e-8)
    jg = jax_grad()
    if jg is not None:
        jp, jx = jg(p, X, Y)
        for k in NAMES:
            np.testing.assert_allclose(ours[k], np.asarray(jp[k]), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(ours["X"], np.asarray(jx), rtol=1e-8, atol=1e-8)

    def block(fn):
        out = fn()
        if jg is not None and isinstance(out, tuple):
            for leaf in out[0].values():
                leaf.block_until_ready()
        return out

    runs = {"generated": lambda: backward(p, X, Y), "by hand": lambda: by_hand(p, X, Y)}
    if jg is not None:
        runs["jax.jit"] = lambda: block(lambda: jg(p, X, Y))
    times = {k: [] for k in runs}
    for _ in range(args.repeat):
        for k, f in runs.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"T = {T} tokens, width {d}, d_k {dk}, hidden {hid}; medians of {args.repeat} calls (ms):")
    for k, v in med.items():
        print(f"  {k:10s} {1e3 * v:8.2f}")
    print(f"generated / by hand = {med['generated'] / med['by hand']:.2f}")
    if jg is not None:
        print(f"generated / jax.jit = {med['generated'] / med['jax.jit']:.2f}")


if __name__ == "__main__":
    main()
