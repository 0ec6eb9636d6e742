"""The logistic-regression Hessian Xᵀ diag(σ(Xw) ⊙ (1 − σ(Xw))) X at n = 2000, d = 200.

    python bench/hessian.py [--n 2000] [--d 200] [--repeat 20] [--threads 1]

Three ways, timed in one run (median of ``repeat`` calls after a warm-up), with their ratios to
symcalc's generated NumPy:
  * symcalc: ``symcalc.diff.hessian`` of the loss, turned into NumPy by ``lambdify``; the diagonal
    is never an n x n matrix: with s = σ(1 − σ) ≥ 0 proved, Xᵀ diag(s) X = Bᵀ B, B = √s ⊙ X;
  * ``jax.hessian`` of the same loss written in ``jax.numpy`` (float64; jit-compiled, whose first
    call includes the compilation, and without jit). jax is optional (``pip install "jax[cpu]"``,
    the ``bench`` extra); without it the rows say so;
  * central finite differences of symcalc's generated gradient (2d gradient evaluations).
All three Hessians are compared entry by entry. Target: symcalc at least 10x faster than jax.
Every method runs on ``--threads`` BLAS/XLA threads (default 1): on a shared machine
multi-threaded BLAS timings vary by more than 10x from run to run.

Then a two-layer tanh network, r = tanh(tanh(X Wᵀ) v) − y with the loss ‖r‖² written two ways
(``sc.norm2(r)`` and ``r.T*r``): its Hessian by the output weights v at n = ``--n`` samples
(d = ``--d`` inputs, ``--hidden`` units), symcalc's generated NumPy against the same Hessian written
by hand, Tᵀ (s ⊙ T) with T = tanh(X Wᵀ) (target: ratio <= 1.2, and no n x n diagonal matrix in
the generated code), and against ``jax.jit(jax.hessian(...))``; these times are CPU times of this
process, generated and hand-written alternating (median of ``repeat``). Last, its vec-form Hessian
by the hidden weights W (12 x 12, 20 samples) in Kronecker form: wall times of the derivation and
of the code generation (target: derivation under 5 s), the size of the generated source (no
commutation matrix or vec written out), and its CPU time per call against a hand-written NumPy
Hessian (Jᵀ (s ⊙ J) plus a block diagonal; target: ratio <= 1.2) and jax.jit.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _threads_from_argv(argv):
    """BLAS and XLA read their thread counts at import: set them before numpy and jax load."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--threads", type=int, default=1)
    threads = ap.parse_known_args(argv)[0].threads
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    return threads


THREADS = _threads_from_argv(sys.argv[1:])
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's symcalc

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symcalc.functions as F  # noqa: E402
from symcalc.diff import gradient, hessian  # noqa: E402
from symcalc.numeric.codegen import describe  # noqa: E402
from symcalc.numeric.lambdify import lambdify  # noqa: E402


def median_time(fn, args, repeat):
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        if hasattr(out, "block_until_ready"):
            out.block_until_ready()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def fd_hessian(grad, X, y, w, eps=1e-5):
    """Central differences of the gradient, one column per coordinate of w."""
    d = w.shape[0]
    H = np.empty((d, d))
    for j in range(d):
        up, down = w.copy(), w.copy()
        up[j, 0] += eps
        down[j, 0] -= eps
        H[:, j] = ((grad(X, y, up) - grad(X, y, down)) / (2 * eps)).ravel()
    return H


def jax_hessian():
    try:
        import jax
    except ImportError:
        return None, "jax is not installed (pip install 'jax[cpu]'); skipped"
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loss(w, X, y):
        z = X @ w
        return jnp.sum(jnp.logaddexp(0.0, z)) - jnp.sum(y * z)

    return (jax.jit(jax.hessian(loss)), jax.hessian(loss)), f"jax {jax.__version__}, float64, CPU"


def tanh_network():
    """r = tanh(tanh(X Wᵀ) v) − y: n samples as rows, W hidden x d, output weights v."""
    n, d, h = sp.symbols("n d h", integer=True, positive=True)
    X, W = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", h, d)
    v, y = sp.MatrixSymbol("v", h, 1), sp.MatrixSymbol("y", n, 1)
    return F.tanh(F.tanh(X * W.T) * v) - y, [X, W, v, y]


def hand_tanh_hessian(X, W, v, y):
    """∂²‖r‖²/∂v∂vᵀ = Tᵀ (s ⊙ T), s = 2g² − 4 (t − y) ⊙ t ⊙ g with t = tanh(T v), g = 1 − t²."""
    T = np.tanh(X @ W.T)
    t = np.tanh(T @ v)
    g = 1 - t ** 2
    s = g * (2 * g - 4 * (t - y) * t)
    return T.T @ (s * T)


def alternate(f, g, args, repeat):
    """Medians of the CPU times of ``f`` and ``g``, called one after the other after a warm-up."""
    f(*args), g(*args)
    tf, tg = [], []
    for _ in range(repeat):
        for fn, out in ((f, tf), (g, tg)):
            t0 = time.process_time()
            fn(*args)
            out.append(time.process_time() - t0)
    return statistics.median(tf), statistics.median(tg)


def tanh_network_table(n, d, h, repeat):
    r, args = tanh_network()
    v = args[2]
    rng = np.random.default_rng(1)
    values = (rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=(h, d)), rng.normal(size=(h, 1)) / np.sqrt(h),
              rng.normal(size=(n, 1)))
    want = hand_tanh_hessian(*values)
    print(f"\ntwo-layer tanh network, Hessian of the loss by the output weights v, n = {n}, d = {d}, "
          f"h = {h}; CPU times, median of {repeat}")
    print(f"{'loss written':<14} {'derive+code':>12} {'generated':>10} {'by hand':>9} {'ratio':>6} "
          f"{'n x n?':>6} {'rel. diff':>9}")
    for label, loss in (("sc.norm2(r)", F.norm2(r)), ("r.T*r", r.T * r)):
        t0 = time.perf_counter()
        try:
            fn = lambdify(args, hessian(loss, v))
        except Exception as e:  # noqa: BLE001 - a refusal is a result of the benchmark
            print(f"{label:<14} refused: {type(e).__name__}: {str(e)[:80]}")
            continue
        t_derive = time.perf_counter() - t0
        err = float(np.max(np.abs(fn(*values) - want)) / np.max(np.abs(want)))
        t_gen, t_hand = alternate(fn, hand_tanh_hessian, values, repeat)
        dense = "yes" if "diagflat" in fn.source or "numpy.diag(" in fn.source else "no"
        print(f"{label:<14} {t_derive:>11.2f}s {t_gen * 1e3:>8.2f}ms {t_hand * 1e3:>7.2f}ms "
              f"{t_gen / t_hand:>6.2f} {dense:>6} {err:>9.1e}")
    try:
        import jax
    except ImportError:
        print("jax is not installed (pip install 'jax[cpu]'); skipped")
        return
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loss(v, X, W, y):
        return jnp.sum((jnp.tanh(jnp.tanh(X @ W.T) @ v) - y) ** 2)

    jfn = jax.jit(jax.hessian(loss))
    jargs = (values[2][:, 0], values[0], values[1], values[3][:, 0])
    t0 = time.perf_counter()
    H_jax = np.asarray(jfn(*jargs))
    t_first = time.perf_counter() - t0

    def jax_call(*_):
        return jfn(*jargs).block_until_ready()

    t_jax, t_hand = alternate(jax_call, hand_tanh_hessian, values, repeat)
    err = float(np.max(np.abs(H_jax - want)) / np.max(np.abs(want)))
    print(f"{'jax.jit':<14} {t_first:>11.2f}s {t_jax * 1e3:>8.2f}ms {t_hand * 1e3:>7.2f}ms "
          f"{t_jax / t_hand:>6.2f} {'':>6} {err:>9.1e}   (first call: trace and compile)")


def hand_vec_hessian(X, W, v, y):
    """∂vec(∇_W L)/∂vec(W)ᵀ of L = ‖tanh(tanh(X Wᵀ) v) − y‖² by hand: Jᵀ (s ⊙ J) for the Jacobian J
    of u = tanh(X Wᵀ) v by vec(W), plus the block diagonal of u's own second derivatives (one
    d x d block per hidden unit)."""
    h, d = W.shape
    T = np.tanh(X @ W.T)
    g = 1 - T ** 2
    t = np.tanh(T @ v)
    gt = 1 - t ** 2
    delta, s = 2 * (t - y) * gt, gt * (2 * gt - 4 * (t - y) * t)
    J = (X[:, :, None] * (g * v.T)[:, None, :]).reshape(len(X), d * h)  # column j h + i: W[i, j]
    H = J.T @ (s * J)
    C = np.einsum("si,sj,sl->ijl", delta * (-2 * T * g) * v.T, X, X)
    unit = np.arange(h)
    H.reshape(d, h, d, h)[:, unit, :, unit] += C
    return H


def batched(fn, args, calls):
    """CPU time of one call, averaged over ``calls`` calls (a call of a 144 x 144 Hessian is ~0.1 ms)."""
    def run(*a):
        for _ in range(calls):
            fn(*a)
    return run


def vec_hessian_row(n_samples, size, repeat):
    """The vec-form Hessian of the same loss by the hidden weights W (size x size) at concrete sizes,
    in Kronecker form: wall times of the derivation and of the code generation (once each), the
    size of the generated source, its CPU time against the hand-written NumPy and jax.jit, and the
    relative difference to central differences of the generated gradient."""
    m, h, d = n_samples, size, size
    X, W = sp.MatrixSymbol("X", m, d), sp.MatrixSymbol("W", h, d)
    v, y = sp.MatrixSymbol("v", h, 1), sp.MatrixSymbol("y", m, 1)
    loss = F.norm2(F.tanh(F.tanh(X * W.T) * v) - y)
    t0 = time.perf_counter()
    H = hessian(loss, W)
    t_derive = time.perf_counter() - t0
    t0 = time.perf_counter()
    fn = lambdify([X, W, v, y], H)
    t_code = time.perf_counter() - t0
    grad = lambdify([X, W, v, y], gradient(loss, W))
    rng = np.random.default_rng(2)
    values = [rng.normal(size=s) for s in ((m, d), (h, d), (h, 1), (m, 1))]
    got = fn(*values)
    want = np.empty_like(got)
    for k in range(h * d):
        up, down = [a.copy() for a in values], [a.copy() for a in values]
        up[1][k % h, k // h] += 1e-6
        down[1][k % h, k // h] -= 1e-6
        want[:, k] = ((grad(*up) - grad(*down)) / 2e-6).ravel(order="F")
    err = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
    hand = hand_vec_hessian(*values)
    err_hand = float(np.max(np.abs(hand - want)) / np.max(np.abs(want)))
    calls = 50
    t_gen, t_hand = (t / calls for t in alternate(batched(fn, values, calls), batched(hand_vec_hessian, values, calls),
                                                   values, repeat))
    literal = "yes" if "numpy.array(" in fn.source else "no"
    print(f"vec Hessian by W ({h} x {d}, {m} samples, {h * d} x {h * d}): derive {t_derive:.2f} s, "
          f"code generation {t_code:.2f} s, source {len(fn.source) / 1024:.1f} KB (a matrix written "
          f"out: {literal}), rel. diff to finite differences {err:.1e} (hand-written {err_hand:.1e})")
    print(f"  CPU time per call, median of {repeat} x {calls} calls: generated {t_gen * 1e3:.3f} ms, "
          f"by hand {t_hand * 1e3:.3f} ms, ratio {t_gen / t_hand:.2f} (target <= 1.2)")
    try:
        import jax
    except ImportError:
        print("  jax is not installed (pip install 'jax[cpu]'); skipped")
        return
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loss_W(W, X, v, y):
        return jnp.sum((jnp.tanh(jnp.tanh(X @ W.T) @ v) - y) ** 2)

    @jax.jit
    def jfn(W, X, v, y):  # (h, d, h, d) -> the vec form, column-major: row j h + i is W[i, j]
        return jax.hessian(loss_W)(W, X, v, y).transpose(1, 0, 3, 2).reshape(h * d, h * d)

    jargs = (values[1], values[0], values[2], values[3])
    t0 = time.perf_counter()
    H_jax = np.asarray(jfn(*jargs))
    t_first = time.perf_counter() - t0

    def jax_call(*_):
        return jfn(*jargs).block_until_ready()

    t_jax, t_hand = (t / calls for t in alternate(batched(jax_call, values, calls),
                                                   batched(hand_vec_hessian, values, calls), values, repeat))
    err = float(np.max(np.abs(H_jax - got)) / np.max(np.abs(got)))
    print(f"  jax.jit: {t_jax * 1e3:.3f} ms per call, by hand {t_hand * 1e3:.3f} ms, generated / jax.jit "
          f"{t_gen / t_jax:.2f}; first call (trace and compile) {t_first:.2f} s; rel. diff to "
          f"generated {err:.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=100, help="hidden units of the tanh network")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS / XLA threads for every method (default 1: comparable on a shared machine)")
    opts = ap.parse_args(argv)

    n, d = sp.symbols("n d", integer=True, positive=True)
    X = sp.MatrixSymbol("X", n, d)
    y = sp.MatrixSymbol("y", n, 1)
    w = sp.MatrixSymbol("w", d, 1)
    L = F.sum(F.softplus(X * w)) - y.T * X * w

    t0 = time.perf_counter()
    H = hessian(L, w)
    G = gradient(L, w)
    f_hess, f_grad = lambdify([X, y, w], H), lambdify([X, y, w], G)
    t_derive = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    Xv = rng.normal(size=(opts.n, opts.d)) / np.sqrt(opts.d)
    yv = (rng.uniform(size=(opts.n, 1)) > 0.5).astype(float)
    wv = rng.normal(size=(opts.d, 1))

    print(f"logistic-regression Hessian, n = {opts.n}, d = {opts.d}, median of {opts.repeat} calls, "
          f"{THREADS} thread(s)")
    print(f"symcalc result: {describe(H)}")
    print(f"symcalc derivation + code generation: {t_derive * 1e3:.0f} ms (once)")
    body = [line.strip() for line in f_hess.source.splitlines()]
    body = body[next(i for i, line in enumerate(body) if line.startswith("z")):]
    print("generated code: " + "; ".join(body))

    H_sym = f_hess(Xv, yv, wv)
    t_sym = median_time(f_hess, (Xv, yv, wv), opts.repeat)
    rows = [("symcalc generated NumPy", t_sym, 0.0, "")]

    jfns, jnote = jax_hessian()
    if jfns is None:
        rows.append(("jax.hessian", None, None, jnote))
    else:
        jargs = (wv[:, 0], Xv, yv[:, 0])
        for label, jfn in zip(("jax.hessian, jit", "jax.hessian, no jit"), jfns):
            t0 = time.perf_counter()
            H_jax = np.asarray(jfn(*jargs))
            t_first = time.perf_counter() - t0
            t_jax = median_time(jfn, jargs, opts.repeat)
            err = float(np.max(np.abs(H_jax - H_sym)) / np.max(np.abs(H_sym)))
            rows.append((label, t_jax, err, f"{jnote}; first call {t_first:.2f} s"))

    H_fd = fd_hessian(f_grad, Xv, yv, wv)
    t_fd = median_time(fd_hessian, (f_grad, Xv, yv, wv), max(3, opts.repeat // 5))
    err = float(np.max(np.abs(H_fd - H_sym)) / np.max(np.abs(H_sym)))
    rows.append(("finite differences", t_fd, err, f"central, of the generated gradient, {2 * opts.d} calls"))

    print()
    print(f"{'method':<26} {'time (ms)':>10} {'/ symcalc':>10} {'rel. diff':>10}  notes")
    for name, t, e, note in rows:
        if t is None:
            print(f"{name:<26} {'-':>10} {'-':>10} {'-':>10}  {note}")
        else:
            print(f"{name:<26} {t * 1e3:>10.2f} {t / t_sym:>10.1f} {e:>10.1e}  {note}")
    tanh_network_table(opts.n, opts.d, opts.hidden, opts.repeat)
    print()
    vec_hessian_row(n_samples=20, size=12, repeat=opts.repeat)


if __name__ == "__main__":
    main()
