"""symcalc: symbolic matrix calculus in numerator or denominator layout, checked numerically."""
from .diff import diff, gradient, hessian, jacobian
from .errors import LayoutError, ParseError, ShapeError, SymcalcError, UnsupportedError
from .functions import (
    OneHot, SymmetricMatrix, bce, cos, cross_entropy, exp, frobenius2, leaky_relu, log, logsumexp,
    mean, mse, norm2, relu, sigmoid, sin, softmax, softplus, sqrt, step, sum, tanh,
)
from .simplify import textbook
