"""One analysis end to end: sample, evaluate, summarise, word, check.

Every result - a report's, a batch's stacked run's, serve's - is completed by
:func:`complete` (value of information, the deciding beliefs, the what-if table, the wording:
models leave codes, reports/wording.py says them), then :func:`stamped` gives it its timing
and checks it against the declared result schema (models/result.py), so nothing unchecked
reaches a renderer or a file.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile import Profile
from cruxfit.models import voi
from cruxfit.models.analysis import Analysis, analyse
from cruxfit.models.compare import compare_analyses
from cruxfit.models.decision import deciding_beliefs
from cruxfit.models.organisation import analyse_organisation, org_to_dict
from cruxfit.models.result import checked
from cruxfit.models.whatif import table_for
from cruxfit.pipeline.compiled_store import process_store
from cruxfit.reports.files import OutputError, _check_parent
from cruxfit.reports.wording import add_wording, notice


def run_analysis(library: Library, profile: Profile, seed: int, *,
                 say: Callable[[str], None] | None = None, **kwargs) -> tuple[dict, Analysis]:
    """Return (result dict, analysis). Timing fields live under ``timing`` only."""
    t0 = time.perf_counter()
    kwargs.setdefault("store", process_store())  # the compiled model, kept between runs
    analysis = analyse(library, profile, seed, say=spoken(say), **kwargs)
    t1 = time.perf_counter()
    result = complete(analysis.to_dict(), analysis)
    t2 = time.perf_counter()
    return stamped(result, {**analysis.seconds, "summarise": t2 - t1, "analysis_total": t2 - t0}), analysis


def run_org_analysis(library: Library, org, seed: int, *,
                     say: Callable[[str], None] | None = None, **kwargs):
    """The organisation edition: pooled verdict, members, disagreement, crux to discuss."""
    t0 = time.perf_counter()
    oa = analyse_organisation(library, org, seed, say=spoken(say), **kwargs)
    t1 = time.perf_counter()
    result = complete(org_to_dict(oa), oa.org)
    t2 = time.perf_counter()
    return stamped(result, {**oa.seconds, "summarise": t2 - t1, "analysis_total": t2 - t0}), oa


def run_any(library: Library, subject, seed: int, **kwargs):
    """Run the right analysis for an individual Profile or an Organisation."""
    if getattr(subject, "kind", "individual") == "organisation":
        return run_org_analysis(library, subject, seed, **kwargs)
    return run_analysis(library, subject, seed, **kwargs)


def run_compare(library: Library, subject_a, subject_b, seed: int, *,
                say: Callable[[str], None] | None = None) -> dict:
    """Analyse two profiles (either may be an organisation) with one seed, then compare.

    Both runs use the same seed and number of draws, so the comparison's rating draws
    coincide with each profile's own and only beliefs (and overrides) differ.
    """
    t0 = time.perf_counter()
    results, analyses = [], []
    for subject in (subject_a, subject_b):
        result, analysis = run_any(library, subject, seed, say=say)
        results.append(result)
        analyses.append(getattr(analysis, "org", analysis))
    comparison = add_wording(compare_analyses(*analyses))
    comparison["results"] = {"a": results[0], "b": results[1]}
    comparison["provenance"] = {**results[0]["provenance"],
                                "input_sha256": [r["provenance"]["input_sha256"] for r in results]}
    comparison["diagnostics"] = {"a": results[0]["diagnostics"], "b": results[1]["diagnostics"]}
    return stamped(comparison, {"total": time.perf_counter() - t0})


def spoken(say: Callable[[str], None] | None) -> Callable | None:
    """The models' progress notices (codes) in words for ``say``, which takes text."""
    if say is None:
        return None
    return lambda event: say(notice(event))


def complete(result: dict, analysis: Analysis) -> dict:
    """Complete an evaluated result: value of information, deciding beliefs, what-if, wording.

    The caller then passes it to :func:`stamped` (run_analysis, run_org_analysis, the batch).
    """
    result.update(voi.voi_summary(analysis))
    deciding_beliefs(result)
    result["whatif"] = table_for(analysis)
    add_wording(result)  # the models leave codes where the result carries sentences
    return result


def stamped(result: dict, seconds: dict) -> dict:
    """Give a completed result its timing and check it against the result schema."""
    result["timing"] = {
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    return checked(result)


def save_posterior(analysis: Analysis, path: Path) -> None:
    """Write the InferenceData as NetCDF, atomically."""
    posterior = analysis.posterior
    if posterior is None:
        raise OutputError("no posterior to save")
    path = Path(path)
    _check_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part",
                               dir=path.parent or ".")
    os.close(fd)
    try:
        posterior.idata.to_netcdf(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
