"""What every figure module shares: the matplotlib backend and the axis label of a column.

Matplotlib is used with the non-interactive Agg backend when no display or notebook backend is
configured, so plots work headless (CI, batch runs) and in notebooks alike; importing this
module before ``matplotlib.pyplot`` makes that choice.
"""

from __future__ import annotations

import matplotlib

if (
    not matplotlib.get_backend()
    .lower()
    .startswith(
        # GUI toolkits, and notebook backends (matplotlib >= 3.9 names the inline one "inline")
        ("module://", "qt", "tk", "gtk", "wx", "macosx", "inline", "nbagg", "widget", "ipympl")
    )
):
    matplotlib.use("Agg")


LABELS = {
    "routing_accuracy": "routing accuracy (share to the right zone)",
    "capability_accuracy": "capability accuracy",
    "wait_p95": "p95 wait (ms)",
    "wait_p50": "median wait (ms)",
    "wait_mean": "mean wait (ms)",
    "wait_p99": "p99 wait (ms)",
    "latency_p50": "median latency (ms)",
    "latency_p95": "p95 latency (ms)",
    "latency_p99": "p99 latency (ms)",
    "latency_mean": "mean latency (ms)",
    "ttft_p99": "p99 time to first token (ms)",
    "ttft_p50": "median time to first token (ms)",
    "cache_hit_rate": "prefix-cache hit rate",
    "dropped": "dropped intents",
    "utilisation_mean": "mean zone utilisation",
}


def axis_label(column: str) -> str:
    """A sweep column's axis label (units included); unknown columns keep their name."""
    return LABELS.get(column, column)
