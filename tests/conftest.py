import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("gradkit", deadline=None, derandomize=True, max_examples=12,
                          print_blob=True)
settings.load_profile("gradkit")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
