"""Settings shared by every test area (keep this file small).

Hypothesis runs derandomized and without an example database by default, so that the README's
test command sees the same examples on every machine and every run (a failure found once is a bug
to fix and a regression test to add, not something replayed from ``.hypothesis/``). Exploration
with fresh random examples: ``HYPOTHESIS_PROFILE=explore python -m pytest -m slow``.
No per-example deadline: the machine is shared and symbolic work varies in time.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow]
settings.register_profile("ci", deadline=None, derandomize=True, database=None, suppress_health_check=_QUIET)
settings.register_profile("explore", deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    """A seeded NumPy generator, so that random tests are reproducible."""
    return np.random.default_rng(0)
