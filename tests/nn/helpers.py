"""Shared checks: NumPy functions of expressions (symcalc.numeric.lambdify), central finite differences."""
import numpy as np
import sympy as sp

from symcalc.numeric.lambdify import lambdify


def compile_exprs(exprs, args, name="f"):
    return lambdify(args, exprs, name)


def shape_of(sym, sizes=None):
    return tuple(int(sp.sympify(s).xreplace(sizes or {})) for s in sym.shape)


def draw(bp, rng, sizes=None, scale=0.7):
    """Random parameters and data for a Backprop; targets fit the loss (0/1, one-hot)."""
    from symcalc import nn
    vals = {p: scale * rng.normal(size=shape_of(p, sizes)) for p in bp.parameters}
    vals[bp.x] = rng.normal(size=shape_of(bp.x, sizes))
    ys = shape_of(bp.y, sizes)
    loss = bp.network.loss
    if isinstance(loss, nn.CrossEntropy):
        axis = 1 if bp.network.batch == "rows" else 0
        k = ys[axis]
        hot = rng.integers(k, size=ys[1 - axis])
        Y = np.eye(k)[hot]
        vals[bp.y] = Y if axis == 1 else Y.T
    elif isinstance(loss, (nn.BinaryCrossEntropy, nn.LogisticLoss)):
        vals[bp.y] = (rng.random(ys) < 0.5).astype(float)
    else:
        vals[bp.y] = rng.normal(size=ys)
    return vals


def central_differences(f, values, i, h=1e-6):
    """∂f/∂values[i] entry by entry (denominator layout: the shape of values[i])."""
    base = [np.array(v, dtype=float) for v in values]
    out = np.zeros_like(base[i])
    for idx in np.ndindex(*base[i].shape):
        plus = [v.copy() for v in base]
        minus = [v.copy() for v in base]
        plus[i][idx] += h
        minus[i][idx] -= h
        out[idx] = (float(np.sum(f(*plus))) - float(np.sum(f(*minus)))) / (2 * h)
    return out
