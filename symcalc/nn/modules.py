r"""Networks as graphs of modules: residual blocks, layer normalisation, self-attention, embeddings.

A ``Model`` records a forward pass as let-bindings, the way the newer lecture notes write a network
built from modules (CS229's MM, σ, Res, LN; a transformer block)::

    model = nn.Model(batch="rows", samples=T)          # tokens (samples) are the rows
    X = model.input("X", d)
    H = X + nn.SelfAttention(d, d_k, causal=True)(nn.LayerNorm(d)(X))   # a skip connection
    H = H + nn.MLP(d, 4 * d)(nn.LayerNorm(d)(H))
    model.output(nn.Linear(d, V)(H), loss="squared_error")

Calling a module on a value binds its intermediates (Q₁ = X W_Q₁, S₁ = Q₁K₁ᵀ/√d_k, …) and returns
the value of its output. Values can branch (a value used twice) and rejoin (``+``); a module called
twice uses one set of weights (its gradient is the sum over its uses). ``nn.Sequential``,
``nn.Residual`` and ``nn.TransformerBlock`` compose modules; ``Model.sequential`` builds a model
from a list.

The model only describes; ``Model.backprop(layout)`` (``symcalc.nn.adjoint``) differentiates it.

Two batch forms: ``"rows"`` (samples, or tokens, are the rows: Z = X W + 1bᵀ, W in × out, as a
transformer writes Q = X W_Q) and ``"columns"`` (samples are the columns: Z = W X + b1ᵀ, W out × in,
as CS229 writes W[k] a[k−1] + b[k]). One sample is ``"columns"`` with ``samples=1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import sympy as sp

from ..errors import ShapeError, UnsupportedError
from ..functions import OneHot
from ..hints import Layout, Scalar
from ..simplify import add, hadamard, mul, transpose
from . import layers as nl
from . import losses as nlo

FORMS = ("rows", "columns")


@dataclass(frozen=True)
class Binding:
    """``symbol = expr``: one intermediate of the forward pass, bound by ``module`` (its ``kind``:
    "linear", "activation", "layer norm", "attention", "residual", "embedding", "loss", …)."""

    symbol: sp.MatrixSymbol
    expr: sp.Basic
    kind: str
    rule: str = ""     # the module's own words for this line ("scaled scores", "row softmax")


class Value:
    """A named value of a model's forward pass: a module's input or output. ``a + b`` rejoins two
    branches (a skip connection); a value used by several modules branches."""

    def __init__(self, model: "Model", symbol: sp.MatrixSymbol) -> None:
        self.model, self.symbol = model, symbol

    @property
    def width(self):
        """The number of features of each sample."""
        return self.symbol.shape[1] if self.model.batch == "rows" else self.symbol.shape[0]

    @property
    def samples(self):
        """The number of samples (positions, after a strided convolution)."""
        return self.symbol.shape[0] if self.model.batch == "rows" else self.symbol.shape[1]

    def __add__(self, other: "Value") -> "Value":
        if not isinstance(other, Value) or other.model is not self.model:
            raise UnsupportedError(f"{self.symbol} + {other}: add two values of one model")
        if self.symbol.shape != other.symbol.shape:
            raise ShapeError(f"{self.symbol} + {other.symbol}: shapes {self.symbol.shape} and "
                             f"{other.symbol.shape} differ; a skip connection needs one width")
        return self.model.bind("R", add(self.symbol.shape, self.symbol, other.symbol), "residual",
                               "skip connection: the two branches add")

    def __repr__(self):
        return f"Value({self.symbol}, {self.symbol.shape[0]} x {self.symbol.shape[1]})"


def _parameter_names(base, model, name):
    return model.fresh(base) if name is None else f"{base}_{name}"


# --------------------------------------------------------------------------- modules

class Module:
    """A piece of a network. ``module(value)`` binds its intermediates in the value's model and
    returns its output value. The weights are made on the first call: a second call shares them."""

    def __call__(self, x: Value) -> Value:
        if not isinstance(x, Value):
            raise UnsupportedError(f"{self!r} takes a value of a model (model.input(...) or a "
                                   f"module's output), not {x!r}")
        return self.forward(x.model, x)

    def forward(self, model: "Model", x: Value) -> Value:
        raise NotImplementedError

    def _expect(self, x: Value, width, what="input"):
        if sp.simplify(x.width - width) != 0:
            raise ShapeError(f"{self!r} takes {width} features, but its {what} {x.symbol} has "
                             f"{x.width} ({x.symbol.shape[0]} x {x.symbol.shape[1]})")

    def _owned(self, model):
        """This module's weights in ``model`` (made on the first call)."""
        owner = getattr(self, "_model", None)
        if owner is not None and owner is not model:
            raise UnsupportedError(f"{self!r} already belongs to another model; make a new one")
        self._model = model
        if not hasattr(self, "_params"):
            self._params = self.parameters(model)
            made = [p for p in self._params.values() if isinstance(p, sp.MatrixSymbol)]
            taken = {q.name for q in model.parameters} | set(model._names)
            clash = [p.name for p in made if p.name in taken]
            if clash:  # two modules with one name would be one weight to the engine
                raise UnsupportedError(f"{self!r}: the weight name {clash[0]} is taken by another module "
                                       "of this model; give the module another name= (or none)")
            model.parameters.extend(made)
        return self._params

    def parameters(self, model) -> dict:
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


def _linear_forward(model, x, W, b, out_features):
    """Z = X W + 1bᵀ (rows), Z = W X + b1ᵀ (columns), z = W x + b (one sample)."""
    n = x.samples
    if model.batch == "rows":
        terms = [mul(x.symbol, W)] + ([mul(sp.OneMatrix(n, 1), transpose(b))] if b is not None else [])
        shape = (n, out_features)
    else:
        terms = [mul(W, x.symbol)]
        if b is not None:
            terms.append(b if n == 1 else mul(b, sp.OneMatrix(1, n)))
        shape = (out_features, n)
    return add(shape, *terms)


class Sequential(Module):
    """Modules applied one after the other."""

    def __init__(self, *modules: Module | nl.Layer | str | list) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        self.modules = [as_module(m) for m in modules]

    def forward(self, model, x):
        for m in self.modules:
            x = m(x)
        return x

    def __repr__(self):
        return f"Sequential({', '.join(repr(m) for m in self.modules)})"


class Residual(Module):
    """Res(x) = x + inner(x): the skip connection adds the input to the inner modules' output
    (their adjoints add on the way back)."""

    def __init__(self, *inner: Module | nl.Layer | str | list) -> None:
        self.inner = inner[0] if len(inner) == 1 and isinstance(inner[0], Module) else Sequential(*inner)

    def forward(self, model, x):
        return x + self.inner(x)

    def __repr__(self):
        return f"Residual({self.inner!r})"


class Embedding(Module):
    """Rows of an embedding matrix picked by one-hot tokens: H = X E (rows; E is vocabulary × d),
    H = E X (columns; E is d × vocabulary). Its input is ``model.tokens(...)``."""

    def __init__(self, vocabulary: Scalar, features: Scalar, name: str | None = None) -> None:
        self.vocabulary, self.features = nl._size(vocabulary, "vocabulary"), nl._size(features, "features")
        self.name = name

    def parameters(self, model):
        shape = (self.vocabulary, self.features) if model.batch == "rows" else (self.features, self.vocabulary)
        return {"E": sp.MatrixSymbol(_parameter_names("E", model, self.name), *shape)}

    def forward(self, model, x):
        self._expect(x, self.vocabulary)
        E = self._owned(model)["E"]
        H = mul(x.symbol, E) if model.batch == "rows" else mul(E, x.symbol)
        return model.bind("H", H, "embedding", "embedding: one-hot rows pick rows of the table")

    def __repr__(self):
        return f"Embedding({self.vocabulary}, {self.features})"


class LayerNorm(Module):
    r"""Each sample normalised over its features, x̂ = (x − μ)/√(σ² + ε), then scaled and shifted
    by γ, β (one per feature) when ``affine``: N = X̂ ⊙ 1γᵀ + 1βᵀ (rows)."""

    def __init__(self, features: Scalar, eps: Scalar | None = None, affine: bool = True,
                 name: str | None = None) -> None:
        self.features = nl._size(features, "features")
        self.eps = sp.Symbol("epsilon", positive=True) if eps is None else sp.sympify(eps)
        if self.eps.is_negative:
            raise UnsupportedError(f"LayerNorm eps = {self.eps}: a non-negative number or symbol")
        self.affine, self.name = affine, name

    def parameters(self, model):
        if not self.affine:
            return {}
        label = model.fresh("gamma") if self.name is None else f"gamma_{self.name}"
        suffix = label[len("gamma"):]
        return {"gamma": sp.MatrixSymbol(label, self.features, 1),
                "beta": sp.MatrixSymbol("beta" + suffix, self.features, 1)}

    def forward(self, model, x):
        from ..functions import layer_norm
        self._expect(x, self.features)
        p = self._owned(model)
        axis = 1 if model.batch == "rows" else 0
        Xh = model.bind("Xhat", layer_norm(x.symbol, axis=axis, eps=self.eps), "layer norm",
                        "layer normalisation of each sample")
        if not self.affine:
            return Xh
        n, s = x.samples, Xh.symbol
        if model.batch == "rows":
            scaled = hadamard(s, mul(sp.OneMatrix(n, 1), transpose(p["gamma"])))
            shift = mul(sp.OneMatrix(n, 1), transpose(p["beta"]))
        elif n == 1:
            scaled, shift = hadamard(p["gamma"], s), p["beta"]
        else:
            scaled = hadamard(mul(p["gamma"], sp.OneMatrix(1, n)), s)
            shift = mul(p["beta"], sp.OneMatrix(1, n))
        return model.bind("N", add(s.shape, scaled, shift), "layer norm", r"scale and shift by $\gamma$, $\beta$")

    def __repr__(self):
        return f"LayerNorm({self.features}, eps={self.eps})"


class SelfAttention(Module):
    r"""Single-head self-attention, tokens as rows: Q = X W_Q, K = X W_K, V = X W_V,
    S = Q Kᵀ/√d_k, A = softmax of each row of S (token i attends to j ≤ i when ``causal``),
    Y = A V. ``values`` is V's width (default: the input's, so that a residual stream can add Y)."""

    def __init__(self, features: Scalar, d_k: Scalar, values: Scalar | None = None,
                 causal: bool = False, name: str | None = None) -> None:
        self.features, self.d_k = nl._size(features, "features"), nl._size(d_k, "d_k")
        self.values = self.features if values is None else nl._size(values, "values")
        self.causal, self.name = causal, name

    def parameters(self, model):
        suffix = model.fresh("") if self.name is None else "_" + self.name
        return {k: sp.MatrixSymbol(f"W_{k}{suffix}", self.features, self.d_k if k != "V" else self.values)
                for k in ("Q", "K", "V")}

    def forward(self, model, x):
        from ..functions import softmax
        if model.batch != "rows":
            raise UnsupportedError("SelfAttention takes tokens as rows: build the model with "
                                   "batch='rows' (X is tokens x features)")
        self._expect(x, self.features)
        W = self._owned(model)
        Q = model.bind("Q", mul(x.symbol, W["Q"]), "attention", "queries")
        K = model.bind("K", mul(x.symbol, W["K"]), "attention", "keys")
        V = model.bind("V", mul(x.symbol, W["V"]), "attention", "values")
        S = model.bind("S", mul(1 / sp.sqrt(self.d_k), Q.symbol, transpose(K.symbol)), "attention",
                       "scaled scores")
        kw = {"causal": True} if self.causal else {}
        A = model.bind("A", softmax(S.symbol, axis=1, **kw), "attention",
                       "causal row softmax" if self.causal else "row softmax")
        return model.bind("Y", mul(A.symbol, V.symbol), "attention", "weighted values")

    def __repr__(self):
        extra = ", causal=True" if self.causal else ""
        return f"SelfAttention({self.features}, d_k={self.d_k}{extra})"


class Conv1D(Module):
    r"""One-dimensional convolution, positions as rows and channels as columns (``batch="rows"``):
    Y = Σⱼ Sⱼ X Wⱼ + 1bᵀ for a kernel of ``kernel`` taps W₁ … W_k, each in × out (``sc.conv1d``;
    Sⱼ selects the rows tap j reads, zero padding and the stride folded in). One channel
    (in = out = 1) is CS229's Conv1D-S, y = Q z with the banded matrix Q = Σⱼ wⱼ Sⱼ."""

    def __init__(self, in_channels: Scalar, out_channels: Scalar, kernel: int, stride: int = 1,
                 padding: int | str = "same", bias: bool = True, name: str | None = None) -> None:
        self.in_channels = nl._size(in_channels, "in_channels")
        self.out_channels = nl._size(out_channels, "out_channels")
        if not isinstance(kernel, int) or kernel < 1:
            raise UnsupportedError(f"Conv1D kernel is the number of taps, a positive integer, not {kernel!r}")
        self.kernel, self.stride, self.padding, self.bias, self.name = kernel, stride, padding, bias, name

    def parameters(self, model):
        label = model.fresh("C") if self.name is None else f"C_{self.name}"
        taps = {f"W{j}": sp.MatrixSymbol(f"{label}_{j}", self.in_channels, self.out_channels)
                for j in range(1, self.kernel + 1)}
        taps["b"] = sp.MatrixSymbol("c" + label[1:], self.out_channels, 1) if self.bias else None
        taps["label"] = label  # names the shift matrices, not a parameter
        return taps

    def forward(self, model, x):
        from ..convolution import conv1d
        if model.batch != "rows":
            raise UnsupportedError("Conv1D takes positions as rows and channels as columns: build the "
                                   "model with batch='rows' (X is positions x channels)")
        self._expect(x, self.in_channels, "input channels")
        p = self._owned(model)
        taps = [p[f"W{j}"] for j in range(1, self.kernel + 1)]
        Y = conv1d(x.symbol, taps, stride=self.stride, padding=self.padding, name=p["label"][1:])
        if p["b"] is not None:
            Y = add(Y.shape, Y, mul(sp.OneMatrix(Y.shape[0], 1), transpose(p["b"])))
        return model.bind("Z", Y, "convolution", "convolution: each tap reads shifted rows")

    def __repr__(self):
        return (f"Conv1D({self.in_channels}, {self.out_channels}, kernel={self.kernel}, "
                f"stride={self.stride}, padding={self.padding!r})")


class LinearModule(Module):
    """``nn.Linear`` in a model: Z = X W + 1bᵀ (rows), Z = W X + b1ᵀ (columns)."""

    def __init__(self, layer: nl.Linear) -> None:
        if layer.intercept:
            raise UnsupportedError(f"{layer!r}: intercept=True (a folded bias) is for nn.Network; "
                                   "in a model use bias=True")
        self.layer = layer

    def parameters(self, model):
        L = self.layer
        shape = (L.in_features, L.out_features) if model.batch == "rows" else (L.out_features, L.in_features)
        W = sp.MatrixSymbol(_parameter_names("W", model, L.name), *shape)
        b = sp.MatrixSymbol("b" + W.name[1:], L.out_features, 1) if L.bias else None
        return {"W": W, "b": b}

    def forward(self, model, x):
        self._expect(x, self.layer.in_features)
        p = self._owned(model)
        return model.bind("Z", _linear_forward(model, x, p["W"], p["b"], self.layer.out_features),
                          "linear", "affine map")

    def __repr__(self):
        return repr(self.layer)


class ActivationModule(Module):
    """An activation (``nn.ReLU()``, ``nn.Softmax()``, …) in a model: H = f(Z)."""

    def __init__(self, layer: nl.Activation) -> None:
        self.layer = layer

    def forward(self, model, x):
        if isinstance(self.layer, nl.Identity):
            return x
        words = "softmax of each sample" if isinstance(self.layer, nl.Softmax) else "activation, entry by entry"
        return model.bind("H", self.layer.forward(x.symbol, model.batch), "activation", words)

    def __repr__(self):
        return repr(self.layer)


def MLP(features: Scalar, hidden: Scalar, activation: nl.Activation | type | str = "relu", out: Scalar | None = None) -> Sequential:
    """The position-wise MLP of a transformer: Linear(d, h), the activation, Linear(h, d)."""
    act = activation() if isinstance(activation, type) else nl.as_layer(activation)
    return Sequential(nl.Linear(features, hidden), act, nl.Linear(hidden, features if out is None else out))


def TransformerBlock(features: Scalar, d_k: Scalar, hidden: Scalar, causal: bool = False,
                     eps: Scalar | None = None, activation: nl.Activation | type | str = "relu") -> Sequential:
    """A pre-LN transformer block: X + Attn(LN(X)), then + MLP(LN(·))."""
    return Sequential(Residual(LayerNorm(features, eps), SelfAttention(features, d_k, causal=causal)),
                      Residual(LayerNorm(features, eps), MLP(features, hidden, activation)))


def as_module(m) -> Module:
    """A module, or an ``nn`` layer (instance, class or name) wrapped as one."""
    if isinstance(m, Module):
        return m
    if isinstance(m, (list, tuple)):
        return Sequential(*m)
    layer = nl.as_layer(m)
    if isinstance(layer, nl.Linear):
        return LinearModule(layer)
    return ActivationModule(layer)


# --------------------------------------------------------------------------- the model

class Model:
    """A network as a graph of modules: its input, its let-bound intermediates, its loss."""

    def __init__(self, batch: Literal["rows", "columns"] = "rows", samples: Scalar | None = None) -> None:
        if batch not in FORMS:
            raise UnsupportedError(f"batch is 'rows' (samples or tokens as rows) or 'columns', not {batch!r}")
        self.batch = batch
        self.samples = sp.Symbol("n", integer=True, positive=True) if samples is None else nl._size(samples, "samples")
        self.bindings: list[Binding] = []
        self.parameters: list[sp.MatrixSymbol] = []
        self.inputs: list[sp.MatrixSymbol] = []
        self.loss: nlo.Loss | None = None
        self.target: sp.MatrixSymbol | None = None
        self.output_value: Value | None = None
        self.L: sp.MatrixSymbol | None = None
        self._counts: dict = {}
        self._names: set = set()

    def fresh(self, base: str) -> str:
        """base1, base2, … (a new name each call)."""
        self._counts[base] = self._counts.get(base, 0) + 1
        return f"{base}{self._counts[base]}"

    def shape(self, width):
        return (self.samples, width) if self.batch == "rows" else (width, self.samples)

    def _symbol(self, name, shape, cls=sp.MatrixSymbol, **kw):
        if name in self._names:
            raise UnsupportedError(f"two values of this model are named {name}")
        self._names.add(name)
        return cls(name, *shape, **kw)

    def input(self, name: str, width: Scalar) -> Value:
        """The data: samples × width (rows) or width × samples (columns)."""
        X = self._symbol(name, self.shape(nl._size(width, "width")))
        self.inputs.append(X)
        return Value(self, X)

    def tokens(self, name: str, vocabulary: Scalar) -> Value:
        """One-hot tokens, one per sample: the input of an ``Embedding``."""
        axis = 1 if self.batch == "rows" else 0
        X = self._symbol(name, self.shape(nl._size(vocabulary, "vocabulary")), OneHot, axis=axis)
        self.inputs.append(X)
        return Value(self, X)

    def bind(self, base: str, expr, kind: str, rule: str = "") -> Value:
        """A new intermediate ``base<k> = expr``."""
        s = self._symbol(self.fresh(base), expr.shape)
        self.bindings.append(Binding(s, expr, kind, rule))
        return Value(self, s)

    def output(self, value: Value, loss: nlo.Loss | str = "squared_error") -> "Model":
        """End the model: ``value`` is its prediction, ``loss`` compares it with the targets Y."""
        if self.loss is not None:
            raise UnsupportedError("this model has its output already")
        self.loss = nlo.as_loss(loss)
        last = next((b for b in self.bindings if b.symbol == value.symbol), None)
        activation = self._activation_of(last)
        try:
            self.loss.check(activation)
        except UnsupportedError as err:
            raise UnsupportedError(f"{err} (the model's output {value.symbol} is {last.expr if last else 'its input'})") from None
        shape = value.symbol.shape
        if isinstance(self.loss, nlo.CrossEntropy):
            self.target = self._symbol("Y", shape, OneHot, axis=1 if self.batch == "rows" else 0)
        else:
            self.target = self._symbol("Y", shape)
        self.output_value = value
        self.L = sp.MatrixSymbol("L", 1, 1)
        self.bindings.append(Binding(self.L, self.loss.value(value.symbol, self.target, value.samples),
                                     "loss", repr(self.loss)))
        return self

    def _activation_of(self, binding):
        from ..functions import Softmax
        from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
        if binding is None or binding.kind != "activation":
            return nl.Identity()
        if isinstance(binding.expr, Softmax):
            return nl.Softmax()
        if isinstance(binding.expr, ElementwiseApplyFunction):
            from ..functions import Sigmoid
            body = binding.expr.function.expr
            if isinstance(body, Sigmoid):
                return nl.Sigmoid()
        return nl.Identity()

    @classmethod
    def sequential(cls, modules, width: Scalar | None = None, loss: nlo.Loss | str = "squared_error",
                   batch: Literal["rows", "columns"] = "rows", samples: Scalar | None = None,
                   vocabulary: Scalar | None = None) -> "Model":
        """A model from a list of modules: input X of ``width`` features (or one-hot tokens over a
        ``vocabulary`` for a first ``Embedding``), the modules in order, then ``loss``."""
        model = cls(batch, samples)
        x = model.tokens("X", vocabulary) if vocabulary is not None else model.input("X", width)
        return model.output(as_module(list(modules))(x), loss)

    # ------------------------------------------------------------------ views

    def forward_bindings(self):
        """[(symbol, expression)] in order, ending with the loss L."""
        return [(b.symbol, b.expr) for b in self.bindings]

    def backprop(self, layout: Layout = "denominator"):
        """The adjoints of every intermediate and the gradients of every parameter and input."""
        from .adjoint import ModelBackprop
        if self.loss is None:
            raise UnsupportedError("call model.output(value, loss=...) before backprop")
        return ModelBackprop(self, layout)

    def __repr__(self):
        return (f"Model(batch={self.batch!r}, {len(self.bindings)} bindings, "
                f"parameters={[p.name for p in self.parameters]})")


__all__ = ["Binding", "Conv1D", "Embedding", "LayerNorm", "MLP", "Model", "Module", "Residual",
           "SelfAttention", "Sequential", "TransformerBlock", "Value", "as_module"]
