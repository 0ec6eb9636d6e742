"""One-dimensional convolution in matrix form: Y = Σⱼ Sⱼ X Wⱼ.

A convolution with a kernel of k taps is a sum of k products. Tap j reads the input row
s·(i − 1) + j − p for output row i (stride s, zero padding p; rows counted from 1), so
Y = Σⱼ Sⱼ X Wⱼ with Sⱼ the constant 0/1 *shift* matrix that selects those rows (a zero row
where the padding is read). With one channel and a scalar per tap, y = Σⱼ wⱼ Sⱼ x = Q x with Q
the banded (Toeplitz) matrix Σⱼ wⱼ Sⱼ: the CS229 notes' (Conv1D-S(z))ᵢ = Σⱼ wⱼ z_{i−ℓ+j−1}.

Nothing else is new to the engine: the sum and product rules give the backward pass as the notes
write it, ∂L/∂Wⱼ = (Sⱼ X)ᵀ G (the correlation of the input with the upstream gradient) and
∂L/∂X = Σⱼ Sⱼᵀ G Wⱼᵀ (the full convolution with the flipped kernel). The generated code reads
Sⱼ X as a strided slice of the padded X and Sⱼᵀ G as a strided scatter, never a T x T matrix.
"""
from __future__ import annotations

from typing import Sequence, Union

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

from . import limits
from .dag import node
from .errors import ShapeError, UnsupportedError
from .functions import as_expression, is_matrix
from .hints import Expr, Scalar

__all__ = ["Shift", "conv1d"]


def _integer(value, what, low=0):
    """A concrete integer ≥ low (a Python int or a SymPy Integer); else a typed error."""
    v = sp.sympify(value) if not isinstance(value, bool) else value
    if isinstance(v, bool) or not isinstance(v, sp.Integer) or int(v) < low:
        raise ShapeError(f"conv1d: {what} must be a concrete integer ≥ {low}, got {value!r}")
    return int(v)


def _label(name):
    """A convolution's name as a SymPy argument; plain letters, digits and underscores (it is printed)."""
    text = str(name)
    if not text.replace("_", "").isalnum() or not text.isascii():
        raise ShapeError(f"conv1d: a name is letters, digits and underscores (it is printed as S^(name)), "
                         f"got {name!r}")
    return Str(text)


class Shift(MatrixExpr):
    """Sⱼ: the T_out x T matrix of tap j of a convolution over T rows with k taps, stride s and
    zero padding p, (Sⱼ)ᵢₜ = 1 when t = s·(i − 1) + j − p (rows and taps counted from 1), else 0.

    ``Shift(T, k, j, s, p, name=None)``; T may be symbolic, the rest are integers. Its T_out rows are
    ⌊(T + 2p − k)/s⌋ + 1, the output length of the convolution. A constant: it has no rule of its own
    beyond that (the products around it carry the derivatives)."""

    def __new__(cls, length: Scalar, kernel: int, tap: int, stride: int = 1, padding: int = 0,
                name: str | None = None) -> Shift:
        length = sp.sympify(length)
        if not (length.is_integer and length.is_positive) and not length.is_Integer:
            raise ShapeError(f"the length of a shift matrix is a positive integer size, got {length}")
        k = _integer(kernel, "the kernel size", 1)
        j = _integer(tap, "the tap", 1)
        if j > k:
            raise ShapeError(f"conv1d: tap {j} of a kernel of {k} taps")
        s = _integer(stride, "the stride", 1)
        p = _integer(padding, "the padding", 0)
        if length.is_Integer and int(length) + 2 * p < k:
            raise ShapeError(f"conv1d: a kernel of {k} taps is longer than the {int(length)} rows "
                             f"padded by {p} on each side")
        label = () if name is None or name == "" else (_label(name),)
        return MatrixExpr.__new__(cls, length, *(sp.Integer(v) for v in (k, j, s, p)), *label)

    @property
    def length(self):
        return self.args[0]

    @property
    def kernel(self) -> int:
        return int(self.args[1])

    @property
    def tap(self) -> int:
        return int(self.args[2])

    @property
    def stride(self) -> int:
        return int(self.args[3])

    @property
    def padding(self) -> int:
        return int(self.args[4])

    @property
    def name(self) -> str:
        """The convolution's name ("" if none): S⁽ⁿᵃᵐᵉ⁾ⱼ, to tell apart the shift matrices of
        convolutions of different lengths, strides or paddings in one model."""
        return self.args[5].name if len(self.args) > 5 else ""

    @property
    def offset(self) -> int:
        """t − s·i for the selected entries, rows counted from 0: (Sⱼ)ᵢₜ = 1 when t = s·i + offset."""
        return self.tap - 1 - self.padding

    @property
    def shape(self):
        return (output_length(self.length, self.kernel, self.stride, self.padding), self.length)

    def _entry(self, i, j, **kwargs):
        return sp.KroneckerDelta(j, self.stride * i + self.offset)

    def _eval_transpose(self):
        return None


def output_length(length, kernel, stride=1, padding=0):
    """⌊(T + 2p − k)/s⌋ + 1 = ⌈(T + 2p − k + 1)/s⌉, the rows of a convolution of T rows (T may be
    symbolic), written as the ceiling: ⌈T/2⌉ for 'same' padding at stride 2."""
    span = sp.sympify(length) + 2 * padding - kernel + 1
    return span if stride == 1 else sp.ceiling(span / stride)


def _taps(W):
    """The k taps of a kernel: a list of k matrices (or scalars), or the entries of a k-vector."""
    if isinstance(W, (list, tuple)):
        taps = [as_expression(w, "a tap of conv1d's kernel") for w in W]
    else:
        W = as_expression(W, "conv1d's kernel")
        if not is_matrix(W) or 1 not in W.shape:
            raise ShapeError(
                f"conv1d's kernel is a list of k matrices W_1, ..., W_k (C_in x C_out each), a list of "
                f"k scalars, or a k-vector of scalars; got {W}"
                + (f" of shape {W.shape[0]} x {W.shape[1]}" if is_matrix(W) else ""))
        k = W.shape[0] * W.shape[1]
        if not sp.sympify(k).is_Integer:
            raise UnsupportedError(f"conv1d writes out the taps of its kernel, so the kernel size must be a "
                                   f"concrete integer; {W} has {k} entries")
        taps = [W[j, 0] if W.shape[1] == 1 else W[0, j] for j in range(int(k))]
    if not taps:
        raise ShapeError("conv1d's kernel has no taps")
    if len(taps) > limits.MAX_SUM_TERMS:  # one product per tap, written out
        limits.refuse(f"a convolution kernel of {len(taps)} taps", "MAX_SUM_TERMS", limits.MAX_SUM_TERMS)
    kinds = {is_matrix(w) for w in taps}
    if len(kinds) > 1:
        raise ShapeError(f"conv1d's taps are all matrices (C_in x C_out) or all scalars; got {taps}")
    return taps


def conv1d(X: Expr, W: Union[Expr, Sequence[Expr]], stride: int = 1,
           padding: Union[int, str] = "same", name: Union[str, None] = None) -> MatrixExpr:
    """The one-dimensional convolution (as deep learning computes it: a correlation) of the rows of
    X, Y = Σⱼ Sⱼ X Wⱼ, positions as rows and channels as columns.

    ``X`` is T x C_in (T may be symbolic); ``W`` the kernel: a list of k matrices W_1, ..., W_k,
    each C_in x C_out (output channel c is Σ over input channels of single-channel convolutions),
    or, for one channel, k scalars or a k-vector w (y = Σⱼ wⱼ Sⱼ x = Q x). ``stride`` s ≥ 1;
    ``padding`` p zero rows on each side: an integer, ``"same"`` (ℓ = (k − 1)/2 for odd k; the
    output has T rows at stride 1) or ``"valid"`` (0). Y has ⌊(T + 2p − k)/s⌋ + 1 rows.
    ``name`` labels the shift matrices, S⁽ⁿᵃᵐᵉ⁾ⱼ: give one to each convolution of a model that has
    several of different lengths, strides or paddings (their Sⱼ differ).
    """
    X = as_expression(X, "conv1d's input")
    if not is_matrix(X):
        raise ShapeError(f"conv1d's input is a T x C_in matrix (positions as rows), got the scalar {X}")
    taps = _taps(W)
    k = len(taps)
    if is_matrix(taps[0]):
        for j, w in enumerate(taps, start=1):
            if w.shape[0] != X.shape[1] or w.shape != taps[0].shape:
                raise ShapeError(
                    f"conv1d: tap {j} of the kernel, {w}, is {w.shape[0]} x {w.shape[1]}; every tap is "
                    f"C_in x C_out with C_in = {X.shape[1]}, the columns of the input {X}"
                    + (f" (tap 1 is {taps[0].shape[0]} x {taps[0].shape[1]})" if j > 1 else ""))
    if padding == "same":
        if k % 2 == 0:
            raise ShapeError(f"conv1d: padding='same' pads (k - 1)/2 rows on each side, which needs an odd "
                             f"kernel size; the kernel has {k} taps: give padding as an integer")
        padding = (k - 1) // 2
    elif padding == "valid":
        padding = 0
    elif isinstance(padding, str):
        raise ShapeError(f"conv1d: padding is an integer, 'same' or 'valid', not {padding!r}")
    p, s = _integer(padding, "the padding", 0), _integer(stride, "the stride", 1)
    T = X.shape[0]
    if is_matrix(taps[0]):
        terms = [node(sp.MatMul, Shift(T, k, j, s, p, name), X, w) for j, w in enumerate(taps, start=1)]
    else:
        terms = [node(sp.MatMul, *([w] if w != 1 else []), Shift(T, k, j, s, p, name), X)
                 for j, w in enumerate(taps, start=1) if w != 0]
        if not terms:
            return sp.ZeroMatrix(output_length(T, k, s, p), X.shape[1])
    return terms[0] if len(terms) == 1 else node(sp.MatAdd, *terms)
