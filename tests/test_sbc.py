"""Simulation-based calibration of the elicitation model (Talts et al. 2018).

Draw a true credence from the prior, simulate answers from the likelihood, sample the
posterior, and record the rank of the true value among posterior draws. If the sampler and
the model agree, ranks are uniform. Many simulated respondents are stacked into one model
(they are independent), so one sampling run covers all of them.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from scipy.special import expit, logit
from scipy.stats import chisquare

from cruxfit.cruxes.library import load_library
from cruxfit.models.elicitation import precision
from cruxfit.models.inference import sample
from cruxfit.cruxes.profile import parse_profile

LIB = load_library()
N_SIM = 100
N_RANK = 99  # posterior draws per rank statistic (ranks take values 0..99)


def simulate_answers(rng, theta_true):
    """Answers to the safety statements and one probability statement, from the likelihood,
    tempered as the model tempers them: each answer's log-odds scale times its precision
    1 / sqrt(1 + (n - 1) rho), n being the answers on the same belief."""
    s = LIB.settings
    cuts = np.array(s.cutpoints)
    chosen = [st for st in LIB.statements
              if len(st.loads) == 1 and st.loads[0].variable in theta_true]
    n_same = {v: sum(st.variable == v for st in chosen) for v in theta_true}
    answers = {}
    for st in chosen:
        ld = st.loads[0]
        prec = float(precision(n_same[st.variable], s.item_correlation))
        x = ld.sign * logit(theta_true[ld.variable])
        if st.scale == "agree7":
            cdf = np.concatenate([[0.0], expit(prec * (cuts - s.discrimination * x)), [1.0]])
            answers[st.id] = int(rng.choice(7, p=np.diff(cdf))) + 1
        else:
            p = expit(rng.normal(x, s.sd_logit / prec))
            answers[st.id] = float(np.clip(p, 0.0, 1.0))
    return answers


@pytest.mark.slow
def test_simulation_based_calibration_ranks_are_uniform():
    rng = np.random.default_rng(20261127)
    variables = ["safety", "short-timelines"]
    truths, profiles = [], []
    for i in range(N_SIM):
        truth = {v: rng.beta(LIB.variable(v).prior.alpha, LIB.variable(v).prior.beta) for v in variables}
        truths.append(truth)
        profiles.append(parse_profile({"name": f"sim{i}", "answers": simulate_answers(rng, truth)}, LIB))
    post = sample(LIB, profiles, seed=99, draws=1000, tune=500, retry=False)
    # Across 900 parameters the strict per-report bar is not the point here; the variables
    # under study must still have mixed well for their ranks to mean anything.
    rhat = az.rhat(post.idata, var_names=["theta"])["theta"].sel(variable=variables)
    assert float(rhat.max()) < 1.02
    assert post.diagnostics.divergences == 0
    keep = np.linspace(0, post.theta.shape[0] - 1, N_RANK).astype(int)
    for v in variables:
        j = LIB.variable_ids.index(v)
        draws = post.theta[keep, :, j]  # (N_RANK, N_SIM)
        truth = np.array([t[v] for t in truths])
        ranks = (draws < truth[None, :]).sum(axis=0)
        counts = np.histogram(ranks, bins=10, range=(0, N_RANK + 1))[0]
        assert chisquare(counts).pvalue > 0.001, (v, counts)
        # The central 90% interval covers the truth about 90% of the time.
        lo, hi = np.quantile(post.theta[:, :, j], [0.05, 0.95], axis=0)
        coverage = np.mean((truth > lo) & (truth < hi))
        assert 0.8 <= coverage <= 0.97, (v, coverage)
