"""One analysis end to end, as the CLI runs it: sample, evaluate, summarise."""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Callable

from cruxfit.cruxes.library import Library
from cruxfit.models.analysis import Analysis, analyse
from cruxfit.models.profile import Profile


def run_analysis(library: Library, profile: Profile, seed: int, *,
                 say: Callable[[str], None] | None = None, **kwargs) -> tuple[dict, Analysis]:
    """Return (result dict, analysis). Timing fields live under ``timing`` only."""
    t0 = time.perf_counter()
    analysis = analyse(library, profile, seed, say=say, **kwargs)
    t1 = time.perf_counter()
    result = analysis.to_dict()
    try:
        from cruxfit.models import voi  # noqa: PLC0415 - optional until issue 5 lands
    except ImportError:  # pragma: no cover
        voi = None
    if voi is not None and hasattr(voi, "voi_summary"):
        result.update(voi.voi_summary(analysis))
    t2 = time.perf_counter()
    result["timing"] = {
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "seconds": {k: round(v, 3) for k, v in {**analysis.seconds, "summarise": t2 - t1,
                                                 "analysis_total": t2 - t0}.items()},
    }
    return result, analysis


def save_posterior(analysis: Analysis, path: Path) -> None:
    """Write the InferenceData as NetCDF, atomically."""
    import os
    import tempfile

    from cruxfit.reports.files import OutputError, _check_parent

    if analysis.posterior is None:
        raise OutputError("no posterior to save")
    path = Path(path)
    _check_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    os.close(fd)
    try:
        analysis.posterior.idata.to_netcdf(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
