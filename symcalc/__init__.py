"""symcalc: symbolic matrix calculus in numerator or denominator layout, checked numerically.

The public API (see docs/api.md), re-exported from the modules that implement it. The engine
loads with the package; derivations and the numeric side (NumPy) load on first use, so that
``import symcalc`` costs little more than ``import sympy``.
"""
from importlib import import_module as _import_module

from .diff import backward, diff, gradient, hessian, jacobian
from .convolution import Shift, conv1d
from .errors import LayoutError, ParseError, ShapeError, SymcalcError, UnsupportedError
from .functions import (
    OneHot, SymmetricMatrix, bce, cos, cross_entropy, dot, exp, frobenius2, leaky_relu, log, logsumexp,
    mean, mse, norm2, relu, scalar, sigmoid, sin, softmax, softplus, sqrt, step, sum, tanh, threshold,
)
from .functions import layer_norm, std
from .printing import Notation, init_printing, latex, text
from .simplify import textbook

_LAZY = {
    **dict.fromkeys(("Derivation", "Equalities", "Step", "derive", "equalities"), ".derivation"),
    **dict.fromkeys(("CheckReport", "check", "codegen", "lambdify"), ".numeric"),
    **dict.fromkeys(("ClosedForm", "ClosedFormCheck", "check_closed_form", "positive_semidefinite",
                     "solve_stationary"), ".numeric.closed_form"),
    **dict.fromkeys(("Verdict", "verify", "verify_entrywise"), ".numeric.verify"),
}


def __getattr__(name):
    """The public names of the heavier modules, imported when first asked for (PEP 562)."""
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


#: ``from symcalc import *`` takes every public name but ``sum``, which would shadow the builtin
#: (write ``sc.sum``).
__all__ = [
    "CheckReport", "ClosedForm", "ClosedFormCheck", "Derivation", "Equalities", "LayoutError",
    "Notation", "OneHot", "ParseError", "ShapeError", "Shift", "Step", "SymcalcError", "SymmetricMatrix",
    "UnsupportedError", "Verdict", "backward", "bce", "check", "check_closed_form", "codegen",
    "conv1d", "cos", "cross_entropy", "derive", "diff", "dot", "equalities", "exp", "frobenius2", "gradient",
    "hessian", "init_printing", "jacobian", "lambdify", "latex", "layer_norm", "leaky_relu", "log", "logsumexp",
    "mean", "mse", "norm2", "positive_semidefinite", "relu", "scalar", "sigmoid", "sin", "softmax",
    "softplus", "solve_stationary", "sqrt", "std", "step", "tanh", "text", "textbook", "threshold",
    "verify", "verify_entrywise",
]

__version__ = "0.1.0"
