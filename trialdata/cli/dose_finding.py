"""Dose-finding commands: ``trialdata escalation FOLDER`` and ``trialdata simulate``.

``escalation`` loads a trial folder, tabulates treated / DLT-evaluable subjects and DLTs
per dose level (per route when the protocol has several) and prints the protocol
design's decision with its reasoning. ``simulate`` reads a ``DESIGN.toml`` and prints
operating characteristics.

DESIGN.toml
-----------
::

    n_doses = 5            # required
    n_trials = 10000       # default 10000
    seed = 1               # default 1
    target = 0.3           # optional: target DLT rate defining the true MTD
    chunk_size = 10000     # optional
    scheduler = "tcp://host:8786"   # optional Dask scheduler

    [[design]]             # one table per design, at least one
    method = "BOIN"        # BOIN | CRM | TITE-CRM | 3+3 | mTPI-2 | i3+3
    name = "BOIN"          # optional label
    target = 0.3
    cohort_size = 3
    n_cohorts = 10

    [[design]]
    method = "CRM"
    target = 0.3
    skeleton = { halfwidth = 0.05, nu = 3 }   # or a list of probabilities

    [scenarios]            # name = true DLT probability per dose
    A = [0.05, 0.15, 0.30, 0.45, 0.60]

Every problem is reported with the field it concerns and exits with code 2.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trialdata.cli._errors import fail
from trialdata.cli._options import FormatOption, OutputFormat, QuietOption
from trialdata.cli.escalation import escalation_report
from trialdata.errors import InputError, TrialDataError

if TYPE_CHECKING:
    from analyses.dose_finding import DoseFindingDesign

__all__ = [
    "OutputFormat",
    "SimulationSpec",
    "escalation_report",
    "parse_simulation_spec",
    "register",
]

_COMMON: dict[str, type | tuple[type, ...]] = {
    "method": str,
    "name": str,
    "target": (int, float),
    "start_dose": int,
}
_SIZE: dict[str, type | tuple[type, ...]] = {"cohort_size": int, "n_cohorts": int}
_SAFETY: dict[str, type | tuple[type, ...]] = {
    "cutoff_eli": (int, float),
    "extrasafe": bool,
    "offset": (int, float),
    "n_earlystop": int,
}
_METHOD_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "BOIN": {
        **_COMMON,
        **_SIZE,
        **_SAFETY,
        "p_saf": (int, float),
        "p_tox": (int, float),
        "bound_mtd": bool,
    },
    "mTPI-2": {
        **_COMMON,
        **_SIZE,
        **_SAFETY,
        "eps1": (int, float),
        "eps2": (int, float),
    },
    "i3+3": {**_COMMON, **_SIZE, **_SAFETY, "eps1": (int, float), "eps2": (int, float)},
    "CRM": {
        **_COMMON,
        **_SIZE,
        "skeleton": (list, dict),
        "model": str,
        "prior_sd": (int, float),
        "intercept": (int, float),
        "point_estimate": str,
        "no_skip": bool,
        "coherence": bool,
        "grid_step": (int, float),
        "toxic_threshold": (int, float),
        "toxic_confidence": (int, float),
    },
    "3+3": {**_COMMON, "allow_deescalation": bool},
}
_METHOD_FIELDS["TITE-CRM"] = {
    **{k: v for k, v in _METHOD_FIELDS["CRM"].items() if k not in _SIZE},
    "obswin": (int, float),
    "arrival_interval": (int, float),
    "n_patients": int,
}
del _METHOD_FIELDS["TITE-CRM"]["toxic_threshold"]
del _METHOD_FIELDS["TITE-CRM"]["toxic_confidence"]
_TOP: dict[str, type | tuple[type, ...]] = {
    "n_doses": int,
    "n_trials": int,
    "seed": int,
    "target": (int, float),
    "chunk_size": int,
    "scheduler": str,
    "design": list,
    "scenarios": dict,
}


class SimulationSpec:
    """A validated DESIGN.toml: designs, scenarios and run settings.

    Attributes
    ----------
    designs : dict
        Design label -> design object.
    scenarios : dict
        Scenario name -> true DLT probabilities.
    n_trials, seed, chunk_size : int
        Run settings.
    target : float or None
        Target DLT rate defining the true MTD (None: each design's own).
    scheduler : str or None
        Dask scheduler address.
    """

    def __init__(
        self,
        designs: dict[str, DoseFindingDesign],
        scenarios: dict[str, list[float]],
        n_trials: int,
        seed: int,
        chunk_size: int,
        target: float | None,
        scheduler: str | None,
    ) -> None:
        self.designs = designs
        self.scenarios = scenarios
        self.n_trials = n_trials
        self.seed = seed
        self.chunk_size = chunk_size
        self.target = target
        self.scheduler = scheduler


def _check_type(
    value: Any, kind: type | tuple[type, ...], where: str, source: str
) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (
        isinstance(value, bool) and bool not in kinds
    )
    if not ok:
        names = " or ".join(k.__name__ for k in kinds)
        raise InputError(f"{where}: expected {names}, got {value!r}", file=source)


def _build_design(
    raw: Mapping[str, Any], index: int, n_doses: int, source: str
) -> tuple[str, DoseFindingDesign]:
    from analyses.dose_finding import (
        BOIN,
        CRM,
        MTPI2,
        TITECRM,
        I3Plus3,
        ThreePlusThree,
        getprior,
    )

    where = f"design[{index}]"
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: expected a table", file=source)
    method = raw.get("method")
    if method not in _METHOD_FIELDS:
        raise InputError(
            f"{where}.method: unknown value {method!r}; expected one of "
            f"{', '.join(_METHOD_FIELDS)}",
            file=source,
        )
    fields = _METHOD_FIELDS[method]
    for key, value in raw.items():
        if key not in fields:
            raise InputError(f"{where}.{key}: unknown field for {method}", file=source)
        _check_type(value, fields[key], f"{where}.{key}", source)
    params = {k: v for k, v in raw.items() if k not in ("method", "name")}
    target = params.pop("target", None)
    if method != "3+3" and target is None:
        raise InputError(f"{where}.target: required for {method}", file=source)
    try:
        design: DoseFindingDesign
        if method == "BOIN":
            design = BOIN(float(target), n_doses, **params)
        elif method == "mTPI-2":
            design = MTPI2(float(target), n_doses, **params)
        elif method == "i3+3":
            design = I3Plus3(float(target), n_doses, **params)
        elif method in ("CRM", "TITE-CRM"):
            sk = params.pop("skeleton", None)
            if sk is None:
                raise InputError(f"{where}.skeleton: required for CRM", file=source)
            if isinstance(sk, dict):
                unknown = set(sk) - {"halfwidth", "nu"}
                if unknown or "halfwidth" not in sk or "nu" not in sk:
                    raise InputError(
                        f"{where}.skeleton: a list or {{ halfwidth = ..., nu = ... }}",
                        file=source,
                    )
                sk = getprior(
                    float(sk["halfwidth"]),
                    float(target),
                    int(sk["nu"]),
                    n_doses,
                    model=params.get("model", "empiric"),
                    intercept=float(params.get("intercept", 3.0)),
                )
            elif not all(
                isinstance(p, int | float) and not isinstance(p, bool) for p in sk
            ):
                raise InputError(
                    f"{where}.skeleton: expected a list of probabilities", file=source
                )
            elif len(sk) != n_doses:
                raise InputError(
                    f"{where}.skeleton: {len(sk)} values for n_doses = {n_doses}",
                    file=source,
                )
            if method == "CRM":
                design = CRM(sk, float(target), **params)
            else:
                for req in ("obswin", "arrival_interval"):
                    if req not in params:
                        raise InputError(
                            f"{where}.{req}: required for TITE-CRM", file=source
                        )
                design = TITECRM(sk, float(target), **params)
        else:
            design = ThreePlusThree(
                n_doses, target=None if target is None else float(target), **params
            )
    except ValueError as error:
        raise InputError(f"{where}: {error}", file=source) from None
    return str(raw.get("name", design.name)), design


def parse_simulation_spec(
    data: Mapping[str, Any], source: str = "<design>"
) -> SimulationSpec:
    """Validate the content of a DESIGN.toml.

    Parameters
    ----------
    data : Mapping
        Parsed TOML.
    source : str, optional
        File name for messages.

    Returns
    -------
    SimulationSpec
        Designs, scenarios and settings.

    Raises
    ------
    trialdata.errors.InputError
        Naming the offending field.
    """
    for key, value in data.items():
        if key not in _TOP:
            raise InputError(f"{key}: unknown field", file=source)
        _check_type(value, _TOP[key], key, source)
    if "n_doses" not in data:
        raise InputError("n_doses: required", file=source)
    n_doses = int(data["n_doses"])
    if n_doses < 1:
        raise InputError("n_doses: must be >= 1", file=source)
    raw_designs = data.get("design")
    if not raw_designs:
        raise InputError(
            "design: at least one [[design]] table is required", file=source
        )
    designs: dict[str, DoseFindingDesign] = {}
    for i, raw in enumerate(raw_designs, start=1):
        label, design = _build_design(raw, i, n_doses, source)
        if label in designs:
            raise InputError(f"design[{i}].name: duplicate name {label!r}", file=source)
        designs[label] = design
    scenarios_raw = data.get("scenarios")
    if not scenarios_raw:
        raise InputError("scenarios: at least one scenario is required", file=source)
    scenarios: dict[str, list[float]] = {}
    for name, probs in scenarios_raw.items():
        where = f"scenarios.{name}"
        if not isinstance(probs, list) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) for p in probs
        ):
            raise InputError(f"{where}: expected a list of probabilities", file=source)
        if len(probs) != n_doses:
            raise InputError(
                f"{where}: {len(probs)} probabilities for n_doses = {n_doses}",
                file=source,
            )
        if any(not 0 <= p <= 1 for p in probs):
            raise InputError(f"{where}: probabilities must be in [0, 1]", file=source)
        scenarios[str(name)] = [float(p) for p in probs]
    n_trials = int(data.get("n_trials", 10_000))
    chunk = int(data.get("chunk_size", 10_000))
    if n_trials < 1:
        raise InputError("n_trials: must be >= 1", file=source)
    if chunk < 1:
        raise InputError("chunk_size: must be >= 1", file=source)
    target = data.get("target")
    if target is None and any(
        d.target != d.target
        for d in designs.values()  # NaN: 3+3 without target
    ):
        raise InputError(
            "target: required when a 3+3 design has no target (defines the true MTD)",
            file=source,
        )
    return SimulationSpec(
        designs=designs,
        scenarios=scenarios,
        n_trials=n_trials,
        seed=int(data.get("seed", 1)),
        chunk_size=chunk,
        target=None if target is None else float(target),
        scheduler=data.get("scheduler"),
    )


def _oc_text(oc: Any) -> str:
    import pandas as pd

    lines = [
        f"Operating characteristics: {oc.n_trials} trials per design and scenario, "
        f"seed {oc.seed} (common random numbers across designs)",
        "",
    ]
    frame = oc.to_frame()
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        for scen, probs in oc.scenarios.items():
            lines.append(
                f"Scenario {scen}: true DLT rates {', '.join(f'{p:g}' for p in probs)}"
            )
            part = frame[frame["scenario"] == scen]
            for stat, title in (
                ("pct_select", "% selected as MTD (dose 0 = none)"),
                ("mean_n", "mean patients per dose"),
                ("mean_dlt", "mean DLTs per dose"),
            ):
                tab = part[part["stat"] == stat].pivot_table(
                    index="design", columns="dose", values="value", sort=False
                )
                lines.append(f"  {title}")
                lines.extend(
                    "    " + ln for ln in tab.round(2).to_string().splitlines()
                )
            trial = part[part["dose"].isna()].pivot_table(
                index="design", columns="stat", values="value", sort=False
            )[
                [
                    "true_mtd",
                    "pct_select_true_mtd",
                    "pct_early_stop",
                    "mean_total_n",
                    "mean_total_dlt",
                    "pct_patients_above_mtd",
                ]
            ]
            lines.append("  per trial")
            lines.extend("    " + ln for ln in trial.round(2).to_string().splitlines())
            lines.append("")
    return "\n".join(lines) + "\n"


def simulate(
    design_file: Annotated[Path, typer.Argument(help="DESIGN.toml file.")],
    output_format: FormatOption = OutputFormat.TEXT,
    quiet: QuietOption = False,
) -> None:
    """Simulate operating characteristics of the designs in DESIGN.toml."""
    import pandas as pd

    from analyses.dose_finding import simulate_oc
    from trialdata.progress import progress_steps

    source = str(design_file)
    try:
        try:
            data = tomllib.loads(design_file.read_text(encoding="utf-8"))
        except OSError as error:
            raise InputError(
                f"cannot read file: {error.strerror}", file=source
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InputError(f"not valid TOML: {error}", file=source) from None
        spec = parse_simulation_spec(data, source)
        try:
            with progress_steps(quiet=quiet) as step:
                step(
                    f"simulating {spec.n_trials} trials x {len(spec.designs)} "
                    f"design(s) x {len(spec.scenarios)} scenario(s)"
                )
                oc = simulate_oc(
                    spec.designs,
                    spec.scenarios,
                    n_trials=spec.n_trials,
                    seed=spec.seed,
                    target=spec.target,
                    chunk_size=spec.chunk_size,
                    scheduler=spec.scheduler,
                )
        except OSError as error:
            if spec.scheduler is None:
                raise
            raise InputError(
                f"scheduler: cannot use the Dask scheduler {spec.scheduler!r}: {error}",
                file=source,
            ) from None
    except TrialDataError as error:
        raise fail(str(error)) from None
    if output_format == OutputFormat.JSON:
        frame = oc.to_frame()
        records = [
            {**rec, "dose": None if pd.isna(rec["dose"]) else int(rec["dose"])}
            for rec in frame.to_dict(orient="records")
        ]
        out = {"provenance": oc.provenance.to_dict(), "results": records}
        sys.stdout.write(json.dumps(out, indent=1) + "\n")
    else:
        sys.stdout.write(_oc_text(oc))


def register(app: typer.Typer) -> None:
    """Add the ``escalation`` and ``simulate`` commands to the command line."""
    from trialdata.cli.escalation import escalation

    app.command("escalation")(escalation)
    app.command("simulate")(simulate)
