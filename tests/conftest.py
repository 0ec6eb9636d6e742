"""Settings shared by every test area (keep this file small).

Hypothesis: no per-example deadline (the machine is shared; symbolic work varies in time) and, with
``HYPOTHESIS_PROFILE=ci``, a derandomized run so that CI sees the same examples every time.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def rng():
    """A seeded NumPy generator, so that random tests are reproducible."""
    return np.random.default_rng(0)
