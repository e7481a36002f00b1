"""The picture of a fit: a QQ plot of the pick and the ECDF of the data against each candidate.

A QQ plot on log axes shows the tail (where a latency model usually fails: a p99 half the
measured one); the ECDF shows the body. Drawn with matplotlib's Agg backend (headless) and
written atomically (a crash never leaves half a PNG).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .fit import FitReport

#: the ECDF and QQ plots draw at most this many points (quantiles of the data beyond it)
MAX_POINTS = 2000


def plot_fit(report: FitReport, samples_seconds: np.ndarray, path: str | Path) -> Path:
    """Write ``path`` (PNG): QQ of the picked family (left), ECDF vs every candidate (right)."""
    from matplotlib.figure import Figure  # Figure with no pyplot: no GUI backend is touched

    x = np.sort(np.asarray(samples_seconds, dtype=np.float64).ravel())
    probs = (np.arange(1, MAX_POINTS + 1) - 0.5) / MAX_POINTS
    if x.size > MAX_POINTS:
        data_q = np.quantile(x, probs)
    else:
        data_q = x
        probs = (np.arange(1, x.size + 1) - 0.5) / x.size
    fig = Figure(figsize=(10, 4.2))
    qq, ecdf = fig.subplots(1, 2)
    pick = report.pick
    model_q = pick.model.dist().ppf(probs)
    qq.loglog(model_q, data_q, ".", ms=3, color="tab:blue", label="data")
    lo = float(min(model_q.min(), data_q.min()))
    hi = float(max(model_q.max(), data_q.max()))
    qq.loglog([lo, hi], [lo, hi], color="grey", lw=1, ls="--", label="y = x")
    qq.set_xlabel(f"{pick.name} quantile (s)")
    qq.set_ylabel("measured quantile (s)")
    qq.set_title(f"QQ: {pick.name} (the pick, KS {pick.ks:.3f})", fontsize=10)
    qq.legend(fontsize=8)
    qq.grid(alpha=0.3, which="both")
    ecdf.step(data_q, probs, where="post", color="black", lw=2, label="data (ECDF)")
    grid = np.geomspace(max(x[0], 1e-12), x[-1], 400)
    for c in report.candidates:
        ecdf.plot(grid, c.model.dist().cdf(grid), lw=1.2, label=f"{c.name} (KS {c.ks:.3f})")
    ecdf.set_xscale("log")
    ecdf.set_xlabel("latency (s)")
    ecdf.set_ylabel("fraction of requests at or below")
    ecdf.set_title("ECDF against the fitted CDFs", fontsize=10)
    ecdf.legend(fontsize=8, loc="lower right")
    ecdf.grid(alpha=0.3, which="both")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return path
