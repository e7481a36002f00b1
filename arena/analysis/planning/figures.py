"""What each planning run reports, and what a candidate's seeds say with confidence.

:class:`ZoneFigures` is the sweep's ``collect`` hook: besides the usual summary row, a run
reports, per objective and zone, the two sides of the objective's budget (see
:mod:`.slo`), and per zone its utilisation, wait quantile and drop rate. :func:`interval` turns
the per-seed values of a candidate into a ``scipy.stats`` confidence interval.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...model.ledger import COMPLETED, DROPPED, IN_SERVICE
from .slo import Objective

if TYPE_CHECKING:  # annotations only
    import pandas as pd

    from ...model import ArenaModel

NO_ZONE = "_none"  # arrivals no zone ever held (dropped in flight, out of scope without fallback)


@dataclass(frozen=True)
class ZoneFigures:
    """The collect hook of planning sweeps (picklable: a module-level class of plain data).

    Columns: ``m.<metric>`` (the run's value of each objective's metric), ``n.<metric>.<zone>``
    and ``d.<metric>.<zone>`` (the budget's numerator and denominator in the zone),
    ``z.<zone>.<figure>`` for figure in ``util``, ``wait_q``, ``drop_rate``, ``arrived``.
    ``wait_quantile`` is the quantile reported per zone (the first wait objective's, or 0.95).
    """

    objectives: tuple[Objective, ...]
    wait_quantile: float = 0.95

    def __call__(self, model: ArenaModel) -> dict[str, float]:
        L = model.ledger
        names = list(model.zone_names)
        zone = L.zone.astype(np.int64)
        served = (L.state == IN_SERVICE) | (L.state == COMPLETED)
        dropped = L.state == DROPPED
        times = {"wait": (L.start - L.arrival), "response": (L.end - L.arrival)}
        held = zone >= 0
        arrived_z = np.bincount(zone[held], minlength=len(names))
        served_z = np.bincount(zone[served], minlength=len(names))
        out: dict[str, float] = {}
        for o in self.objectives:
            num, den, value = _budget(o, zone, served, dropped, times, len(names))
            den_total = len(L) if o.kind == "drop_rate" else served_z.sum()
            for i, name in enumerate(names):
                out[f"n.{o.metric}.{name}"] = float(num[i])
                out[f"d.{o.metric}.{name}"] = float(den[i])
            out[f"n.{o.metric}.{NO_ZONE}"] = float(num[-1])
            out[f"d.{o.metric}.{NO_ZONE}"] = float(den_total - den[:-1].sum())
            out[f"m.{o.metric}"] = value
        util = _utilisation(model)
        wait = times["wait"]
        for i, name in enumerate(names):
            here = served & (zone == i)
            out[f"z.{name}.util"] = util.get(name, np.nan)
            out[f"z.{name}.wait_q"] = (
                float(np.percentile(wait[here], 100 * self.wait_quantile)) if here.any() else 0.0
            )
            out[f"z.{name}.drop_rate"] = (
                float((dropped & (zone == i)).sum() / arrived_z[i]) if arrived_z[i] else 0.0
            )
            out[f"z.{name}.arrived"] = float(arrived_z[i])
            out[f"z.{name}.served"] = float(served_z[i])
        return out


def _budget(
    o: Objective,
    zone: np.ndarray,
    served: np.ndarray,
    dropped: np.ndarray,
    times: dict[str, np.ndarray],
    zones: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per zone (and one last entry for no zone): the budget's numerator and denominator, and
    the run's metric value."""
    bins = np.where(zone >= 0, zone, zones)

    def per_zone(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(bins[mask], weights=w, minlength=zones + 1).astype(float)

    if o.kind == "drop_rate":
        value = float(dropped.sum() / len(zone)) if len(zone) else np.nan
        return per_zone(dropped), per_zone(np.ones(len(zone), dtype=bool)), value
    t = times["wait" if o.kind == "wait_mean" else o.kind].astype(float)
    den = per_zone(served)
    if not served.any():
        return np.zeros(zones + 1), den, np.nan
    if o.kind == "wait_mean":
        return per_zone(served, t), den, float(t[served].mean())
    num = per_zone(served & (t > o.target))
    if o.per_zone:
        value = max(
            float(np.percentile(t[served & (zone == i)], 100 * o.quantile))
            for i in range(zones)
            if (served & (zone == i)).any()
        )
    else:
        value = float(np.percentile(t[served], 100 * o.quantile))
    return num, den, value


def _utilisation(model: ArenaModel) -> dict[str, float]:
    """Mean share of busy slots per zone over the scenario's day (not the drain after it)."""
    frame = model.zone_load_frame()
    day = frame[frame["time_s"] <= model.scenario.duration]
    return {str(k): float(v) for k, v in day.groupby("zone")["utilisation"].mean().items()}


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with its two-sided confidence interval (``low``, ``high``)."""

    mean: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high}


def interval(
    values: Sequence[float],
    confidence: float,
    *,
    events: float | None = None,
    trials: float | None = None,
) -> Interval:
    """Student-t interval of the per-seed ``values`` (``scipy.stats.t``). For a rate give the
    pooled ``events`` / ``trials`` too: the upper end is then also at least the exact
    Clopper-Pearson bound (``scipy.stats.binomtest``), so zero drops in every seed still leave
    an honest ``~3 / trials`` of doubt instead of a zero-width interval."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if not len(x) or not np.isfinite(x).all():
        return Interval(float("nan"), float("nan"), float("nan"))
    mean = float(x.mean())
    low = high = mean
    if len(x) > 1 and x.std(ddof=1) > 0:
        low, high = (float(v) for v in stats.t.interval(confidence, len(x) - 1, mean, stats.sem(x)))
    if events is not None and trials is not None and trials > 0:
        k, n = round(events), round(trials)
        ci = stats.binomtest(min(k, n), n).proportion_ci(confidence, method="exact")
        high = max(high, float(ci.high))
        low = max(0.0, min(low, float(ci.low)))
    return Interval(mean, low, high)


def budget_statistic(rows: pd.DataFrame, o: Objective) -> tuple[np.ndarray, float, float]:
    """Per seed, the statistic the objective bounds by ``o.share``: ``Σ numerator / Σ
    denominator`` (the share waiting longer than the target, the mean wait, the drop rate),
    or its worst zone for the ``zone_`` metrics; and the pooled counts (for a count share)."""
    n = rows.filter(regex=rf"^n\.{re.escape(o.metric)}\.").to_numpy(dtype=float)
    d = rows.filter(regex=rf"^d\.{re.escape(o.metric)}\.").to_numpy(dtype=float)
    if o.per_zone:
        n, d = n[:, :-1], d[:, :-1]  # the last column: no zone
        share = np.divide(n, d, out=np.zeros_like(n), where=d > 0)
        worst = share.argmax(axis=1)
        picked = np.arange(len(rows))
        return share.max(axis=1), float(n[picked, worst].sum()), float(d[picked, worst].sum())
    total = d.sum(axis=1)
    stat = np.divide(n.sum(axis=1), total, out=np.full(len(rows), np.nan), where=total > 0)
    return stat, float(n.sum()), float(d.sum())


def objective_intervals(
    rows: pd.DataFrame, objectives: Sequence[Objective], confidence: float
) -> dict[str, Interval]:
    """Each objective's budget statistic (see :func:`budget_statistic`) over the seeds of one
    candidate's rows, as an interval; the objective holds when its ``high`` is at most
    ``o.share``."""
    out = {}
    for o in objectives:
        stat, events, trials = budget_statistic(rows, o)
        counts = o.kind != "wait_mean"
        out[o.metric] = interval(
            stat,
            confidence,
            events=events if counts else None,
            trials=trials if counts else None,
        )
    return out


def value_intervals(
    rows: pd.DataFrame, objectives: Sequence[Objective], confidence: float
) -> dict[str, Interval]:
    """Each objective's metric as ``run`` reports it (e.g. the p95 wait), over the seeds."""
    return {o.metric: interval(rows[f"m.{o.metric}"], confidence) for o in objectives}
