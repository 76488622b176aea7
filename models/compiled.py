"""The individual model compiled once and reused across processes (issue 18, start-up).

Every ``cruxfit report`` used to build, rewrite and compile the same PyTensor graph: about
1.3 s of a warm report. Here the individual model takes the answers as *data* (``pm.Data``),
so its compiled NUTS step depends only on which statements were answered, not on the answers.
The model, its compiled log density with gradient and an empty trace (a :class:`Core`) are
serialised once; later runs load them and set their own answers with ``pm.set_data``.

This module holds no files. The caller hands :func:`sample_individual` a *store* with
``get(key) -> bytes | None`` and ``put(key, bytes)``: ``cruxfit.pipeline.compiled_store``
keeps the entries in a private folder and decides what may be read.

:func:`key` holds everything the compiled code depends on: the crux library's fingerprint, the
structure of the answers (which statements, their scales, loadings and tempering), and the
versions of Python, NumPy, SciPy, PyTensor, PyMC and cruxfit and the machine type.

Sampling goes through PyMC's own steps (its seeds per chain, ``init_nuts``, chain loop and
conversion to InferenceData), handed the compiled function instead of compiling one, so the
draws are bit for bit those of ``pm.sample`` on :func:`cruxfit.models.elicitation.build_model`
with the same seed, whether the core was just built or loaded (tested). Written against PyMC
5.28; a test pins that equality, so a PyMC whose internals moved fails it rather than
sampling differently.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import platform
import sys
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cruxfit.cruxes.version import cruxfit_version, dependency_versions, package_versions

#: Bump when the layout of an entry or of the model changes.
FORMAT = 3  # 1-2 were an experiment of an earlier session (benchmarks/experiments)


@dataclass
class Core:
    """A model whose answers are data, its compiled log density and gradient (what NUTS
    calls) and an empty trace to copy for each chain."""

    model: object
    logp_dlogp: object
    trace: object


class Store(Protocol):
    """Where serialised cores live between processes (see the module's docstring), told
    before and after PyTensor compiles or loads the model (it keeps the compiler's CPU
    flags too)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, blob: bytes) -> None: ...

    def before_compile(self) -> None: ...

    def after_compile(self) -> None: ...


def _versions() -> dict:
    return {"python": sys.version, "machine": platform.machine(), "format": str(FORMAT),
            "cruxfit": cruxfit_version(), **dependency_versions(),
            **package_versions(("scipy", "cloudpickle"))}


def structure(obs) -> dict:
    """What the compiled graph depends on, apart from the answers' values."""
    return {
        "statements": list(obs.statement),
        "ordinal": obs.ordinal.astype(int).tolist(),
        "load": [[float(x).hex() for x in row] for row in obs.load],
        "respondent": obs.respondent.tolist(),
        "n_respondents": int(obs.n_respondents),
        "precision": [float(x).hex() for x in obs.precisions()],
    }


def key(library, obs) -> str:
    doc = {"library": library.sha256, "structure": structure(obs), "versions": _versions()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- the model


def data_values(library, obs) -> dict[str, np.ndarray]:
    """The answers as the model's data arrays (what ``pm.set_data`` is given)."""
    from cruxfit.models.elicitation import answer_data

    return answer_data(library.settings, obs)


def build_model(library, obs):
    """:func:`cruxfit.models.elicitation.build_model` with the answers as data."""
    from cruxfit.models.elicitation import build_model as build

    return build(library, obs, answers_as_data=True)


def build_core(library, obs) -> Core:
    from pymc.backends.ndarray import NDArray
    from pymc.initial_point import make_initial_point_fn

    model = build_model(library, obs)
    with model:
        fn = model.logp_dlogp_function(ravel_inputs=True)
        fn.trust_input = True
        point = make_initial_point_fn(model=model, return_transformed=True)(0)
        trace = NDArray(model=model, vars=None, test_point=point)
    return Core(model, fn, trace)


def dumps(core: Core) -> bytes:
    import cloudpickle

    buf = io.BytesIO()
    cloudpickle.dump(core, buf, protocol=5)
    return buf.getvalue()


def loads(blob: bytes) -> Core | None:
    """The core in ``blob``, or None for anything else (a truncated or stale entry)."""
    import pickle

    try:
        core = pickle.loads(blob)  # only from the store's private folder (pipeline)
    except Exception:  # noqa: BLE001 - any broken entry is rebuilt
        return None
    return core if isinstance(core, Core) else None


def get_core(library, obs, store: Store) -> tuple[Core, str]:
    """(core, where it came from: "stored" or "built")."""
    k = key(library, obs)
    store.before_compile()
    blob = store.get(k)
    core = loads(blob) if blob is not None else None
    if core is not None:
        where = "stored"
    else:
        core, where = build_core(library, obs), "built"
        store.put(k, dumps(core))
    store.after_compile()
    return core, where


# --------------------------------------------------------------------------- sampling


def sample_core(core: Core, library, obs, *, draws: int, tune: int, chains: int, cores: int,
                seed: int, target_accept: float):
    """What ``pm.sample`` does for this NUTS-only model (PyMC 5.28), with the compiled core.

    The same seeds per chain, PyMC's own ``init_nuts`` (handed the compiled function), the same
    chain loop and the same conversion to InferenceData. Skipped: deriving the step method's
    log density from the model again (which rebuilds and compiles the graph) and compiling
    the trace's function again.
    """
    import pymc as pm
    from pymc.sampling import mcmc
    from pymc.util import get_random_generator

    model, fn = core.model, core.logp_dlogp
    with model:
        pm.set_data(data_values(library, obs))
    rngs = get_random_generator(seed).spawn(chains)
    seeds = [rng.integers(2**30) for rng in rngs]  # as pm.sample derives them
    with model:
        # PyMC's own initialisation, handed the compiled function instead of compiling one.
        model.logp_dlogp_function = lambda *a, **k: fn
        try:
            points, step = mcmc.init_nuts(init="jitter+adapt_diag", chains=chains, model=model,
                                          random_seed=seeds, progressbar=False, quiet=True,
                                          tune=tune, target_accept=target_accept)
        finally:
            del model.logp_dlogp_function
        mp_ctx = mcmc._initialize_multiprocessing_context(None, quiet=True)
        limiter, cores, blas_per_worker = mcmc.setup_cores_blas_cores("auto", chains, cores, mp_ctx)
        # One trace per chain, copied from the stored empty one. Each copy needs its own
        # ``samples`` dict: NDArray.setup fills it in place, so shallow copies would all
        # record into one array.
        traces = []
        for chain in range(chains):
            tr = copy.copy(core.trace)
            tr.samples = {}
            tr.setup(draws + tune, chain, step.stats_dtypes)
            traces.append(tr)
        args = {"draws": draws + tune, "step": step, "start": points, "traces": traces,
                "chains": chains, "tune": tune, "var_names": None, "progressbar": False,
                "model": model, "cores": cores, "callback": None,
                "discard_tuned_samples": True, "rngs": rngs}
        t0 = time.time()
        if cores > 1 and chains > 1:
            mcmc._mp_sample(**args, mp_ctx=mp_ctx, blas_cores=blas_per_worker)
        else:
            with limiter():
                mcmc._sample_many(**args)
        return mcmc._sample_return(
            run=None, traces=traces, tune=tune, t_sampling=time.time() - t0,
            discard_tuned_samples=True, compute_convergence_checks=False,
            return_inferencedata=True, keep_warning_stat=False, idata_kwargs={}, model=model,
            quiet=True)
