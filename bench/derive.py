"""Time symcalc's derivatives against SymPy's MatrixExpr.diff on the same expressions.

    python bench/derive.py            # the table (about a minute)
    python bench/derive.py --quick    # fewer repeats, MLP up to L = 16

For each task of issue 2 and for the L-layer sigmoid MLP (gradient wrt W1, squared loss) it prints
symcalc's time to differentiate (best of several runs), SymPy's time on the same expression and
whether SymPy's answer is right (checked numerically against finite differences by the test
oracle: "wrong" when it returns 0 or a wrong value, "fails" when it raises or returns an
unevaluated derivative or array expression, "timeout" after the limit), their ratio measured in the same run, and the size of
symcalc's result as the number of distinct sub-expressions (a DAG size; ``sp.cse`` cannot handle
elementwise functions). Not a test: numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import threading
import time
from pathlib import Path

import sympy as sp
from sympy.core.cache import clear_cache

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import symcalc.functions as F  # noqa: E402
from symcalc.diff import diff  # noqa: E402
from tests.diff import oracle  # noqa: E402

m, n, k = sp.symbols("m n k", integer=True, positive=True)
SIZES = {m: 4, n: 3, k: 2}


def M(name, rows, cols=1):
    return sp.MatrixSymbol(name, rows, cols)


def tasks():
    X, y, theta = M("X", m, n), M("y", m), M("theta", n)
    x, A, S = M("x", n), M("A", n, n), F.SymmetricMatrix("S", n)
    B, Xs = M("B", n, m), M("Y", n, n)
    w, W, b, v = M("w", m), M("W", m, n), M("b", m), M("v", n)
    r = y - X * theta
    z, yh = M("z", m), F.OneHot("t", m, 1)
    E = M("C", n, m) * M("Z", m, n)
    W1, W2, u = M("W1", k, n), M("W2", m, k), M("u", m)
    return [
        ("least squares", r.T * r, theta),
        ("x'Ax", x.T * A * x, x),
        ("x'Sx (S symmetric)", x.T * S * x, x),
        ("tr(AXB)", sp.Trace(M("P", k, m) * X * M("B", n, k)), X),
        ("log det X", sp.log(sp.Determinant(Xs)), Xs),
        ("det X", sp.Determinant(Xs), Xs),
        ("det(X)^2", sp.Determinant(Xs) ** 2, Xs),
        ("tr(E) + 1", sp.Trace(E) + 1, M("Z", m, n)),
        ("exp(x'x)", sp.exp(x.T * x), x),
        ("log tr X", sp.log(sp.Trace(Xs)), Xs),
        ("(r'r)[0,0]", (r.T * r)[0, 0], theta),
        ("w' sigmoid(Wv + b)", w.T * F.sigmoid(W * v + b), W),
        ("logistic loss", F.sum(F.log(sp.OneMatrix(m, 1) + F.exp(X * theta))) - y.T * X * theta,
         theta),
        ("softmax cross-entropy", -yh.T * F.log(F.softmax(z)), z),
        ("log-sum-exp CE (SymPy form)",
         -sp.Trace(yh.T * z) + sp.log(sp.Trace(sp.OneMatrix(1, m) * z.applyfunc(sp.exp))), z),
        ("two sigmoid layers", u.T * F.sigmoid(W2 * F.sigmoid(W1 * v)), W1),
    ]


def mlp(L):
    x, y = M("x", n), M("y", k)
    Ws = [M(f"W{i}", k, n if i == 1 else k) for i in range(1, L + 1)]
    a = x
    for W in Ws:
        a = F.sigmoid(W * a)
    return (a - y).T * (a - y), Ws[0]


def size(e):
    seen, stack = set(), [e]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            if isinstance(node, sp.Basic):
                stack.extend(node.args)
    return len(seen)


def best_time(f, repeats):
    """Best of ``repeats`` cold runs (SymPy's cache cleared before each, so no run is free)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        clear_cache()
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def _sympy_child(conn, expr, wrt):
    clear_cache()
    try:
        t = time.perf_counter()
        got = expr.diff(wrt)
        dt = time.perf_counter() - t
    except Exception:  # noqa: BLE001 - any failure of SymPy's is a result here
        conn.send((None, "fails"))
        return
    if got == 0 or getattr(got, "is_ZeroMatrix", False):
        conn.send((dt, "wrong (0)"))
        return
    try:
        oracle.check(got, expr, wrt, layout="denominator", sizes=SIZES)
        conn.send((dt, "ok"))
    except AssertionError:
        conn.send((dt, "wrong"))
    except Exception:  # noqa: BLE001 - an array SymPy cannot reduce to a matrix
        conn.send((dt, "fails"))


def sympy_run(expr, wrt, limit):
    """(seconds, status) of SymPy's own derivative, checked numerically, in a child process
    (forked, so nothing is pickled) that is stopped after ``limit`` seconds."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_sympy_child, args=(child, expr, wrt))
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None, "timeout"
    if parent.poll():
        return parent.recv()
    return None, "crashes"


def row(name, expr, wrt, repeats, limit):
    t_sc, result = best_time(lambda: diff(expr, wrt), repeats)
    oracle.check(result, expr, wrt, layout="denominator", sizes=SIZES)  # symcalc must be right
    t_sp, status = sympy_run(expr, wrt, limit)
    ratio = f"{t_sp / t_sc:8.1f}x" if status == "ok" else "       -"
    sp_time = f"{t_sp * 1e3:9.1f}" if t_sp is not None else "        -"
    print(f"{name:30s} {t_sc * 1e3:9.1f} {sp_time} {status:10s} {ratio} {size(result):6d}",
          flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, MLP up to L = 16")
    ap.add_argument("--limit", type=int, default=30, help="seconds before SymPy is stopped")
    args = ap.parse_args(argv)
    repeats = 1 if args.quick else 3
    depths = [1, 2, 4, 8, 16] if args.quick else [1, 2, 4, 8, 16, 32, 64]
    print(f"sizes for the numeric checks: {SIZES}; times in ms, best of {repeats}")
    print(f"{'task':30s} {'symcalc':>9s} {'sympy':>9s} {'sympy is':10s} {'ratio':>9s} {'size':>6s}")
    for name, expr, wrt in tasks():
        row(name, expr, wrt, repeats, args.limit)
    for L in depths:
        expr, wrt = mlp(L)
        row(f"sigmoid MLP, L = {L}", expr, wrt, repeats, args.limit)


if __name__ == "__main__":
    # Deep expressions (64 layers) recurse deeply in SymPy and in the oracle: give the work a
    # thread with a large stack rather than crash the interpreter.
    sys.setrecursionlimit(50_000)
    threading.stack_size(512 * 1024 * 1024)
    worker = threading.Thread(target=main)
    worker.start()
    worker.join()
