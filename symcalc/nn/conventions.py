r"""A course's conventions for networks, and the presets of the notes symcalc serves.

A ``Convention`` holds what differs from one set of notes to the next:

* ``weights``: ``"out_in"`` (W ∈ ℝ^{out×in}, z = W a + b: CS229 §2-3, NYU, CMU's α_{ji}) or
  ``"in_out"`` (W ∈ ℝ^{in×out}: CS229 §4's row-major Z = X W + b, CMU's α⁽ᵏ⁾ used as αᵀz);
* ``index``: layer numbers as subscripts (W_1, z_1) or superscripts (W^{[1]} in CS229,
  α^{(1)} in CMU), the same in every column of a derivation, rule texts included;
* the letters: weights, biases, pre-activations, activations, δ, the objective (L, J) and named
  layers (NYU's W^H, W^O); bold or plain;
* ``relu_at_zero``: ReLU′(0), 0 (1[z > 0]) or 1 (CS229's 1{z ≥ 0});
* ``squared_error``: the scale of ``squared_error`` (½ in CS229 and CMU, 1 in NYU's (20));
* ``batch``: where the samples go when a preset says (NYU: rows).

``symcalc.nn.Network(..., convention="cs229")`` applies one; ``Convention.notation(network)``
gives the LaTeX names of the network's symbols. Symbol names stay plain identifiers (W1, z1): only
their LaTeX changes, so generated code and ``params`` keys are the same in every convention.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp

from ..errors import UnsupportedError

WEIGHTS = ("out_in", "in_out")
INDEX = ("sub", "super")


@dataclass(frozen=True)
class Convention:
    name: str = "default"
    weights: str = "out_in"
    index: str = "sub"              # "sub": W_1; "super": W^{[1]} (brackets from ``brackets``)
    brackets: str = "[]"            # "[]": W^{[1]}; "()": α^{(1)}; "": W^{1}
    bold: bool = True
    letters: dict = field(default_factory=dict)   # role -> LaTeX letter: W b z a delta
    layers: dict = field(default_factory=dict)    # (role, k, of) -> LaTeX, a layer's own name (NYU's H, O)
    objective: str = "L"
    relu_at_zero: int = 0
    squared_error: object = sp.S.Half
    batch: str | None = None
    batch_weights: str | None = None   # the orientation when samples are rows (CS229 §4: in_out)
    names: dict = field(default_factory=dict)     # symbol name -> LaTeX, the author's own (W1: \alpha)
    description: str = ""

    def __post_init__(self):
        if self.weights not in WEIGHTS:
            raise UnsupportedError(f"weights is 'out_in' (W ∈ R^(out x in), z = W a + b) or 'in_out' "
                                   f"(W ∈ R^(in x out), z = Wᵀa + b), not {self.weights!r}")
        if self.index not in INDEX:
            raise UnsupportedError(f"index is 'sub' (W_1) or 'super' (W^[1]), not {self.index!r}")
        if self.relu_at_zero not in (0, 1):
            raise UnsupportedError(f"relu_at_zero is 0 (1[z > 0]) or 1 (1[z >= 0]), not {self.relu_at_zero!r}")

    def with_(self, **changes) -> "Convention":
        """This convention with some options changed (``None`` keeps an option)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def orientation(self, batch) -> str:
        return self.batch_weights if batch == "rows" and self.batch_weights else self.weights

    # ------------------------------------------------------------------ LaTeX names

    def letter(self, role: str, upper: bool = False) -> str:
        default = {"W": "W", "b": "b", "z": "z", "a": "a", "delta": r"\delta"}[role]
        tex = self.letters.get(role, default)
        if upper:
            tex = {r"\delta": r"\Delta"}.get(tex, tex.upper() if len(tex) == 1 else tex)
        return tex

    def styled(self, tex: str, role: str, matrix: bool) -> str:
        """Bold for a vector or matrix when the convention is bold: the letter only (W^{H})."""
        if not (self.bold and matrix):
            return tex
        head, mark, tail = _split_letter(tex)
        head = r"\boldsymbol{%s}" % head if head.startswith("\\") else r"\mathbf{%s}" % head
        return head + mark + tail

    def indexed(self, base: str, k) -> str:
        """W and 1 -> W_{1} or W^{[1]}; a base ending in a superscript gets braces."""
        if self.index == "sub":
            return "%s_{%s}" % (base, k)
        label = "%s%s%s" % (self.brackets[:1], k, self.brackets[1:]) if self.brackets else str(k)
        return "{%s}^{%s}" % (base, label) if "^" in base else "%s^{%s}" % (base, label)

    def rule_index(self, base: str, k: str) -> str:
        """The same for rule texts, where k is a letter (k, k+1, k-1)."""
        return self.indexed(base, k)

    def notation(self, network, names=None):
        """A ``symcalc.Notation`` naming the network's symbols in this convention."""
        from ..printing import Notation
        out = {}
        last = len(network.stages)
        for s in network.stages:
            label = s.linear.name if s.linear.name and not s.linear.name.isdigit() else s.k
            for role, sym in (("W", s.W), ("b", s.b), ("z", s.z), ("a", s.a), ("delta", s.delta)):
                if sym is None or sym.name in out:
                    continue
                upper = sym.name[:1].isupper() and role != "W"
                own = self.layers.get((role, s.k, last))
                matrix = sym.shape != (1, 1)
                if own is not None:
                    if upper:
                        head, mark, tail = _split_letter(own)
                        own = {r"\delta": r"\Delta"}.get(head, head.upper() if len(head) == 1 else head) \
                            + mark + tail
                    tex = self.styled(own, role, matrix)
                elif self.index == "sub" and role not in self.letters:
                    tex = _printed(sym, self.bold)  # as symcalc prints it: W_H, W_{\alpha}
                else:
                    tex = self.indexed(self.styled(self.letter(role, upper), role, matrix), label)
                if s.linear.intercept and role == "W":
                    out[str(_effective(s, self.orientation(network.batch)))] = tex
                    tex = _tilde(tex)
                out[sym.name] = tex
            if s.augmented is not None:
                inner = out.get(s.input.name) or (self.styled("X" if network.batch else "x", "a",
                                                              s.input.shape != (1, 1)))
                out[s.augmented.name] = _tilde(inner)
        out["L"] = self.objective
        out.update(self.names)
        out.update(names or {})
        return Notation(names=out, bold=self.bold)


def _split_letter(tex):
    r"""W^{\mathrm{H}} -> ("W", "^", "{\mathrm{H}}"): the letter and what is attached to it."""
    for k, ch in enumerate(tex):
        if ch in "^_" and k:
            return tex[:k], ch, tex[k + 1:]
    return tex, "", ""


def _printed(sym, bold):
    from ..printing import Notation, latex
    return latex(sym, Notation(bold=bold))


def _effective(stage, orientation):
    W = stage.W
    return W[:, 1:] if orientation == "out_in" else W[1:, :]


def _tilde(tex: str) -> str:
    r"""\mathbf{W}_{1} -> \tilde{\mathbf{W}}_{1}: the accent on the letter, not on its index."""
    for mark in ("_{", "^{", "}^{"):
        if mark in tex:
            head, _, tail = tex.partition(mark)
            if tex.startswith("{") and mark == "}^{":
                return r"{\tilde{%s}}^{%s" % (head[1:], tail)
            return r"\tilde{%s}%s%s" % (head, mark, tail)
    return r"\tilde{%s}" % tex


PRESETS = {
    "default": Convention(description="symcalc's own: W_1, z_1, a_1, δ_1, bold, L, ReLU′(0) = 0"),
    "cs229": Convention(
        name="cs229", index="super", brackets="[]", bold=False, objective="J", relu_at_zero=1,
        batch_weights="in_out",
        description="Stanford CS229: W^{[k]}, b^{[k]}, z^{[k]}, a^{[k]}, δ^{[k]} ≜ ∂J/∂z^{[k]}, "
                    "plain letters, J = ½(o − y)², ReLU′ = 1{z ≥ 0}; samples as rows: Z = XW + b "
                    "with W ∈ ℝ^{d×m}"),
    "cmu": Convention(
        name="cmu", index="super", brackets="()", bold=False, objective="J",
        letters={"W": r"\alpha"},
        layers={("W", 1, 2): r"\alpha", ("W", 2, 2): r"\beta",
                ("z", 1, 2): "a", ("a", 1, 2): "z", ("z", 2, 2): "b", ("a", 2, 2): r"\hat{y}",
                ("delta", 1, 2): r"\delta^{(a)}", ("delta", 2, 2): r"\delta^{(b)}"},
        description="CMU 10-301/601: α, β with the intercept folded in (x₀ = 1), a = αx, "
                    "z = σ(a), b = βz, ŷ = σ(b); J = y log ŷ + (1 − y) log(1 − ŷ) maximised "
                    "(nn.LogLikelihood), ½(ŷ − y)² in the recitation"),
    "nyu": Convention(
        name="nyu", squared_error=sp.S.One, batch="rows",
        layers={("W", 1, 2): r"W^{\mathrm{H}}", ("b", 1, 2): r"b^{\mathrm{H}}",
                ("z", 1, 2): r"z^{\mathrm{H}}", ("a", 1, 2): r"u^{\mathrm{H}}",
                ("delta", 1, 2): r"\delta^{\mathrm{H}}",
                ("W", 2, 2): r"W^{\mathrm{O}}", ("b", 2, 2): r"b^{\mathrm{O}}",
                ("z", 2, 2): r"z^{\mathrm{O}}", ("a", 2, 2): r"u^{\mathrm{O}}",
                ("delta", 2, 2): r"\delta^{\mathrm{O}}"},
        description="NYU (Rangan): W^H, b^H, z^H, u^H = g_act(z^H), W^O, z^O; samples as rows, "
                    "Z^H = X (W^H)ᵀ + B^H; L = Σ‖z − y‖² (no ½)"),
}


def as_convention(convention) -> Convention:
    """A Convention from an instance, a preset's name, or None (the default)."""
    if convention is None:
        return PRESETS["default"]
    if isinstance(convention, Convention):
        return convention
    key = str(convention).lower()
    if key not in PRESETS:
        raise UnsupportedError(f"unknown notation preset {convention!r}; presets: {', '.join(PRESETS)}")
    return PRESETS[key]
