"""Layers of a feed-forward network: an affine map and elementwise or softmax activations.

A layer knows its forward expression and the one local derivative backpropagation needs: an
activation turns the upstream gradient G = ∂L/∂a into δ = ∂L/∂z (``backward``), and states its
local Jacobian ∂a/∂z for one sample (``jacobian``). Derivatives are written with the layer's own
output where a textbook does (σ' = a ⊙ (1 − a), tanh' = 1 − a², exp' = a), so the generated code
reuses the forward pass instead of recomputing it.
"""
from __future__ import annotations

from typing import Literal

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from .. import functions as F
from ..errors import ShapeError, UnsupportedError
from ..hints import Scalar
from ..simplify import add, hadamard, mul, transpose


def _size(value, what):
    value = sp.sympify(value)
    if value.is_Integer and value > 0:
        return value
    if isinstance(value, sp.Symbol) and value.is_integer and value.is_positive:
        return value
    if isinstance(value, sp.Expr) and not value.is_number and value.is_positive and value.is_integer:
        return value
    raise ShapeError(f"{what} must be a positive integer or a Symbol declared "
                     f"integer=True, positive=True; got {value!r}")


class Layer:
    """Base class: a step of the network."""

    kind = "layer"

    def __call__(self, x):
        """The layer applied to a value of a ``Model`` (symcalc.nn.modules); one module per layer,
        so a layer called twice shares its weights."""
        from .modules import as_module
        if not hasattr(self, "_module"):
            self._module = as_module(self)
        return self._module(x)

    def __repr__(self):
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------- affine layer

class Linear(Layer):
    """z = W a + b (one sample), with ``in_features`` inputs and ``out_features`` outputs.

    ``intercept=True`` folds the bias into column 0 of W, as the CMU notes write it: the input is
    augmented with a leading 1, W is out × (in + 1), and there is no separate b.
    ``bias=False`` drops the bias altogether (ŷ = αᵀu).
    """

    kind = "linear"

    def __init__(self, in_features: Scalar, out_features: Scalar, name: str | None = None,
                 bias: bool = True, intercept: bool = False) -> None:
        self.in_features = _size(in_features, "Linear in_features")
        self.out_features = _size(out_features, "Linear out_features")
        if name is not None and not (str(name).isascii() and f"W{name}".isidentifier()):
            raise ValueError(f"Linear name {name!r} must be ASCII letters, digits or _ "
                             f"(it names the MatrixSymbols W{name}, b{name}, z{name}, …)")
        self.name = None if name is None else str(name)
        self.intercept = bool(intercept)
        self.bias = bool(bias) and not self.intercept

    @property
    def weight_shape(self):
        cols = self.in_features + 1 if self.intercept else self.in_features
        return (self.out_features, cols)

    def __repr__(self):
        extra = ", intercept=True" if self.intercept else ("" if self.bias else ", bias=False")
        return f"Linear({self.in_features}, {self.out_features}{extra})"


# --------------------------------------------------------------------------- activations

class Activation(Layer):
    """An activation a = f(z), with its local derivative."""

    kind = "activation"
    #: the name users may pass as a string, and the name a derivation prints
    key = ""

    def apply(self, Z):
        raise NotImplementedError

    def forward(self, Z, samples):
        """The output for Z; ``samples`` is "columns" or "rows" (one sample is a column)."""
        return self.apply(Z)

    def slope(self, Z, A):
        """f'(Z) entry by entry, written with the output A where that is shorter."""
        raise NotImplementedError

    def backward(self, G, Z, A, samples):
        """δ = ∂L/∂Z from the upstream gradient G = ∂L/∂A: G ⊙ f'(Z) for an elementwise f."""
        return hadamard(G, self.slope(Z, A))

    def jacobian(self, z, a):
        """∂a/∂z of one sample: diag(f'(z)), the same matrix in both layouts."""
        return DiagMatrix(self.slope(z, a))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    key = "sigmoid"

    def apply(self, Z):
        return F.sigmoid(Z)

    def slope(self, Z, A):
        return hadamard(A, add(A.shape, sp.OneMatrix(*A.shape), -A))


class Tanh(Activation):
    key = "tanh"

    def apply(self, Z):
        return F.tanh(Z)

    def slope(self, Z, A):
        return add(A.shape, sp.OneMatrix(*A.shape), -sp.HadamardPower(A, 2))


class ReLU(Activation):
    """max(z, 0). ``at_zero`` is ReLU′(0): 0 (1[z > 0], the default) or 1 (CS229's 1{z ≥ 0})."""

    key = "relu"

    def __init__(self, at_zero: Literal[0, 1] | None = None) -> None:
        if at_zero not in (None, 0, 1):
            raise UnsupportedError(f"ReLU at_zero is ReLU'(0): 0 or 1, not {at_zero!r}")
        self.at_zero = at_zero

    def apply(self, Z):
        return F.relu(Z)

    def slope(self, Z, A):
        if self.at_zero == 1:
            return F.elementwise(sp.Heaviside(F.ELEMENT, 1), Z)
        return F.step(Z)

    def __repr__(self):
        return "ReLU()" if not self.at_zero else f"ReLU(at_zero={self.at_zero})"


class Threshold(Activation):
    """The hard threshold 1[z ≥ 0] (the perceptron's unit, NYU (2)): its slope is 0 almost
    everywhere, so backpropagation passes no gradient through it."""

    key = "threshold"

    def apply(self, Z):
        return F.threshold(Z)

    def slope(self, Z, A):
        return sp.ZeroMatrix(*Z.shape)

    def jacobian(self, z, a):
        return sp.ZeroMatrix(z.rows, z.rows)


class LeakyReLU(Activation):
    key = "leaky_relu"

    def __init__(self, alpha: Scalar = sp.Rational(1, 100)) -> None:
        self.alpha = sp.nsimplify(alpha) if isinstance(alpha, float) else sp.sympify(alpha)

    def apply(self, Z):
        return F.leaky_relu(Z, self.alpha)

    def slope(self, Z, A):
        return F.elementwise(self.alpha + (1 - self.alpha) * F.Step(F.ELEMENT), Z)

    def __repr__(self):
        return f"LeakyReLU({self.alpha})"


class Softplus(Activation):
    key = "softplus"

    def apply(self, Z):
        return F.softplus(Z)

    def slope(self, Z, A):
        return F.sigmoid(Z)


class Exp(Activation):
    key = "exp"

    def apply(self, Z):
        return F.exp(Z)

    def slope(self, Z, A):
        return A


class Identity(Activation):
    """a = z: an output layer with no activation (logits, regression)."""

    key = "identity"

    def apply(self, Z):
        return Z

    def slope(self, Z, A):
        return sp.OneMatrix(*Z.shape)

    def backward(self, G, Z, A, samples):
        return G

    def jacobian(self, z, a):
        return sp.Identity(z.rows)


class Softmax(Activation):
    """Softmax over the classes of each sample (a column, or a row when samples are rows).

    Its Jacobian diag(s) − s sᵀ is symmetric, so δ = s ⊙ g − s (sᵀ g) in both layouts.
    """

    key = "softmax"

    def apply(self, Z):
        return F.softmax(Z)

    def forward(self, Z, samples):
        return F.softmax(Z, axis=1 if samples == "rows" else 0)

    def slope(self, Z, A):
        raise UnsupportedError("softmax is not elementwise: its slope is the matrix diag(s) − s sᵀ")

    def backward(self, G, Z, A, samples):
        SG = hadamard(A, G)
        if samples == "rows":       # each row: s ⊙ g − s (sᵀg)
            k = A.cols
            return add(A.shape, SG, -hadamard(A, mul(SG, sp.OneMatrix(k, k))))
        k = A.rows
        return add(A.shape, SG, -hadamard(A, mul(sp.OneMatrix(k, k), SG)))

    def jacobian(self, z, a):
        return add((a.rows, a.rows), DiagMatrix(a), -mul(a, transpose(a)))


ACTIVATIONS = {cls.key: cls for cls in (Sigmoid, Tanh, ReLU, Threshold, LeakyReLU, Softplus, Exp, Identity,
                                         Softmax)}


def as_layer(layer):
    """A Layer from a Layer instance, an activation class, or an activation name ("relu")."""
    if isinstance(layer, Layer):
        return layer
    if isinstance(layer, type) and issubclass(layer, Activation):
        return layer()
    if isinstance(layer, str) and layer.lower() in ACTIVATIONS:
        return ACTIVATIONS[layer.lower()]()
    raise UnsupportedError(
        f"unknown layer {layer!r}; supported: Linear and the activations "
        + ", ".join(sorted(ACTIVATIONS)) + " (as nn.ReLU() or the string 'relu')")
