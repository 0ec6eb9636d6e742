"""A two-layer MLP, x → tanh(W1 x + b1) → W2 a1 + b2, squared error ½‖ŷ − y‖², via symcalc.nn.

Derived in both layouts (numerator: gradients are transposes, δ's are rows) and both batch forms
(samples as columns, Z = W X + b 1ᵀ as in CS229; samples as rows, Z = X Wᵀ + 1 bᵀ as in the NYU
notes). Every gradient of the generated NumPy backward pass is checked against central finite
differences of the loss, and against symcalc.diff of the whole loss. Exits 1 if a check fails.

    python examples/mlp_two_layer.py
"""
import sys

import numpy as np
import sympy as sp

import symcalc as sc
from symcalc import nn
from symcalc.printing import text

d, h, k = sp.symbols("d h k", integer=True, positive=True)
SIZES = {"d": 4, "h": 3, "k": 2, "n": 5}           # concrete sizes for the numeric checks

failures = []


def report(what, ok, detail=""):
    print(f"  [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


def network(batch):
    layers = [nn.Linear(d, h, name="1"), nn.Tanh(), nn.Linear(h, k, name="2")]
    return nn.Network(layers, loss=nn.SquaredError(), batch=batch)


def shape(sym):
    return tuple(int(sp.sympify(s).subs({sp.Symbol(key, integer=True, positive=True): v
                                         for key, v in SIZES.items()})) for s in sym.shape)


def finite_differences(loss, params, x, y, name, eps=1e-6):
    """∂L/∂params[name] entry by entry: the shape of the parameter (denominator layout)."""
    out = np.zeros_like(params[name])
    for idx in np.ndindex(*out.shape):
        plus = {**params, name: params[name].copy()}
        minus = {**params, name: params[name].copy()}
        plus[name][idx] += eps
        minus[name][idx] -= eps
        out[idx] = (loss(plus, x, y) - loss(minus, x, y)) / (2 * eps)
    return out


rng = np.random.default_rng(0)
first = True
for batch in ("columns", "rows"):
    for layout in ("denominator", "numerator"):
        bp = network(batch).backprop(layout=layout)
        print(f"== samples as {batch}, {layout} layout")
        if first:
            print(bp.derivation)
            print()
            first = False
        Z = "Z" if batch else "z"
        for j, delta in bp.deltas.items():
            print(f"  dL/d{Z}{j} = {text(delta)}   shape {delta.shape}")
        for p, grad in bp.gradients.items():
            print(f"  dL/d{p} = {text(grad)}   shape {grad.shape}")

        params = {p.name: 0.5 * rng.standard_normal(shape(p)) for p in bp.parameters}
        x = rng.standard_normal(shape(bp.x))
        y = rng.standard_normal(shape(bp.y))
        _, backward = bp.numpy()
        loss = bp.numpy_loss()
        grads = backward(params, x, y)
        worst = 0.0
        for name, g in grads.items():
            fd = finite_differences(loss, params, x, y, name)
            if layout == "numerator":
                fd = fd.T
            worst = max(worst, float(np.max(np.abs(g - fd))))
        report("generated backward pass vs finite differences", worst < 1e-6, f"max difference {worst:.1e}")

        # The same gradients from the engine, differentiating the whole loss at once.
        whole = [sc.diff(bp.loss_expr, p, layout=layout) for p in bp.parameters]
        engine = sc.lambdify(bp.parameters + [bp.x, bp.y], whole)
        values = [params[p.name] for p in bp.parameters] + [x, y]
        worst = max(float(np.max(np.abs(a - grads[p.name])))
                    for a, p in zip(engine(*values), bp.parameters))
        report("backprop agrees with symcalc.diff of the whole loss", worst < 1e-9, f"max difference {worst:.1e}")
        print()

sys.exit(1 if failures else 0)
