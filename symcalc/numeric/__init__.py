"""Numbers: NumPy code generation, lambdify, and finite-difference checks of derivatives."""
from .check import CheckReport, check, numeric_derivative
from .codegen import codegen
from .lambdify import lambdify

__all__ = ["CheckReport", "check", "codegen", "lambdify", "numeric_derivative"]
