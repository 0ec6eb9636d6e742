"""The result of ``Network.backprop``: δ recursion, gradients, local Jacobians, NumPy code.

Everything is a SymPy expression over let-bound MatrixSymbols (z1, a1, delta1 …); ``expand``
substitutes them away. ``numpy()`` generates NumPy code from the expanded symbolic gradients with
``symcalc.numeric.lambdify`` (whose code generator names each shared sub-expression once, so the generated backward
pass computes each z, a and δ once, as a hand-written one does).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from .. import limits
from ..assumptions import Assumptions, facts, symmetric_transposes
from ..hints import Layout
from ..functions import OneHot
from ..simplify import add, mul, transpose
from .network import Network, augment, augment_products, without_intercept


def _rows(e):
    """The transpose, pushed into sums and entrywise products: δᵀ = (δ₂ᵀ W₂) ⊙ f′(z₁)ᵀ."""
    if isinstance(e, sp.HadamardProduct):
        return sp.HadamardProduct(*[_rows(a) for a in e.args])
    if isinstance(e, sp.MatAdd):
        return add(e.shape[::-1], *[_rows(a) for a in e.args])
    return transpose(e)


def _per_sample(name):
    """Z1 → z1, A_H → a_H: a batch quantity's per-sample column; the layer label keeps its case."""
    return name[0].lower() + name[1:]


class Backprop:
    """Backpropagation of a network's loss, in numerator or denominator layout.

    Attributes: ``parameters`` [W1, b1, …]; ``gradients`` {parameter: ∂L/∂parameter};
    ``input_gradient`` ∂L/∂x (W1ᵀ δ1, the gradient with respect to the data: for saliency maps and
    adversarial examples); ``activation_gradients`` {k: ∂L/∂a[k]} (W[k+1]ᵀ δ[k+1]) of the hidden layers;
    ``deltas`` {k: δ[k]} (each in terms of δ[k+1], z[k], a[k]); ``forward`` and ``backward`` the
    let-bindings in evaluation order; ``jacobians`` {(numerator, denominator): local Jacobian} of
    one sample; ``chains`` {k: the factors whose product is ∂L/∂z[k], in the layout's order}.
    """

    def __init__(self, network: Network, layout: Layout = "denominator",
                 assumptions: Assumptions = None) -> None:
        self.network = network
        self.layout = layout
        self.notation = network.notation
        self.assumptions = facts(assumptions)
        self.forward = network.forward_bindings()
        self.loss = network.L
        self.parameters = network.parameters
        self.x, self.y = network.x, network.y
        self.output = network.output
        self._derive()
        self._local_jacobians()
        if self.assumptions:
            self._symmetric()
        self._full = None
        self._derivation = None
        self._evaluators: dict = {}

    # ------------------------------------------------------------------ the δ recursion

    def _derive(self):
        net, batch, n = self.network, self.network.batch, self.network.samples
        stages = net.stages
        last = stages[-1]
        delta = net.loss.delta(last.activation, last.z, last.a, net.y, n, batch or "columns")
        backward, grads, deltas, upstream = [], {}, {}, {}
        for s in reversed(stages):
            backward.append((s.delta, delta))
            deltas[s.k] = delta
            inp = s.augmented if s.augmented is not None else s.input
            in_out = net.weights == "in_out"
            if batch == "rows":  # Z = A Wᵀ (out × in) or A W (in × out)
                grads[s.W] = mul(transpose(inp), s.delta) if in_out else mul(transpose(s.delta), inp)
                if s.b is not None:
                    grads[s.b] = mul(transpose(s.delta), sp.OneMatrix(n, 1))
            else:                # z = W a (out × in) or Wᵀ a (in × out)
                grads[s.W] = mul(inp, transpose(s.delta)) if in_out else mul(s.delta, transpose(inp))
                if s.b is not None:
                    grads[s.b] = s.delta if batch is None else mul(s.delta, sp.OneMatrix(n, 1))
            W = self._effective_weight(s)
            if in_out:
                W = transpose(W)  # the out × in matrix that acts on a[k−1]
            G = mul(s.delta, W) if batch == "rows" else mul(transpose(W), s.delta)
            if s.k > 1:
                prev = stages[s.k - 2]
                upstream[prev.k] = G
                delta = prev.activation.backward(G, prev.z, prev.a, batch or "columns")
            else:
                input_gradient = G
        if self.layout == "numerator":
            grads = {p: _rows(g) for p, g in grads.items()}
            deltas = {k: _rows(d) for k, d in deltas.items()}
            input_gradient = _rows(input_gradient)
            upstream = {k: _rows(g) for k, g in upstream.items()}
        self.input_gradient = input_gradient
        self.activation_gradients = dict(sorted(upstream.items()))
        self.backward = backward
        self.deltas = dict(sorted(deltas.items()))
        self.gradients = {p: grads[p] for p in self.parameters}

    def _symmetric(self):
        """W for Wᵀ where the assumptions make a square weight symmetric, as ``diff`` writes it."""
        def sym(e):
            return symmetric_transposes(e, sp.Tuple(*self.parameters), self.assumptions)
        self.backward = [(s, sym(e)) for s, e in self.backward]
        self.deltas = {k: sym(d) for k, d in self.deltas.items()}
        self.gradients = {p: sym(g) for p, g in self.gradients.items()}
        self.input_gradient = sym(self.input_gradient)

    def _effective_weight(self, stage):
        """The weight acting on a[k−1]: W, or W without its intercepts."""
        if stage.linear.intercept:
            return without_intercept(stage.W, self.network.weights)
        return stage.W

    # ------------------------------------------------------------------ local Jacobians

    def _local_jacobians(self):
        """Per-sample Jacobians of each layer and their chain-rule products, in the layout."""
        net = self.network
        num = self.layout == "numerator"
        lay = (lambda J: J) if num else transpose
        jac, nodes = {}, []
        prev = sp.MatrixSymbol("x", net.stages[0].linear.in_features, 1)
        for s in net.stages:
            out = s.linear.out_features
            z = sp.MatrixSymbol(_per_sample(s.z.name), out, 1)
            a = z if s.a is s.z else sp.MatrixSymbol(_per_sample(s.a.name), out, 1)
            inp = prev
            if s.linear.intercept:
                inp = augment(prev, sp.S.One, None)
            W = self._effective_weight(s)
            in_out = net.weights == "in_out"
            jac[(z, prev)] = lay(transpose(W) if in_out else W)
            # ∂z/∂vec(W) = aᵀ ⊗ I (z = W a) or I ⊗ aᵀ (z = Wᵀa): aᵀ for a single output unit
            if out == 1:
                kron = transpose(inp)
            elif in_out:
                kron = sp.KroneckerProduct(sp.Identity(out), transpose(inp))
            else:
                kron = sp.KroneckerProduct(transpose(inp), sp.Identity(out))
            jac[(z, s.W)] = lay(kron)
            if s.b is not None:
                jac[(z, s.b)] = sp.Identity(out)
            if a is not z:
                jac[(a, z)] = s.activation.jacobian(z, a)
            nodes.append((prev, z, a))
            prev = a
        ys = OneHot("y", prev.rows, 1) if isinstance(net.y, OneHot) else sp.MatrixSymbol("y", prev.rows, 1)
        g = net.loss.gradient(prev, ys, sp.S.One)
        jac[(self.loss, prev)] = transpose(g) if num else g
        self.jacobians = jac

        chains = {}
        for k in range(len(nodes), -1, -1):          # k = 0: ∂L/∂x
            factors = [jac[(self.loss, prev)]]
            for j in range(len(nodes), max(k, 1) - 1, -1):
                inp, z, a = nodes[j - 1]
                if a is not z:
                    factors.append(jac[(a, z)])
                if j > k:
                    factors.append(jac[(z, inp)])
            chains[k] = factors if num else list(reversed(factors))
        self.chains = dict(sorted(chains.items()))
        self.sample_symbols = {"x": nodes[0][0], "y": ys,
                               "z": [z for _, z, _ in nodes], "a": [a for _, _, a in nodes]}

    def chain(self, k):
        """∂L/∂z[k] (∂L/∂x for k = 0) of one sample as the product of local Jacobians, in the
        layout's order: numerator ∂L/∂a · ∂a/∂z · ∂z/∂x, denominator the reverse."""
        return sp.MatMul(*self.chains[k])

    # ------------------------------------------------------------------ substitution

    @limits.deep
    def expand(self, expr, blocks=True):
        """``expr`` with every let-bound intermediate substituted: parameters and data only.

        ``blocks=False`` writes an intercept's [1; a] as products e 1ᵀ + S a instead of a block
        matrix (integer sizes), for engines that take no block matrices.
        """
        if self._full is None:
            self._full = {True: self._substitutions(True), False: None}
        if self._full[blocks] is None:
            self._full[blocks] = self._substitutions(blocks)
        return expr.xreplace(self._full[blocks])

    def _substitutions(self, blocks):
        net, full = self.network, {}
        augmented = {s.augmented: s for s in net.stages if s.augmented is not None}
        for sym, e in self.forward + self.backward:
            if not blocks and sym in augmented:
                s = augmented[sym]
                e = augment_products(s.input, s.linear.in_features, net.samples, net.batch)
            full[sym] = e.xreplace(full)
        return full

    @property
    def loss_expr(self):
        """The loss in the parameters and the data."""
        return self.expand(self.loss)

    def equations(self):
        """All let-bindings and results in order: forward pass, δ's, gradients."""
        eqs = list(self.forward)
        eqs += [(s, d) for s, d in self.backward]
        eqs += [(p, g) for p, g in self.gradients.items()]
        return eqs

    def __repr__(self):
        return (f"Backprop({self.network!r}, layout={self.layout!r}): "
                f"{len(self.parameters)} parameters, {len(self.deltas)} deltas")

    def __str__(self):
        return str(self.derivation)

    # ------------------------------------------------------------------ derivation

    @property
    def derivation(self):
        """The derivation written out step by step (``symcalc.derivation``)."""
        if self._derivation is None:
            from .derive import network_derivation
            self._derivation = network_derivation(self)
            self._derivation.assumptions = self.assumptions
        return self._derivation

    # ------------------------------------------------------------------ NumPy

    def _compile(self, exprs, args, name):
        from ..numeric.lambdify import lambdify
        return lambdify(args, exprs, name, assumptions=self.assumptions)

    def _arrays(self, params):
        names = [p.name for p in self.parameters]
        missing = [n for n in names if n not in params]
        if missing:
            raise KeyError(f"params lacks {missing}; this network's parameters are {names}")
        return [np.asarray(params[n], dtype=float) for n in names]

    @limits.deep
    def numpy(self):
        """(forward, backward): forward(params, x) -> ŷ; backward(params, x, y) -> {name: gradient}.

        ``params`` maps "W1", "b1", … to 2-D arrays; gradients come in this result's layout.
        """
        params = self.parameters
        fwd_fn = self._compile(self.expand(self.output), params + [self.x], "forward")
        grads = [self.expand(self.gradients[p]) for p in params]
        bwd_fn = self._compile(grads, params + [self.x, self.y], "backward")
        names = [p.name for p in params]

        def forward(params, x):
            return fwd_fn(*self._arrays(params), np.asarray(x, dtype=float))

        def backward(params, x, y):
            out = bwd_fn(*self._arrays(params), np.asarray(x, dtype=float), np.asarray(y, dtype=float))
            return dict(zip(names, out))

        forward.source, backward.source = fwd_fn.source, bwd_fn.source
        return forward, backward

    @limits.deep
    def evaluate(self, params, x, y=None):
        """Every let-bound value at a point, in order: z1, a1, …, L, δ's and the gradients
        ("dW1", …; in this result's layout). Without ``y`` only the forward pass up to ŷ."""
        if y is None:
            syms = [s for s, _ in self.forward if s != self.loss]
            args, data = self.parameters + [self.x], [x]
        else:
            syms = [s for s, _ in self.forward + self.backward]
            args, data = self.parameters + [self.x, self.y], [x, y]
        exprs = [self.expand(s) for s in syms]
        names = [s.name for s in syms]
        if y is not None:
            exprs += [self.expand(self.gradients[p]) for p in self.parameters]
            names += ["d" + p.name for p in self.parameters]
        key = (y is None,)
        if key not in self._evaluators:
            self._evaluators[key] = self._compile(exprs, args, "evaluate")
        out = self._evaluators[key](*self._arrays(params), *[np.asarray(v, dtype=float) for v in data])
        return dict(zip(names, out))

    def worked(self, params, x, y, lr=0.1, digits=4):
        """Worked numbers at a point: forward values, every δ and ∂L/∂a, every gradient, one
        gradient step with learning rate ``lr`` and the new loss (``symcalc.nn.worked``), to
        ``digits`` significant digits with trailing zeros. ``params`` maps "W1", … to arrays."""
        from .worked import worked_example
        return worked_example(self, params, x, y, lr=lr, digits=digits)

    @limits.deep
    def numpy_loss(self):
        """loss(params, x, y) -> float, generated from the loss expression."""
        fn = self._compile(self.loss_expr, self.parameters + [self.x, self.y], "loss")

        def loss(params, x, y):
            v = fn(*self._arrays(params), np.asarray(x, dtype=float), np.asarray(y, dtype=float))
            return float(np.asarray(v).reshape(()))

        loss.source = fn.source
        return loss
