"""A feed-forward network as lecture notes write it, and its backpropagation.

The network is a list of stages k = 1 … L, each an affine map z[k] = W[k] a[k−1] + b[k] followed by
one activation a[k] = f(z[k]) (``Identity`` when none is given). Intermediates are let-bindings:
z1, a1, δ1 … are MatrixSymbols bound to short expressions in the earlier ones, as a textbook
writes them; ``Backprop.expand`` substitutes them away to give the expression in the parameters and
the data alone (what ``symcalc.diff`` of the whole loss is compared with).

Three forms, chosen by ``batch``:

* ``None``: one sample, column vectors: z = W a + b.
* ``"columns"``: samples are the n columns of X (CS229 §4): Z = W A + b 1ᵀ, ∂L/∂W = Δ Aᵀ, ∂L/∂b = Δ 1.
* ``"rows"``: samples are the n rows of X (NYU eq. 10): Z = A Wᵀ + 1 bᵀ, ∂L/∂W = Δᵀ A, ∂L/∂b = Δᵀ 1.

The backward pass is the δ recursion δ[k] = (W[k+1]ᵀ δ[k+1]) ⊙ f'(z[k]), with δ[L] given by the loss
(fused to ŷ − y where sigmoid meets binary cross-entropy or softmax meets cross-entropy), and
∂L/∂W[k] = δ[k] a[k−1]ᵀ, ∂L/∂b[k] = δ[k]. In numerator layout every gradient and δ is transposed.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from typing import TYPE_CHECKING, Literal, Sequence

from .. import limits
from ..assumptions import Assumptions
from ..errors import LayoutError, ShapeError, UnsupportedError
from ..hints import Layout, Scalar
from ..functions import OneHot
from ..simplify import add, mul, transpose
from . import layers as nl
from . import losses as nlo

if TYPE_CHECKING:
    from .backprop import Backprop
    from .conventions import Convention

BATCH_FORMS = (None, "rows", "columns")
LAYOUTS = ("denominator", "numerator")


@dataclass
class Stage:
    """Stage k: a Linear layer and the activation after it, with the symbols they bind."""

    k: int
    linear: nl.Linear
    activation: nl.Activation
    positions: tuple          # positions of the two layers in the user's list (1-based)
    W: sp.MatrixSymbol = None
    b: sp.MatrixSymbol = None
    z: sp.MatrixSymbol = None
    a: sp.MatrixSymbol = None
    delta: sp.MatrixSymbol = None
    augmented: sp.MatrixSymbol = None   # [1; a[k−1]] for an intercept layer
    input: sp.MatrixSymbol = None       # a[k−1] (x for k = 1)

    def describe(self):
        return f"layer {self.positions[0]} ({self.linear!r})"


def augment(A, samples, batch):
    """[1; a] (a leading 1 in every sample): the input of a layer with an intercept."""
    if batch == "rows":
        return sp.BlockMatrix([[sp.OneMatrix(samples, 1), A]])
    return sp.BlockMatrix([[sp.OneMatrix(1, samples)], [A]])


def augment_products(A, n_in, samples, batch):
    """[1; a] as plain products e 1ᵀ + S a, e = [1, 0, …]ᵀ, S = [0; I] (integer sizes only): the
    same value for engines and checks that take no block matrices."""
    m = int(n_in)
    e = sp.ImmutableMatrix([[1]] + [[0]] * m)
    S = sp.ImmutableMatrix(m + 1, m, lambda i, j: 1 if i == j + 1 else 0)
    if batch == "rows":
        return add((samples, m + 1), mul(sp.OneMatrix(samples, 1), e.T), mul(A, S.T))
    return add((m + 1, samples), mul(e, sp.OneMatrix(1, samples)), mul(S, A))


def without_intercept(W, weights="out_in"):
    """W without its intercepts (column 0, or row 0 when W is in × out): what acts on a[k−1]."""
    return W[:, 1:] if weights == "out_in" else W[1:, :]


class Network:
    """A feed-forward network: layers, a loss, and the form of its data.

    ``layers`` holds ``Linear`` layers each followed by at most one activation (instances, classes
    or names such as "relu"); ``loss`` a Loss (or its name); ``batch`` None (one sample), "columns"
    or "rows"; ``samples`` the batch size (a Symbol ``n`` unless given).
    """

    def __init__(self, layers: Sequence[nl.Layer | type | str], loss: nlo.Loss | type | str,
                 batch: Literal["rows", "columns"] | None = None, samples: Scalar | None = None,
                 convention: Convention | str | None = None,
                 weights: Literal["out_in", "in_out"] | None = None) -> None:
        from .conventions import as_convention
        self.convention = as_convention(convention)
        if batch is None and samples is None:
            batch = self.convention.batch  # type: ignore[assignment]
        if batch not in BATCH_FORMS:
            raise UnsupportedError(f"batch is None (one sample), 'columns' or 'rows', not {batch!r}")
        self.convention = self.convention.with_(weights=weights)
        if weights is not None:  # asked for: it holds in every batch form
            self.convention = self.convention.with_(batch_weights=weights)
        #: "out_in" (z = W a + b) or "in_out" (z = Wᵀ a + b; samples as rows: Z = A W + 1 bᵀ)
        self.weights = self.convention.orientation(batch)
        self.layers = [self._conventional(nl.as_layer(layer)) for layer in layers]
        self.loss = nlo.as_loss(loss, self.convention)
        self.batch = batch
        if batch is None:
            if samples is not None:
                raise UnsupportedError(
                    f"samples={samples} is a batch size, but batch is None (one sample): "
                    "pass batch='columns' or batch='rows' with it")
            self.samples = sp.S.One
        else:
            self.samples = (sp.Symbol("n", integer=True, positive=True) if samples is None
                            else nl._size(samples, "samples"))
        self.stages = self._group()
        self._check_sizes()
        self.loss.check(self.stages[-1].activation)
        last = self.stages[-1]
        if isinstance(last.activation, nl.Softmax) and last.linear.out_features == 1:
            raise UnsupportedError(
                f"{last.describe()} has one output, and a softmax over one unit is the constant 1 "
                "(nothing to learn); give the last Linear layer one output per class, or for two "
                "classes end with nn.Linear(..., 1), nn.Sigmoid() and nn.BinaryCrossEntropy()")
        self._bind_symbols()

    def _conventional(self, layer):
        """A ReLU given by name or class takes the convention's ReLU′(0)."""
        if type(layer) is nl.ReLU and layer.at_zero is None:
            return nl.ReLU(at_zero=self.convention.relu_at_zero)
        return layer

    @property
    def notation(self):
        """The LaTeX names of this network's symbols in its convention (W^{[1]}, J, …)."""
        return self.convention.notation(self)

    # ------------------------------------------------------------------ structure

    def _group(self):
        stages = []
        for pos, layer in enumerate(self.layers, start=1):
            if isinstance(layer, nl.Linear):
                stages.append(Stage(len(stages) + 1, layer, None, (pos, pos)))
                continue
            if not stages:
                raise UnsupportedError(
                    f"layer {pos} ({layer!r}) comes before any Linear layer; a network starts "
                    "with nn.Linear(in, out)")
            if stages[-1].activation is not None:
                raise UnsupportedError(
                    f"layer {pos} ({layer!r}) follows another activation (layer "
                    f"{stages[-1].positions[1]}); put a Linear layer between two activations")
            stages[-1].activation = layer
            stages[-1].positions = (stages[-1].positions[0], pos)
        if not stages:
            raise UnsupportedError("a network needs at least one nn.Linear layer")
        for s in stages:
            if s.activation is None:
                s.activation = nl.Identity()
        return stages

    def _check_sizes(self):
        for prev, cur in zip(self.stages, self.stages[1:]):
            out, inp = prev.linear.out_features, cur.linear.in_features
            if sp.simplify(out - inp) != 0:
                last = prev.positions[1]
                after = "" if last == prev.positions[0] else f", after {prev.describe()}"
                raise ShapeError(
                    f"{cur.describe()} takes {inp} inputs, but layer {last} "
                    f"({self.layers[last - 1]!r}{after}) gives {out} outputs")
        names = [s.linear.name or str(s.k) for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"two Linear layers share a name: {names}")

    # ------------------------------------------------------------------ symbols

    def shape(self, size):
        """The shape of a layer's values of width ``size`` in this network's form."""
        if self.batch is None:
            return (size, sp.S.One)
        if self.batch == "columns":
            return (size, self.samples)
        return (self.samples, size)

    def _bind_symbols(self):
        upper = self.batch is not None
        name = (lambda s: s.upper()) if upper else (lambda s: s)
        first, last = self.stages[0], self.stages[-1]
        self.x = sp.MatrixSymbol(name("x"), *self.shape(first.linear.in_features))
        shape = self.shape(last.linear.out_features)
        if isinstance(self.loss, nlo.CrossEntropy):  # δ = a − y needs each sample's target one-hot
            self.y = OneHot(name("y"), *shape, axis=1 if self.batch == "rows" else 0)
        else:
            self.y = sp.MatrixSymbol(name("y"), *shape)
        prev = self.x
        for s in self.stages:
            label = s.linear.name or str(s.k)
            if not label.isdigit():  # W_H, z_alpha: a named layer's label is a subscript
                label = "_" + label
            shape = s.linear.weight_shape
            s.W = sp.MatrixSymbol(f"W{label}", *(shape if self.weights == "out_in" else shape[::-1]))
            if s.linear.bias:
                s.b = sp.MatrixSymbol(f"b{label}", s.linear.out_features, 1)
            shape = self.shape(s.linear.out_features)
            s.z = sp.MatrixSymbol(name("z") + label, *shape)
            s.a = s.z if isinstance(s.activation, nl.Identity) else \
                sp.MatrixSymbol(name("a") + label, *shape)
            s.delta = sp.MatrixSymbol(("Delta" if upper else "delta") + label, *shape)
            if s.linear.intercept:
                base = prev.name.rstrip("0123456789").split("_")[0]  # a1 → atilde1, a_H → atilde_H
                s.augmented = sp.MatrixSymbol(f"{base}tilde{prev.name[len(base):]}",
                                              *self.shape(s.linear.in_features + 1))
            s.input = prev
            prev = s.a
        self.output = prev
        self.L = sp.MatrixSymbol("L", 1, 1)

    @property
    def parameters(self):
        """[W1, b1, W2, …] in layer order."""
        out = []
        for s in self.stages:
            out += [s.W] + ([s.b] if s.b is not None else [])
        return out

    # ------------------------------------------------------------------ forward

    def forward_bindings(self):
        """[(symbol, expression)] of the forward pass, in order, ending with the loss L."""
        out = []
        n = self.samples
        for s in self.stages:
            inp = s.input
            if s.augmented is not None:
                aug = augment(inp, n, self.batch)
                out.append((s.augmented, aug))
                inp = s.augmented
            in_out = self.weights == "in_out"
            if self.batch == "rows":
                terms = [mul(inp, s.W if in_out else transpose(s.W))]
                if s.b is not None:
                    terms.append(mul(sp.OneMatrix(n, 1), transpose(s.b)))
            else:
                terms = [mul(transpose(s.W) if in_out else s.W, inp)]
                if s.b is not None:
                    terms.append(s.b if self.batch is None else mul(s.b, sp.OneMatrix(1, n)))
            out.append((s.z, add(s.z.shape, *terms)))
            if s.a is not s.z:
                out.append((s.a, s.activation.forward(s.z, self.batch or "columns")))
        out.append((self.L, self.loss.value(self.output, self.y, self.samples)))
        return out

    @limits.deep
    def backprop(self, layout: Layout = "denominator", assumptions: Assumptions = None) -> Backprop:
        """Derive the gradients of the loss by the δ recursion, in ``layout``.

        ``assumptions``: SymPy ``Q`` predicates about the network's symbols, as for ``diff`` (and
        those of ``sp.assuming``): a square weight declared symmetric, ``Q.symmetric(W2)``, is
        written W2 for W2ᵀ, its values are checked in the generated code and drawn symmetric by
        ``derivation.check()``.
        """
        from .backprop import Backprop
        if layout not in LAYOUTS:
            raise LayoutError(f"layout is 'denominator' or 'numerator', not {layout!r}")
        return Backprop(self, layout, assumptions)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        extra = "" if self.convention.name == "default" else f", convention={self.convention.name!r}"
        extra += "" if self.weights == "out_in" else ", weights='in_out'"
        return f"Network([{inner}], loss={self.loss!r}, batch={self.batch!r}{extra})"
