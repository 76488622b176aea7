"""The vectorised R-hat and ESS must give ArviZ's numbers, parameter by parameter."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cruxfit.models.diagnostics import summarise


def _arviz(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import arviz as az

    out = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in range(x.shape[2]):
            d = az.convert_to_dataset(x[:, :, p])
            out[0].append(float(az.rhat(d, method="rank")["x"]))
            out[1].append(float(az.ess(d, method="bulk")["x"]))
            out[2].append(float(az.ess(d, method="tail")["x"]))
    return tuple(np.array(o) for o in out)


def _ar1(rng, chains, draws, phis, offsets=None):
    """AR(1) chains, one parameter per phi (negative phi: anticorrelated draws)."""
    x = np.empty((chains, draws, len(phis)))
    e = rng.standard_normal((chains, draws, len(phis)))
    x[:, 0] = e[:, 0]
    for t in range(1, draws):
        x[:, t] = np.asarray(phis) * x[:, t - 1] + e[:, t]
    if offsets is not None:
        x = x + np.asarray(offsets)[:, None, None]
    return x


@pytest.mark.parametrize("chains,draws", [(2, 1000), (4, 250), (2, 7), (3, 33)])
def test_matches_arviz_on_autocorrelated_and_anticorrelated_chains(chains, draws):
    rng = np.random.default_rng(chains * 1000 + draws)
    phis = [0.0, 0.3, 0.9, 0.99, -0.5, -0.9]
    x = _ar1(rng, chains, draws, phis)
    # Skewed, heavy-tailed and bounded shapes too (rank-normalisation must not care).
    x = np.concatenate([x, np.exp(x[:, :, :2]), 1 / (1 + np.exp(-3 * x[:, :, 2:4]))], axis=2)
    got = summarise(x)
    want = _arviz(x)
    for g, w, name in zip(got, want, ("rhat", "ess_bulk", "ess_tail")):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9, err_msg=name)


def test_matches_arviz_when_chains_disagree_and_with_ties():
    rng = np.random.default_rng(7)
    x = _ar1(rng, 2, 400, [0.2, 0.2, 0.6], offsets=[0.0, 0.8])
    x[:, :, 1] = np.round(x[:, :, 1], 1)  # many ties
    got = summarise(x)
    want = _arviz(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9)
    assert got[0][0] > 1.1  # the offset chains are flagged


def test_constant_and_nan_parameters_behave_as_in_arviz():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 100, 3))
    x[:, :, 1] = 0.5  # constant
    x[0, 3, 2] = np.nan
    rhat, bulk, tail = summarise(x)
    want = _arviz(x[:, :, :2])
    np.testing.assert_allclose(rhat[:2], want[0], rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(bulk[:2], want[1], rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(tail[:2], want[2], rtol=1e-9, equal_nan=True)
    assert np.isnan(rhat[2]) and np.isnan(bulk[2]) and np.isnan(tail[2])


def test_refuses_a_single_chain():
    with pytest.raises(ValueError, match="2 chains"):
        summarise(np.zeros((1, 100, 2)))
