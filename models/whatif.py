"""The exact what-if table behind the interactive panel of every HTML report.

The value model (:mod:`cruxfit.models.values`) is multilinear in the belief credences, and
the uncertain ratings are drawn independently of the credences with each approach's value a
product of independent rating factors. Two consequences make a small table enough:

* at a credence vector ``theta`` the expected value of approach ``a`` over the rating
  uncertainty is the value with every rating at its mean, ``E_r[V_a(theta, r)] =
  V_a(theta, E[r])``; and
* a multilinear function is fixed by its values at the corners of the unit cube:
  ``V_a(theta) = sum_z prod_v (theta_v if z_v else 1 - theta_v) * V_a(z)`` over the ``2^V``
  yes/no configurations ``z``.

So the table is the value model itself, evaluated (never re-implemented) at every corner with
mean ratings, personal fit and rating overrides included because they live in the
:class:`~cruxfit.models.values.ValueModel` instance. To keep it small each approach keeps only
the variables its value depends on (a variable is dropped when flipping it changes no corner
value by more than ``DROP_RTOL`` of the approach's largest value), so an approach touched by
four beliefs needs 16 numbers whatever the number of beliefs in the library.

The table is checked against the value model at random credence vectors before it is
returned; if the check fails (a future value model that is not multilinear) no table is
returned and the report says why instead of showing wrong numbers.
"""

from __future__ import annotations

import base64

import numpy as np

#: The what-if table is built by enumerating 2^V corners; beyond this many variables it is
#: not built (2^20 corners x approaches would no longer be "a small table").
MAX_VARIABLES = 20
#: A variable is dropped from an approach's table when flipping it moves no corner value by
#: more than this fraction of the approach's largest absolute corner value.
DROP_RTOL = 1e-14
#: The table must reproduce the value model to this relative tolerance at random credences.
CHECK_RTOL = 1e-10
#: How the corner values are stored (exact round trip of every double).
ENCODING = "float64-le-base64"

#: How the table is computed, as a code (worded by :mod:`cruxfit.reports.wording`).
METHOD = "multilinear-corners"


def corners(n_vars: int) -> np.ndarray:
    """All 2^n yes/no configurations, shape (2^n, n); row i has bit k of i in column k."""
    idx = np.arange(2**n_vars)
    return ((idx[:, None] >> np.arange(n_vars)[None, :]) & 1).astype(float)


def interpolate(values: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Multilinear interpolation of corner ``values`` (2^k,) at credences ``theta`` (n, k).

    Corner index bit ``j`` is variable ``j``; the sum over corners is done one variable at a
    time (the highest bit first), which is what the panel's JavaScript does too.
    """
    theta = np.atleast_2d(np.asarray(theta, float))
    k = theta.shape[1]
    out = np.broadcast_to(np.asarray(values, float), (theta.shape[0], 2**k)).copy()
    for j in reversed(range(k)):
        half = out.shape[1] // 2
        t = theta[:, j][:, None]
        out = out[:, :half] * (1 - t) + out[:, half:] * t
    return out[:, 0]


def encode(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, "<f8").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8").copy()


def build_table(vm, *, rng_seed: int = 20261129, checks: int = 64) -> dict:
    """The what-if table of a :class:`ValueModel`, JSON-ready.

    Returns ``{"available": True, "variables": [ids], "approaches": [slugs], "encoding",
    "tables": [{"variables": [indices into variables], "values": base64}], "method"}``, or
    ``{"available": False, "reason": {"code": ..., ...}}`` when the table cannot be exact
    (``method`` and ``reason`` are codes; :mod:`cruxfit.reports.wording` words them).
    """
    var_ids = list(vm.var_ids)
    n_vars = len(var_ids)
    if n_vars > MAX_VARIABLES:
        return {"available": False,
                "reason": {"code": "too-many-beliefs", "beliefs": n_vars,
                           "limit": MAX_VARIABLES}}
    z = corners(n_vars)
    full = vm.values(z, vm.mean_ratings(z.shape[0]))  # (2^V, A)
    tables = []
    for a in range(full.shape[1]):
        col = full[:, a]
        scale = float(np.max(np.abs(col))) or 1.0
        keep = []
        for v in range(n_vars):
            on = (np.arange(z.shape[0]) >> v) & 1
            diff = np.max(np.abs(col[on == 1] - col[on == 0]))
            if diff > DROP_RTOL * scale:
                keep.append(v)
        # Corners of the kept variables with every dropped variable at 0, in the order of
        # the kept variables' bits.
        sub = corners(len(keep))
        rows = np.zeros(sub.shape[0], dtype=np.int64)
        for j, v in enumerate(keep):
            rows += sub[:, j].astype(np.int64) << v
        tables.append({"variables": keep, "values": col[rows]})

    # Check the table against the value model itself at random credences (and the corners
    # are exact by construction): a model that is not multilinear fails here.
    rng = np.random.default_rng(rng_seed)
    theta = rng.uniform(0.0, 1.0, size=(checks, n_vars))
    want = vm.values(theta, vm.mean_ratings(checks))
    got = evaluate(tables, theta)
    tol = CHECK_RTOL * max(1.0, float(np.max(np.abs(full))))
    if not np.all(np.abs(got - want) <= tol):
        worst = float(np.max(np.abs(got - want)))
        return {"available": False,
                "reason": {"code": "not-multilinear", "missed_by": worst}}
    return {
        "available": True,
        "variables": var_ids,
        "approaches": list(vm.slugs),
        "encoding": ENCODING,
        "tables": [{"variables": t["variables"], "values": encode(t["values"])}
                   for t in tables],
        "method": METHOD,
    }


def evaluate(tables: list[dict], theta: np.ndarray) -> np.ndarray:
    """Expected values (n, approaches) at credences ``theta`` (n, variables) from tables
    whose ``values`` are arrays or base64 text."""
    theta = np.atleast_2d(np.asarray(theta, float))
    out = np.empty((theta.shape[0], len(tables)))
    for a, t in enumerate(tables):
        values = t["values"]
        if isinstance(values, str):
            values = decode(values)
        out[:, a] = interpolate(values, theta[:, t["variables"]])
    return out


def table_for(analysis) -> dict:
    """The what-if table of an analysis (its value model: overrides and personal fit)."""
    return build_table(analysis.value_model)
