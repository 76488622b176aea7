"""Decision quantities from value draws: means, intervals, rank probabilities, verdict."""

from __future__ import annotations

import numpy as np

from cruxfit.cruxes.library import SEED_APPROACH, Library, VerdictRule

HDI_PROB = 0.9
INCONCLUSIVE = "inconclusive"


def hdi(samples: np.ndarray, prob: float = HDI_PROB) -> tuple[float, float]:
    """Narrowest interval holding ``prob`` of the samples (1-D)."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    k = max(1, int(np.floor(prob * n)))
    if k >= n:
        return float(x[0]), float(x[-1])
    widths = x[k:] - x[: n - k]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k])


def ranks(values: np.ndarray) -> np.ndarray:
    """0-based rank of every approach in every draw (0 = best); ties broken by order."""
    order = np.argsort(-values, axis=1, kind="stable")
    out = np.empty_like(order)
    rows = np.arange(values.shape[0])[:, None]
    out[rows, order] = np.arange(values.shape[1])[None, :]
    return out


def rank_summary(values: np.ndarray) -> dict[str, np.ndarray]:
    r = ranks(values)
    return {
        "mean": values.mean(axis=0),
        "p_best": (r == 0).mean(axis=0),
        "p_top3": (r < 3).mean(axis=0),
        "expected_rank": r.mean(axis=0) + 1,
    }


def verdict_for(rules: tuple[VerdictRule, ...], p_best: float, p_top3: float) -> VerdictRule:
    for rule in rules:
        if p_best >= rule.p_best_min and p_top3 >= rule.p_top3_min:
            return rule
    return rules[-1]


def margin(values: np.ndarray, target: int) -> float:
    """Target's mean value minus the highest mean value of any other approach."""
    means = values.mean(axis=0)
    others = np.delete(means, target)
    return float(means[target] - others.max())


def seed_index(slugs: tuple[str, ...]) -> int:
    return slugs.index(SEED_APPROACH)


def verdict_rules_text(library: Library) -> list[dict]:
    out = []
    for rule in library.settings.verdicts:
        conds = []
        if rule.p_best_min:
            conds.append(f"probability of ranking first at least {rule.p_best_min:.0%}")
        if rule.p_top3_min:
            conds.append(f"probability of being in the top three at least {rule.p_top3_min:.0%}")
        out.append({"label": rule.label, "p_best_min": rule.p_best_min,
                    "p_top3_min": rule.p_top3_min, "meaning": rule.meaning,
                    "condition": " and ".join(conds) if conds else "otherwise"})
    return out
