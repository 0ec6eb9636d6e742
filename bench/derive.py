"""Time symcalc's derivatives against SymPy's MatrixExpr.diff and tensorgrad, like with like.

    python bench/derive.py            # everything (several minutes)
    python bench/derive.py --quick    # fewer repeats, smaller depths

Two kinds of time, each for every tool: **warm**, the best of several calls in one process after a
first call (SymPy's cache and symcalc's memo tables cleared before each, so no call is free), and
**first**, the first call in a fresh interpreter (imports done, SymPy's assumption system not yet
loaded: what a user's first ``sc.diff`` costs). Every tool runs in a child process stopped after
``--limit`` seconds.

1. The tasks of issue 2: symcalc against SymPy, and whether SymPy's answer is right (checked
   numerically by the test oracle: "wrong" when it returns 0 or a wrong value, "fails" when it
   raises or returns an unevaluated derivative or array expression, "timeout" after the limit).
2. Depth: the gradient by W1 of the squared loss of an L-layer sigmoid MLP (L = 1 ... 128) and of a
   residual network a <- a + tanh(W a) (L = 1 ... 64; its tree has 2^L paths), against tensorgrad
   where it is installed (the ``bench`` extra): ``loss.grad(W1).simplify()``, its symbolic
   gradient, and its joint reverse sweep (``compiler.reverse.resolve_shared_gradients`` over the
   gradients of all weights, unsimplified: what its compiler starts from). The growth exponent of
   time against depth is fitted (least squares in log-log) from L = 8 up.
The size of a result is its number of distinct sub-expressions (a DAG size). Not a test: numbers
depend on the machine; compare the columns of one run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.setrecursionlimit(100_000)

import sympy as sp  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402

m, n, k = sp.symbols("m n k", integer=True, positive=True)
SIZES = {m: 4, n: 3, k: 2}


def M(name, rows, cols=1):
    return sp.MatrixSymbol(name, rows, cols)


def tasks():
    import symcalc.functions as F
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
    """Squared loss of an L-layer sigmoid MLP; the gradient is taken by W1."""
    import symcalc as sc
    x, y = M("x", n), M("y", k)
    Ws = [M(f"W{i}", k, n if i == 1 else k) for i in range(1, L + 1)]
    a = x
    for W in Ws:
        a = sc.sigmoid(W * a)
    return sc.norm2(a - y), Ws


def residual(L):
    """Squared loss of a residual network a <- a + tanh(W a) of depth L."""
    import symcalc as sc
    x, y = M("x", n), M("y", n)
    Ws = [M(f"W{i}", n, n) for i in range(1, L + 1)]
    a = x
    for W in Ws:
        a = a + sc.tanh(W * a)
    return sc.norm2(a - y), Ws


def tg_network(kind, L):
    """The same networks in tensorgrad (edges i, j of one size)."""
    import tensorgrad as tg
    import tensorgrad.functions as TF
    i = sp.Symbol("i")
    x, y = tg.Variable("x", i), tg.Variable("y", i)
    Ws = [tg.Variable(f"W{l}", i, j=i) for l in range(1, L + 1)]
    a = x
    for W in Ws:
        z = W @ a.rename(i="j")
        a = a + TF.tanh(z) if kind == "residual" else TF.sigmoid(z)
    return TF.frobenius2(a - y), Ws


def size(e):
    from symcalc import dag
    return dag.count(e)


# --------------------------------------------------------------------------- one measurement

def _job(spec):
    """(function to time, check of its result or None) for a measurement spec."""
    tool, what = spec["tool"], spec["what"]
    if what in ("mlp", "residual"):
        if tool == "symcalc":
            import symcalc as sc
            expr, Ws = (mlp if what == "mlp" else residual)(spec["L"])
            return (lambda: sc.diff(expr, Ws[0])), None
        expr, Ws = tg_network(what, spec["L"])
        if tool == "tensorgrad":
            return (lambda: expr.grad(Ws[0]).simplify()), None
        from tensorgrad.compiler.reverse import resolve_shared_gradients
        return (lambda: resolve_shared_gradients(tuple(expr.grad(W) for W in Ws))), None
    name, expr, wrt = tasks()[spec["task"]]
    if tool == "symcalc":
        from symcalc.diff import diff
        return (lambda: diff(expr, wrt)), (expr, wrt)
    return (lambda: expr.diff(wrt)), (expr, wrt)


def _clear():
    from symcalc import dag
    clear_cache()
    dag.clear()


def child(spec):
    """Run in a fresh interpreter: the first call's time, then the best warm call's."""
    f, check = _job(spec)
    t = time.perf_counter()
    out = f()
    first = time.perf_counter() - t
    warm = math.inf
    for _ in range(spec["repeats"]):
        _clear()
        t = time.perf_counter()
        out = f()
        warm = min(warm, time.perf_counter() - t)
    result = {"first": first, "warm": warm, "status": "ok"}
    if spec["tool"] == "symcalc" and spec["what"] in ("mlp", "residual"):
        result["size"] = size(out)
    if check is not None:
        from tests.diff import oracle
        expr, wrt = check
        if spec["tool"] == "sympy" and (out == 0 or getattr(out, "is_ZeroMatrix", False)):
            result["status"] = "wrong (0)"
        else:
            try:
                oracle.check(out, expr, wrt, layout="denominator", sizes=SIZES)
            except AssertionError:
                result["status"] = "wrong"
            except Exception:  # noqa: BLE001 - an array SymPy cannot reduce to a matrix
                result["status"] = "fails"
        if spec["tool"] == "symcalc" and result["status"] != "ok":
            raise AssertionError(f"symcalc is wrong on {spec}")
        result["size"] = size(out) if spec["tool"] == "symcalc" else None
    print("RESULT " + json.dumps(result), flush=True)


def measure(spec, limit):
    """The child's result, or {"status": "timeout" | "fails"}."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], env=env,
                              capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"status": "fails", "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}


def installed(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- tables

def ms(r, key):
    v = r.get(key)
    return f"{v * 1e3:9.1f}" if isinstance(v, float) else f"{r['status'][:9]:>9s}"


def ratio(a, b, key):
    if isinstance(a.get(key), float) and isinstance(b.get(key), float) and a.get("status") == "ok":
        return f"{a[key] / b[key]:7.1f}x"
    return "       -"


def exponent(rows, key, start=8):
    """Least-squares slope of log(time) against log(L), from L = start up."""
    pts = [(math.log(L), math.log(r[key])) for L, r in rows if L >= start and isinstance(r.get(key), float)]
    if len(pts) < 2:
        return float("nan")
    mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def task_table(repeats, limit):
    print(f"\n1. Tasks (times in ms; warm = best of {repeats} in one process, first = first call in a "
          "fresh one; ratio = SymPy / symcalc, like with like)")
    print(f"{'task':30s} {'sc warm':>9s} {'sp warm':>9s} {'ratio':>8s} {'sc first':>9s} "
          f"{'sp first':>9s} {'ratio':>8s} {'sympy is':10s} {'size':>5s}")
    for i, (name, _, _) in enumerate(tasks()):
        ours = measure({"what": "task", "task": i, "tool": "symcalc", "repeats": repeats}, limit)
        theirs = measure({"what": "task", "task": i, "tool": "sympy", "repeats": repeats}, limit)
        print(f"{name:30s} {ms(ours, 'warm')} {ms(theirs, 'warm')} {ratio(theirs, ours, 'warm')} "
              f"{ms(ours, 'first')} {ms(theirs, 'first')} {ratio(theirs, ours, 'first')} "
              f"{theirs['status'][:10]:10s} {ours.get('size') or 0:5d}", flush=True)


def depth_table(what, depths, repeats, limit):
    tg = installed("tensorgrad")
    print(f"\n2. {what}: gradient by W1 (ms; ratio = tensorgrad / symcalc, warm)")
    print(f"{'L':>4s} {'sc warm':>9s} {'sc first':>9s} {'size':>6s} {'tg warm':>9s} {'tg first':>9s} "
          f"{'ratio':>8s} {'sweep warm':>10s} {'ratio':>8s}")
    rows, dead, dead_sweep = [], False, False
    for L in depths:
        ours = measure({"what": what, "L": L, "tool": "symcalc", "repeats": repeats}, limit)
        theirs = sweep = {"status": "absent" if not tg else "skipped"}
        if tg and not dead:
            theirs = measure({"what": what, "L": L, "tool": "tensorgrad", "repeats": 1}, limit)
            dead = theirs["status"] != "ok"  # deeper is slower still
        if tg and not dead_sweep:
            sweep = measure({"what": what, "L": L, "tool": "tg-sweep", "repeats": repeats}, limit)
            dead_sweep = sweep["status"] != "ok"
        rows.append((L, ours))
        print(f"{L:4d} {ms(ours, 'warm')} {ms(ours, 'first')} {ours.get('size', 0):6d} {ms(theirs, 'warm')} "
              f"{ms(theirs, 'first')} {ratio(theirs, ours, 'warm')} {ms(sweep, 'warm'):>10s} "
              f"{ratio(sweep, ours, 'warm')}", flush=True)
    print(f"growth exponent from L = 8: symcalc warm {exponent(rows, 'warm'):.2f}, "
          f"first {exponent(rows, 'first'):.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller depths")
    ap.add_argument("--limit", type=int, default=120, help="seconds before a child is stopped")
    ap.add_argument("--only", choices=["tasks", "mlp", "residual"], help="one table")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    repeats = 1 if args.quick else 3
    print(f"sizes for the numeric checks: {SIZES}; Python {sys.version.split()[0]}, SymPy {sp.__version__}")
    if args.only in (None, "tasks"):
        task_table(repeats, args.limit)
    if args.only in (None, "mlp"):
        depth_table("mlp", [1, 2, 4, 8, 16] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128], repeats, args.limit)
    if args.only in (None, "residual"):
        depth_table("residual", [1, 4, 8, 16] if args.quick else [1, 2, 4, 8, 16, 32, 64], repeats,
                    args.limit)


if __name__ == "__main__":
    main()
