"""The limits that keep every input bounded in time and memory.

Each limit is checked where the work it bounds would start, and exceeding it raises
``UnsupportedError`` naming the limit (docs/errors.md lists them). They are module constants so
that a user with a big machine and a real need can raise one (``symcalc.limits.MAX_MATRIX_POWER =
5000``).
"""
from __future__ import annotations

import functools
import sys
import threading

from .errors import UnsupportedError


class LimitError(UnsupportedError):
    """An input beyond one of these limits; the message names it."""


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

#: Entries of a variable differentiated by finite differences in a numeric check (each costs two
#: evaluations of the expression): 100 x 100.
MAX_CHECK_ENTRIES = 10_000

#: Entries of one random value drawn for a numeric check (a 1000 x 1000 matrix).
MAX_CHECK_VALUES = 1_000_000


def refuse(what: str, limit_name: str, limit, advice: str = ""):
    """The UnsupportedError for ``what`` exceeding ``symcalc.limits.<limit_name>``."""
    text = f"{what} is beyond the limit symcalc.limits.{limit_name} = {limit}"
    raise LimitError(text + (f"; {advice}" if advice else ""))


def _text(what) -> str:
    """``what``, or what it returns when it is a function (messages about big expressions are
    written only when they are raised)."""
    return what() if callable(what) else what


def check_numeric(rows, cols, what, limit_name: str):
    """Refuse a numeric check whose variable or value is too big to evaluate in bounded time."""
    count, limit = int(rows) * int(cols), globals()[limit_name]
    if count > limit:
        raise LimitError(
            f"{_text(what)} is {rows} x {cols}: {count} entries, more than symcalc.limits.{limit_name} = "
            f"{limit} for a numeric check; check at smaller sizes (declare the sizes as names, "
            "such as --shape x=n, and the check draws small ones)")


def check_entries(count, what, advice: str = ""):
    """Refuse to build an explicit object of more than MAX_EXPLICIT_ENTRIES entries."""
    if count > MAX_EXPLICIT_ENTRIES:
        raise LimitError(
            f"{_text(what)} would have {count} entries, more than symcalc.limits.MAX_EXPLICIT_ENTRIES = "
            f"{MAX_EXPLICIT_ENTRIES}; {advice or 'use symbolic sizes for a matrix form'}")


# --------------------------------------------------------------------------- deep expressions

#: Python frames a deep expression may use (SymPy's printers, substitution and sorting recurse
#: once per level of nesting): a 300-layer network's gradient needs about 20,000.
MAX_RECURSION = 200_000

#: The stack of the thread that runs deep work (the main thread's 8 MB overflows near 15,000
#: frames, with a segmentation fault rather than a RecursionError).
STACK_BYTES = 1 << 30

_local = threading.local()
_lock = threading.Lock()
_active = {"count": 0, "limit": None}


def deep(function):
    """Run ``function`` where deep recursion is safe: in a thread with a STACK_BYTES stack, under a
    recursion limit of MAX_RECURSION (only the outermost call starts a thread). A RecursionError
    that still happens becomes a LimitError naming the limit."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        if getattr(_local, "inside", False):
            return function(*args, **kwargs)
        box = {}

        def work():
            _local.inside = True
            try:
                box["value"] = function(*args, **kwargs)
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = err

        with _lock:
            if _active["count"] == 0:
                _active["limit"] = sys.getrecursionlimit()
                sys.setrecursionlimit(max(_active["limit"], MAX_RECURSION))
            _active["count"] += 1
        try:
            _start(work, f"symcalc-{function.__name__}").join()
        finally:
            with _lock:
                _active["count"] -= 1
                if _active["count"] == 0:
                    sys.setrecursionlimit(_active["limit"])
        if "error" in box:
            err = box["error"]
            if isinstance(err, RecursionError):
                raise LimitError(
                    f"{function.__name__}: the expression is nested deeper than "
                    f"symcalc.limits.MAX_RECURSION = {MAX_RECURSION} Python frames allow") from err
            raise err
        return box["value"]

    return run


def _start(target, name):
    """A started daemon thread with a STACK_BYTES stack (256 MB where the platform refuses that)."""
    with _lock:
        try:
            previous = threading.stack_size(STACK_BYTES)
        except ValueError:
            previous = threading.stack_size(256 << 20)
        try:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    return thread
