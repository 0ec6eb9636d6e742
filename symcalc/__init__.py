"""symcalc: symbolic matrix calculus in numerator or denominator layout, checked numerically.

The public API (see docs/api.md), re-exported from the modules that implement it.
"""
from .derivation import Derivation, Step, derive
from .diff import backward, diff, gradient, hessian, jacobian
from .errors import LayoutError, ParseError, ShapeError, SymcalcError, UnsupportedError
from .functions import (
    OneHot, SymmetricMatrix, bce, cos, cross_entropy, exp, frobenius2, leaky_relu, log, logsumexp,
    mean, mse, norm2, relu, sigmoid, sin, softmax, softplus, sqrt, step, sum, tanh,
)
from .numeric import CheckReport, check, codegen, lambdify
from .numeric.closed_form import (
    ClosedForm, ClosedFormCheck, check_closed_form, positive_semidefinite, solve_stationary,
)
from .numeric.verify import Verdict, verify, verify_entrywise
from .printing import Notation, init_printing, latex, text
from .printing.html import install as _install_html
from .simplify import textbook

_install_html()  # _repr_html_ for reports, verdicts, closed forms and computation graphs

#: ``from symcalc import *`` takes every public name but ``sum``, which would shadow the builtin
#: (write ``sc.sum``).
__all__ = [
    "CheckReport", "ClosedForm", "ClosedFormCheck", "Derivation", "LayoutError", "Notation",
    "OneHot", "ParseError", "ShapeError", "Step", "SymcalcError", "SymmetricMatrix",
    "UnsupportedError", "Verdict", "backward", "bce", "check", "check_closed_form", "codegen",
    "cos", "cross_entropy", "derive", "diff", "exp", "frobenius2", "gradient", "hessian",
    "init_printing", "jacobian", "lambdify", "latex", "leaky_relu", "log", "logsumexp", "mean",
    "mse", "norm2", "positive_semidefinite", "relu", "sigmoid", "sin", "softmax", "softplus",
    "solve_stationary", "sqrt", "step", "tanh", "text", "textbook", "verify", "verify_entrywise",
]

__version__ = "0.1.0"
