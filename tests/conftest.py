import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("tnq", max_examples=30, deadline=None, derandomize=True)
settings.load_profile("tnq")

ATOL = {"complex128": 1e-10, "complex64": 2e-5}


@pytest.fixture
def rng():
    return np.random.default_rng(42)
