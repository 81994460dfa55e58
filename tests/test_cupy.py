"""CuPy arrays through gradkit, where a GPU is present (skipped otherwise): the primitive
table's values and gradients equal NumPy's and stay on the device."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import cases_core  # noqa: F401  (each cases_* module registers its cases in CASES)
import cases_elementwise  # noqa: F401
import cases_linalg  # noqa: F401
import cases_scipy  # noqa: F401
import cases_series  # noqa: F401
import cases_shaping  # noqa: F401
import cases_statistics  # noqa: F401
import gradkit as gk
import gradkit.numpy as gnp
from gradkit.errors import GradkitError
from gradkit.graph import raw
from primtable import CASES, PROFILE

cp = pytest.importorskip("cupy")
try:
    if cp.cuda.runtime.getDeviceCount() < 1:
        pytest.skip("no GPU", allow_module_level=True)
except cp.cuda.runtime.CUDARuntimeError:
    pytest.skip("no GPU", allow_module_level=True)

FEWER = settings(PROFILE, max_examples=3, phases=[Phase.explicit, Phase.generate])


def _on_device(tree) -> bool:
    return all(isinstance(x, cp.ndarray) for x in gk.tree_flatten(tree)[0])


@pytest.mark.parametrize("name", list(CASES))
@FEWER
@given(data=st.data())
def test_cupy_values_and_gradients_equal_numpy(name, data):
    ex = data.draw(CASES[name], label=name)
    n = len(ex.args)
    on_gpu = tuple(cp.asarray(a) for a in ex.args)
    loss = gk.value_and_grad(lambda *a: gnp.sum(ex.f(*a) ** 2), argnums=tuple(range(n)))
    try:
        got = gk.tree_map(raw, ex.f(*[gk.Tensor(a) for a in on_gpu]))
        v, g = loss(*on_gpu)
    except GradkitError as e:  # an operation CuPy lacks, refused by name
        assert "cupy" in str(e)
        return
    assert _on_device(got) and _on_device((v, g)), f"{name}: a result left the device"
    gk.tree_map(lambda a, b: np.testing.assert_allclose(cp.asnumpy(a), b, rtol=1e-12,
                                                        atol=1e-12), got, ex.f(*ex.args))
    v_want, g_want = loss(*ex.args)
    np.testing.assert_allclose(cp.asnumpy(v), v_want, rtol=1e-12)
    gk.tree_map(lambda a, b: np.testing.assert_allclose(cp.asnumpy(a), b, rtol=1e-10,
                                                        atol=1e-12), g, g_want)

