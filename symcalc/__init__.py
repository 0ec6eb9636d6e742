"""symcalc: symbolic matrix calculus in numerator or denominator layout, checked numerically.

The public API (DESIGN.md §1), re-exported from the modules that implement it.
"""
from .derivation import Derivation, Equalities, Step, derive, equalities
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
from .printing import Notation, latex, text
from .simplify import textbook

__version__ = "0.1.0"
