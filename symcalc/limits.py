"""The limits that keep every input bounded in time and memory.

Each limit is checked where the work it bounds would start, and exceeding it raises
``UnsupportedError`` naming the limit (docs/errors.md lists them). They are module constants so
that a user with a big machine and a real need can raise one (``symcalc.limits.MAX_MATRIX_POWER =
5000``).
"""
from __future__ import annotations

from .errors import UnsupportedError

#: |k| of a matrix power A^k: the derivative of A^k is a sum of k products.
MAX_MATRIX_POWER = 1000

#: Decimal digits of a number written in an expression (9**64 has 62; ((9**64)**64)**64 would
#: have 250,000).
MAX_NUMBER_DIGITS = 1000

#: Entries of an explicit matrix or array built at concrete sizes (a unit matrix e_i e_jᵀ for an
#: entry X[i, j], a Kronecker product's gradient, a 4-way Jacobian): 100 x 100.
MAX_EXPLICIT_ENTRIES = 10_000

#: Terms of an index sum written out at concrete sizes (a partial range Σ_{i<n-1}).
MAX_SUM_TERMS = 10_000

#: The side of a matrix whose symbolic inverse or determinant is written out entry by entry (a
#: 4 x 4 symbolic inverse has terms by the thousand, and differentiating it runs for minutes).
MAX_EXPLICIT_INVERSE = 3


def refuse(what: str, limit_name: str, limit, advice: str = ""):
    """The UnsupportedError for ``what`` exceeding ``symcalc.limits.<limit_name>``."""
    text = f"{what} is beyond the limit symcalc.limits.{limit_name} = {limit}"
    raise UnsupportedError(text + (f"; {advice}" if advice else ""))


def check_entries(count, what: str, advice: str = ""):
    """Refuse to build an explicit object of more than MAX_EXPLICIT_ENTRIES entries."""
    if count > MAX_EXPLICIT_ENTRIES:
        refuse(f"{what} has {count} entries", "MAX_EXPLICIT_ENTRIES", MAX_EXPLICIT_ENTRIES,
               advice or "use symbolic sizes for a matrix form")
