"""``packetflow-arena calibrate-gate SCENARIO --goal 0.95 --out gate_out``: an out-of-scope
threshold calibrated for the user's own scenario, written as an overlay for ``run --overlay``.

Why a command: ``physics.out_of_scope_threshold`` defaults to 0 (the gate is off), and a
threshold copied from another scenario means nothing for a new head and new data. This runs
the project's own calibration (:class:`arena.analysis.gate_calibration.OutOfScopeCalibrator`:
threshold from half the labelled arrivals with a cross-validated margin, judged on the other
half) on the scenario as given, and prints what the gate does on the rows it never saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis import check_out_dir
from ..errors import ScenarioError
from ..physics import OUT_OF_SCOPE_SCORES
from ..scenario import load_scenario, write_overlay
from .args import checked
from .options import add_overlay_option, add_set_option

if TYPE_CHECKING:  # annotations only
    import argparse

    from ..physics import GateFigures


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario",
        help="scenario YAML file: a learned head (attraction.kind: learned), a fallback zone, "
        "arrivals labelled out of scope (arrivals.out_of_scope_labels)",
    )
    p.add_argument(
        "--goal",
        type=checked(float, minimum=0.5, maximum=0.9999),
        default=0.95,
        help="in-scope zone accuracy the gate must keep (default 0.95)",
    )
    p.add_argument(
        "--score",
        choices=OUT_OF_SCOPE_SCORES,
        help="in-scope score (default: the scenario's attraction.out_of_scope_score)",
    )
    p.add_argument(
        "--holdout",
        type=checked(float, minimum=0.1, maximum=0.9),
        default=0.5,
        help="share of the labelled arrivals held back to judge the threshold (default 0.5)",
    )
    p.add_argument(
        "--folds",
        type=checked(int, minimum=2, maximum=20),
        default=5,
        help="cross-validation folds for the margin (default 5)",
    )
    add_set_option(p, "'arrivals.source.split=[val, oos_val]'")
    add_overlay_option(p)
    p.add_argument("--out", default="gate_out", help="directory for gate.yaml (an overlay)")


def run_cli(args: argparse.Namespace) -> int:
    from ..analysis.gate_calibration import OutOfScopeCalibrator

    out = check_out_dir(args.out)
    sc = load_scenario(args.scenario, overrides=args.overrides, overlays=args.overlays)
    score = args.score or sc.attraction.out_of_scope_score
    calibrator = OutOfScopeCalibrator(sc, holdout_fraction=args.holdout, folds=args.folds)
    try:
        cal = calibrator.calibrate(score, goal=args.goal)
    except ValueError as exc:  # the calibration's "no threshold keeps the goal": the user's call
        raise ScenarioError(
            sc.file, "--goal", f"{exc}; this head cannot keep that accuracy: try a lower --goal"
        ) from None
    overlay: dict = {"physics": {"out_of_scope_threshold": float(cal.threshold)}}
    if score != sc.attraction.out_of_scope_score:
        overlay["attraction"] = {"out_of_scope_score": score}
    lines = [
        f"out-of-scope gate for {sc.name}: score {score}, threshold {cal.threshold:.4g} "
        f"(keeps in-scope zone accuracy >= {args.goal:g} + margin {cal.margin:.3g})",
        f"calibration pool:  {_figures(cal.pool)}",
        f"held back (never used to choose it): {_figures(cal.holdout)}",
    ]
    path = write_overlay(
        Path(out) / "gate.yaml",
        overlay,
        "\n".join(lines)
        + f"\nrun it: packetflow-arena run {args.scenario} --overlay {Path(out) / 'gate.yaml'}",
    )
    print("\n".join(lines))
    print(f"wrote {path} (use it with run/sweep/tune/plan --overlay {path})")
    return 0


def _figures(g: GateFigures) -> str:
    ci = g.intervals()
    return (
        f"out-of-scope recall {g.recall:.3f} [{ci['recall'][0]:.3f}, {ci['recall'][1]:.3f}] "
        f"of {g.oos_total}, in-scope zone accuracy {g.zone_accuracy:.3f} "
        f"[{ci['zone_accuracy'][0]:.3f}, {ci['zone_accuracy'][1]:.3f}] of {g.in_scope_total}"
    )
