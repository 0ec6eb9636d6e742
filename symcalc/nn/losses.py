"""Losses of a network's output Ŷ against targets Y, with ∂L/∂Ŷ and the fused output δ.

Each loss gives its value (a 1 × 1 matrix expression built from ``symcalc.functions``), its
gradient with respect to the prediction, and δ = ∂L/∂Z at the output given the last activation.
Where the pair simplifies, δ is written simplified: sigmoid + binary cross-entropy and softmax +
cross-entropy (one-hot targets) both give Ŷ − Y, the logistic loss on logits σ(Z) − Y.
A loss that does not fit the output activation is refused when the network is built.
"""
from __future__ import annotations

import sympy as sp

from .. import functions as F
from ..errors import UnsupportedError
from ..hints import Reduction, Scalar
from ..simplify import add, hadamard, mul
from . import layers as nl


def _scale(text):
    """A squared error's scale written in a loss name: 1, 1/2, 0.5."""
    from fractions import Fraction
    try:
        q = Fraction(text.strip())
    except ValueError:
        raise UnsupportedError(f"squared_error({text}): the scale is a number such as 1, 1/2 or 0.5") from None
    return sp.Rational(q.numerator, q.denominator)


def _number(value):
    return sp.nsimplify(value) if isinstance(value, float) else sp.sympify(value)


class Loss:
    """Base class. ``reduction`` is "sum" over samples (the default) or "mean"."""

    key = ""
    #: the output activations this loss accepts (None: any)
    requires: type | None = None
    needs = ""

    def __init__(self, reduction: Reduction = "sum") -> None:
        if reduction not in ("sum", "mean"):
            raise UnsupportedError(f"{type(self).__name__}: reduction is 'sum' or 'mean', not {reduction!r}")
        self.reduction = reduction

    def _per(self, count):
        return sp.S.One / count if self.reduction == "mean" else sp.S.One

    def check(self, activation):
        if self.requires is not None and not isinstance(activation, self.requires):
            raise UnsupportedError(
                f"{type(self).__name__} needs {self.needs}, but the network ends with "
                f"{activation!r}; {self.advice}")

    advice = ""

    def value(self, Yhat, Y, count):
        raise NotImplementedError

    def gradient(self, Yhat, Y, count):
        """∂L/∂Ŷ, the shape of Ŷ."""
        raise NotImplementedError

    def delta(self, activation, Z, A, Y, count, samples):
        """δ = ∂L/∂Z at the output: the activation's backward of ∂L/∂Ŷ unless the pair fuses."""
        return activation.backward(self.gradient(A, Y, count), Z, A, samples)

    def __repr__(self):
        return f"{type(self).__name__}()"


class SquaredError(Loss):
    """scale · ‖Ŷ − Y‖² (summed over samples); scale ½ gives the textbook δ = ŷ − y."""

    key = "squared_error"

    def __init__(self, scale: Scalar = sp.S.Half, reduction: Reduction = "sum") -> None:
        super().__init__(reduction)
        self.scale = _number(scale)

    def value(self, Yhat, Y, count):
        r = add(Yhat.shape, Yhat, -Y)
        norm = F.norm2(r) if r.cols == 1 or r.rows == 1 else F.frobenius2(r)
        return mul(self.scale * self._per(count), norm)

    def gradient(self, Yhat, Y, count):
        return mul(2 * self.scale * self._per(count), add(Yhat.shape, Yhat, -Y))

    def __repr__(self):
        return f"SquaredError(scale={self.scale})"


class MeanSquaredError(Loss):
    """The mean of (ŷ − y)² over all entries (samples and outputs)."""

    key = "mse"

    def __init__(self):
        super().__init__("mean")

    def value(self, Yhat, Y, count):
        return F.mse(Yhat, Y)

    def gradient(self, Yhat, Y, count):
        return mul(sp.Integer(2) / (Yhat.rows * Yhat.cols), add(Yhat.shape, Yhat, -Y))


class BinaryCrossEntropy(Loss):
    """−Σ [y log p + (1 − y) log(1 − p)] on probabilities p = σ(z)."""

    key = "bce"
    requires = nl.Sigmoid
    needs = "probabilities from a Sigmoid output"
    advice = "end the network with nn.Sigmoid(), or use nn.LogisticLoss() on logits"

    def value(self, Yhat, Y, count):
        return mul(self._per(count), F.bce(Yhat, Y))

    def gradient(self, Yhat, Y, count):
        one = sp.OneMatrix(*Yhat.shape)
        num = add(Yhat.shape, Yhat, -Y)
        den = hadamard(Yhat, add(Yhat.shape, one, -Yhat))
        return mul(self._per(count), hadamard(num, sp.HadamardPower(den, -1)))

    def delta(self, activation, Z, A, Y, count, samples):
        return mul(self._per(count), add(A.shape, A, -Y))


class LogisticLoss(Loss):
    """Σ [log(1 + e^z) − y z] on logits z (binary cross-entropy of σ(z), computed stably)."""

    key = "logistic"
    requires = nl.Identity
    needs = "logits (a Linear output with no activation)"
    advice = "drop the final activation, or use nn.BinaryCrossEntropy() after nn.Sigmoid()"

    def value(self, Yhat, Y, count):
        body = add(Yhat.shape, F.softplus(Yhat), -hadamard(Y, Yhat))
        return mul(self._per(count), F.sum(body))

    def gradient(self, Yhat, Y, count):
        return mul(self._per(count), add(Yhat.shape, F.sigmoid(Yhat), -Y))


class CrossEntropy(Loss):
    """−Σ y ⊙ log p on softmax probabilities p, with one-hot targets y."""

    key = "cross_entropy"
    requires = nl.Softmax
    needs = "probabilities from a Softmax output"
    advice = ("end the network with nn.Softmax(); for two classes use nn.BinaryCrossEntropy() "
              "after nn.Sigmoid()")

    def value(self, Yhat, Y, count):
        return mul(self._per(count), F.cross_entropy(Yhat, Y))

    def gradient(self, Yhat, Y, count):
        return mul(-self._per(count), hadamard(Y, sp.HadamardPower(Yhat, -1)))

    def delta(self, activation, Z, A, Y, count, samples):
        # softmax Jacobian times −y ⊘ p is p (1ᵀy) − y = p − y for one-hot y
        return mul(self._per(count), add(A.shape, A, -Y))


class LogLikelihood(Loss):
    """J = Σ [y log p + (1 − y) log(1 − p)] on probabilities p = σ(z), an objective to maximise
    (CMU lecture 13): δ = ∂J/∂z = y − p, and a gradient step goes up, θ ← θ + η ∂J/∂θ."""

    key = "log_likelihood"
    requires = nl.Sigmoid
    needs = "probabilities from a Sigmoid output"
    advice = "end the network with nn.Sigmoid()"
    maximise = True

    def value(self, Yhat, Y, count):
        return mul(-self._per(count), F.bce(Yhat, Y))

    def gradient(self, Yhat, Y, count):
        one = sp.OneMatrix(*Yhat.shape)
        num = add(Yhat.shape, Y, -Yhat)
        den = hadamard(Yhat, add(Yhat.shape, one, -Yhat))
        return mul(self._per(count), hadamard(num, sp.HadamardPower(den, -1)))

    def delta(self, activation, Z, A, Y, count, samples):
        return mul(self._per(count), add(A.shape, Y, -A))


LOSSES = {cls.key: cls for cls in (SquaredError, MeanSquaredError, BinaryCrossEntropy,
                                   LogisticLoss, CrossEntropy, LogLikelihood)}


def as_loss(loss, convention=None):
    """A Loss from an instance, a class, or a name ("bce", "squared_error(1)" for a scale).
    A squared error given by name takes the convention's scale."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if isinstance(loss, str):
        name, _, arg = loss.strip().lower().partition("(")
        if arg and name == "squared_error" and arg.endswith(")"):
            return SquaredError(scale=_scale(arg[:-1]))
        if name == "squared_error" and not arg and convention is not None:
            return SquaredError(scale=convention.squared_error)
        if not arg and name in LOSSES:
            return LOSSES[name]()
    raise UnsupportedError(f"unknown loss {loss!r}; supported: " + ", ".join(
        f"nn.{cls.__name__} ('{key}')" for key, cls in LOSSES.items()))
