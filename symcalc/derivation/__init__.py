r"""Step-by-step derivations that read like lecture notes, in LaTeX, Markdown and plain text.

``derive(expr, wrt, layout="denominator", style="chain", notation=None)`` returns a ``Derivation``.

One step model (``model``: the named intermediates over the expression's DAG, computed once) is
printed in three styles: ``"chain"`` (``chain``: local derivatives with shapes and identities,
their product in the layout's order, summed over the uses of a node, the teaching steps of
``teaching``, the simplified result), ``"differential"`` (``differential``: dz = X dw, …,
substituted down to dL = ⟨g, dw⟩, then identification), ``"index"`` (``index``: one entry,
(∂(Ax)/∂x)ᵢⱼ = ∂(Σₖ Aᵢₖxₖ)/∂xⱼ = Aᵢⱼ, then reassembled). A scalar whose gradient is affine in
the variable ends with the stationary point ``solve_stationary`` confirms (``closed``); a scalar
function of a scalar is differentiated rule by rule (``scalar``). ``equalities`` checks and
typesets an author's own chain of equalities.

Building a derivation by hand (networks: forward equations, local Jacobians, the δ recursion,
parameter gradients, as in CS229's Algorithms 3–4)::

    from symcalc.derivation import Derivation, Step, DEFINITION, partial, differential
    steps = [
        Step(DEFINITION, z1, W1*x + b1, section="Forward pass"),         # z1 = W1 x + b1
        Step(DEFINITION, a1, sc.sigmoid(z1), section="Forward pass"),
        ...
        Step(DEFINITION, delta2, partial(L, z2, "denominator"), section="Backward pass",
             relation=r"\triangleq"),                                    # δ2 ≜ ∂L/∂z2
        Step("output layer", delta2, a2 - y, section="Backward pass"),
        Step("δ recursion", delta1, HadamardProduct(W2.T*delta2, ...), section="Backward pass"),
        Step("linear layer", partial(L, W1, "denominator"), delta1*x.T, section="Parameter gradients"),
    ]
    d = Derivation.from_steps("Backpropagation", steps, layout="denominator",
                              result={W1: ..., b1: ...}, graph=loss_expr, parameters=[W1, b1, ...])

``Step(rule, lhs, rhs, shapes={}, note="", section="", relation="=", where=None)``: ``rule`` is
plain text (inline math between ``$...$``); ``lhs``/``rhs`` are SymPy objects; steps whose rule is
``DEFINITION`` and whose lhs is a symbol define that symbol (for the numeric check and the plain
text). ``partial(f, x, layout)`` is ∂f/∂x with the layout's shape, ``differential(x)`` is dx.

``Derivation``: ``.expr .wrt .layout .style .result .steps``, ``.latex(notation=None)`` (an
``align*`` block that states the layout), ``.markdown()`` (``$$`` blocks), ``_repr_latex_`` and
``_repr_markdown_`` for Jupyter, ``str()`` plain text, ``.write_tex(path, standalone=True,
notation=None, compile=False)``, and ``.check(sizes=None, seed=0)``: every step evaluated at random
values (∂ by central differences), a ``StepReport`` that is falsy when any step is false.
"""
from .check import StepCheck, StepReport, check_steps
from .core import DEFINITION, Derivation, Step, tex_text
from .equalities import Equalities, EqualitiesReport, equalities
from .nodes import (
    Differential, MatrixDifferential, OrdinaryDerivative, Partial, PartialMatrix, differential, ordinary,
    partial,
)
from .styles import STYLES, decompose, derive

__all__ = [
    "DEFINITION", "Derivation", "Differential", "Equalities", "EqualitiesReport", "MatrixDifferential",
    "OrdinaryDerivative", "Partial", "PartialMatrix", "STYLES", "Step", "StepCheck", "StepReport",
    "check_steps", "decompose", "derive", "differential", "equalities", "ordinary", "partial", "tex_text",
]
