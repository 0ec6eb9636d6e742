"""The differentiation engine: one table of rules (``rules``), one reverse sweep (``engine``),
layouts applied at the edges (``api``)."""
from .api import LAYOUTS, diff, gradient, hessian, jacobian
from .engine import Backward, backward
from .linear import split_affine

__all__ = ["LAYOUTS", "Backward", "backward", "diff", "gradient", "hessian", "jacobian", "split_affine"]
