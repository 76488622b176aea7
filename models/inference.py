"""Sampling the elicitation model, with convergence checks on every run."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cruxfit.cruxes.errors import CruxfitError, check_interrupt
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile import Profile
from cruxfit.models.elicitation import (
    Observations,
    build_model,
    build_org_model,
    member_log_odds,
    observations,
)


@dataclass
class Diagnostics:
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int
    tune: int
    target_accept: float
    attempts: int = 1
    reasons: list[dict] = field(default_factory=list)  # codes; reports/wording.py says them
    criteria: dict = field(default_factory=dict)
    model: str | None = None  # organisations: "integrated" or "explicit" (see sample)

    @property
    def converged(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict:
        return {
            "converged": self.converged,
            "r_hat_max": round(float(self.r_hat_max), 4),
            "ess_bulk_min": round(float(self.ess_bulk_min), 1),
            "ess_tail_min": round(float(self.ess_tail_min), 1),
            "divergences": int(self.divergences),
            "chains": self.chains,
            "draws": self.draws,
            "tune": self.tune,
            "target_accept": self.target_accept,
            "attempts": self.attempts,
            "reasons": [dict(r) for r in self.reasons],
            "criteria": dict(self.criteria),
            **({"model": self.model} if self.model else {}),
        }


@dataclass
class Posterior:
    """Posterior draws of credences: theta has shape (chains * draws, respondents, variables)."""

    theta: np.ndarray
    observations: Observations
    diagnostics: Diagnostics
    idata: object
    seconds: dict[str, float]
    org_theta: np.ndarray | None = None  # (draws, variables), organisations only
    tau: np.ndarray | None = None  # (draws, variables), organisations only
    compiled_model: str | None = None  # "stored" or "built" when a compiled store was given


class SamplingError(CruxfitError):
    """The sampler stopped before it produced every draw."""

    exit_code = 1


@contextlib.contextmanager
def _interrupt_guard():
    """Record Ctrl-C during sampling even if the sampler swallows the KeyboardInterrupt."""
    state = {"flag": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        state["flag"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def _org_vars(idata) -> tuple[str, ...]:
    return tuple(v for v in ("mu", "tau", "z_obs") if v in idata.posterior)


def check_convergence(idata, library: Library, respondent_slice=None,
                      var_names: Sequence[str] = ("theta",)) -> tuple[dict, list[str]]:
    """Worst R-hat, bulk and tail ESS over the named variables, and the divergences, with the
    reasons (if any) the run falls short of the library's bar.

    Rank-normalised split R-hat and bulk/tail ESS as ArviZ defines them, computed for all
    parameters at once (:mod:`cruxfit.models.diagnostics`; equal to ArviZ's to 1e-9, tested).
    A parameter whose diagnostic is undefined (a constant draw) is skipped, as xarray's
    ``max``/``min`` skip NaN; if every one is undefined the result is NaN and fails the bar.
    """
    from cruxfit.models.diagnostics import summarise

    post = idata.posterior[list(var_names)]
    if respondent_slice is not None:
        post = post.isel(respondent=respondent_slice)
    x = np.concatenate([post[v].values.reshape(post[v].shape[0], post[v].shape[1], -1)
                        for v in var_names], axis=2)
    r, bulk, tail = summarise(x)

    def worst(a: np.ndarray, pick) -> float:
        a = a[~np.isnan(a)]
        return float(pick(a)) if a.size else float("nan")

    rhat, ess_bulk, ess_tail = worst(r, np.max), worst(bulk, np.min), worst(tail, np.min)
    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    s = library.settings
    # Codes with their numbers; reports/wording.py says them (models hold no sentences).
    reasons = []
    if not np.isfinite(rhat) or rhat > s.r_hat_max:
        reasons.append({"code": "r-hat", "value": rhat, "limit": s.r_hat_max})
    if not np.isfinite(ess_bulk) or ess_bulk < s.ess_bulk_min:
        reasons.append({"code": "ess-bulk", "value": ess_bulk, "limit": s.ess_bulk_min})
    if not np.isfinite(ess_tail) or ess_tail < s.ess_tail_min:
        reasons.append({"code": "ess-tail", "value": ess_tail, "limit": s.ess_tail_min})
    if div > s.divergences_max:
        reasons.append({"code": "divergences", "value": div, "limit": s.divergences_max})
    return {"r_hat_max": rhat, "ess_bulk_min": ess_bulk, "ess_tail_min": ess_tail,
            "divergences": div}, reasons


@contextlib.contextmanager
def _one_blas_thread(active: bool):
    """One BLAS thread while the organisation's chains run: each chain is a process of its
    own, and their matrix-vector products are small, so OpenBLAS's threads only contend
    (measured ~30x slower on this 2-core machine when two chains each spun two threads).
    The limit is inherited by the chains' processes, which fork from this one."""
    if not active:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def import_quietly() -> None:
    """Import ArviZ and PyMC without their start-up notices on the user's terminal, and
    without Numba while ArviZ is imported.

    Numba is installed (PyTensor's optional backend needs it), so ArviZ compiles an ECDF
    helper with it as soon as ``arviz.stats.ecdf_utils`` is imported: about 0.5 s of every
    process's start-up (``python -X importtime -c "import pymc"``), for plots cruxfit never
    draws. Hidden from that one import, ArviZ falls back to the same functions in plain
    Python (its own fallback) and to NumPy where it would use Numba; cruxfit's diagnostics are
    its own (:mod:`cruxfit.models.diagnostics`). Numba is importable again afterwards.
    """
    import sys

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*BLAS.*")
        hide = "arviz" not in sys.modules and "numba" not in sys.modules
        if hide:
            sys.modules["numba"] = None  # type: ignore[assignment]  # import raises ImportError
        try:
            import arviz  # noqa: F401
        finally:
            if hide:
                del sys.modules["numba"]
        import pymc  # noqa: F401


def _quiet_pymc() -> None:
    import logging

    for name in ("pymc", "pymc.sampling", "pymc.sampling.mcmc", "pytensor", "pymc.stats.convergence"):
        logging.getLogger(name).setLevel(logging.ERROR)


def org_model_for(library: Library, requested: str = "auto") -> str:
    """Which organisation model runs: ``requested``, or for ``"auto"`` the environment's
    ``CRUXFIT_ORG_MODEL``, else the integrated model when the library allows it."""
    from cruxfit.models import pooled

    model = os.environ.get("CRUXFIT_ORG_MODEL", "auto") if requested == "auto" else requested
    if model == "auto":
        model = "integrated" if pooled.supported(library) else "explicit"
    if model not in ("integrated", "explicit"):
        raise ValueError(f"unknown organisation model {model!r}")
    if model == "integrated" and not pooled.supported(library):
        raise ValueError("the integrated organisation model takes components of at most two variables")
    return model


def sample(library: Library, profiles: Sequence[Profile], seed: int, *,
           draws: int | None = None, tune: int | None = None, chains: int | None = None,
           target_accept: float | None = None, retry: bool = True,
           say: Callable[[dict], None] | None = None, hierarchical: bool = False,
           cores: int = 1, diagnose: bool = True, store=None,
           org_model: str = "auto") -> Posterior:
    """Sample the posterior of the credences for one or more independent respondents.

    A run that fails the library's convergence bar is retried once with twice the tuning,
    a higher target acceptance and a derived seed; the diagnostics of the final attempt are
    returned with the reasons it fell short, if it did.

    ``diagnose=False`` (only with ``retry=False``) leaves R-hat and ESS to the caller - the
    batch checks each stacked respondent separately - and fills in NaN; the divergence count
    is still reported.

    ``store`` (one individual only): where the compiled model is kept between processes
    (:mod:`cruxfit.models.compiled`); the draws are the same with or without it.

    ``org_model`` (``hierarchical`` only): ``"integrated"`` samples the organisation's
    parameters with the members integrated out (:mod:`cruxfit.models.pooled`) and draws the
    members afterwards; ``"explicit"`` samples every member's credences with NUTS
    (:func:`~cruxfit.models.elicitation.build_org_model`); ``"auto"`` takes the integrated
    model named by the environment variable ``CRUXFIT_ORG_MODEL``, else the integrated one
    when the library allows it (:func:`org_model_for`).
    """
    if not diagnose and retry:
        raise ValueError("a retry needs the convergence check: pass retry=False with diagnose=False")
    say = say or (lambda msg: None)
    t0 = time.perf_counter()
    import_quietly()
    import pymc as pm

    _quiet_pymc()
    t_import = time.perf_counter() - t0
    s = library.settings
    draws, tune, chains = draws or s.draws, tune or s.tune, chains or s.chains
    target_accept = target_accept or s.target_accept
    obs = observations(library, profiles)
    attempts = 0
    t_build = t_sample = 0.0
    use_store = store is not None and not hierarchical and obs.n_respondents == 1
    compiled_from = None
    tabs = None
    if hierarchical:
        from cruxfit.models import pooled

        org_model = org_model_for(library, org_model)
        if org_model == "integrated":
            t1 = time.perf_counter()
            tabs = pooled.tables(library, obs)
            t_tables = time.perf_counter() - t1
    while True:
        attempts += 1
        t1 = time.perf_counter()
        if use_store:
            from cruxfit.models import compiled  # PyMC's internals: only with a store

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                core, where = compiled.get_core(library, obs, store)
            compiled_from = compiled_from or where
        elif tabs is not None:
            model = pooled.build_model(library, obs, tabs)
        else:
            model = (build_org_model if hierarchical else build_model)(library, obs)
        t_build += time.perf_counter() - t1
        t1 = time.perf_counter()
        check_interrupt()  # a Ctrl-C swallowed while the model compiled still stops here
        with warnings.catch_warnings(), _interrupt_guard() as interrupted:
            warnings.simplefilter("ignore")
            if use_store:
                idata = compiled.sample_core(
                    core, library, obs, draws=draws, tune=tune, chains=chains, cores=cores,
                    seed=int(seed) + (attempts - 1) * 7919, target_accept=target_accept)
            else:
                with model, _one_blas_thread(hierarchical):
                    idata = pm.sample(
                        draws=draws, tune=tune, chains=chains, cores=cores,
                        random_seed=int(seed) + (attempts - 1) * 7919,
                        target_accept=target_accept, progressbar=False,
                        compute_convergence_checks=False, return_inferencedata=True,
                        **({"init": os.environ.get("CRUXFIT_ORG_INIT", "jitter+adapt_diag")}
                           if tabs is not None else {}),
                    )
        # PyMC stops quietly on Ctrl-C and returns the draws it has: never analyse those.
        if interrupted["flag"]:
            raise KeyboardInterrupt
        got = int(idata.posterior.sizes.get("draw", 0)) * int(idata.posterior.sizes.get("chain", 0))
        if got != draws * chains:
            raise SamplingError(f"sampling stopped early ({got} of {draws * chains} draws)")
        t_sample += time.perf_counter() - t1
        if diagnose:
            stats, reasons = check_convergence(
                idata, library, var_names=_org_vars(idata) if hierarchical else ("theta",))
        else:
            div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
            stats = {"r_hat_max": float("nan"), "ess_bulk_min": float("nan"),
                     "ess_tail_min": float("nan"), "divergences": div}
            reasons = [{"code": "checked-by-caller"}]
        if not reasons or not retry or attempts >= 2:
            break
        say({"code": "retry", "reasons": reasons})  # worded by the pipeline's say
        tune = tune * 2
        # Too few effective draws, or R-hat noise across hundreds of parameters (large
        # organisations), is cured by more draws, not only by longer tuning.
        draws = draws * 2
        target_accept = max(target_accept, 0.97)
    extra = {}
    if hierarchical:
        from scipy.special import expit

        V = len(library.variables)
        mu = idata.posterior["mu"].values.reshape(-1, V)
        tau = idata.posterior["tau"].values.reshape(-1, V)
        z_obs = (idata.posterior["z_obs"].values.reshape(mu.shape[0], -1)
                 if "z_obs" in idata.posterior else None)
        rng = np.random.default_rng([int(seed), 0x2A])
        t1 = time.perf_counter()
        if tabs is not None:
            log_odds = pooled.draw_members(mu, tau, tabs, rng)
            theta = expit(log_odds, out=log_odds)  # in place: (draws, members, beliefs)
        else:
            theta = expit(member_log_odds(mu, tau, z_obs, obs, rng))
        t_members = time.perf_counter() - t1
        extra = {"org_theta": expit(mu), "tau": tau}
    else:
        theta = idata.posterior["theta"].values  # (chains, draws, R, V)
        theta = theta.reshape(-1, *theta.shape[2:])
    diag = Diagnostics(
        r_hat_max=stats["r_hat_max"], ess_bulk_min=stats["ess_bulk_min"],
        ess_tail_min=stats["ess_tail_min"], divergences=stats["divergences"], chains=chains,
        draws=draws, tune=tune, target_accept=target_accept, attempts=attempts, reasons=reasons,
        criteria={"r_hat_max": s.r_hat_max, "ess_bulk_min": s.ess_bulk_min,
                  "ess_tail_min": s.ess_tail_min, "divergences_max": s.divergences_max},
        model=org_model if hierarchical else None,
    )
    seconds = {"import": t_import, "build": t_build, "sample": t_sample}
    if hierarchical:
        seconds["members"] = t_members
        if tabs is not None:
            seconds["tables"] = t_tables
    return Posterior(theta, obs, diag, idata, seconds, compiled_model=compiled_from, **extra)


def compile_dir_is_warm() -> bool:
    """Best guess whether PyTensor's compile cache already holds compiled modules."""
    try:
        from pytensor.configdefaults import config
    except Exception:  # pragma: no cover
        return True
    path = getattr(config, "compiledir", None)
    if not path or not os.path.isdir(path):
        return False
    try:
        return sum(1 for _ in os.scandir(path)) > 20
    except OSError:
        return False
