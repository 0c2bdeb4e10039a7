"""``trialdata escalation``: the dose-escalation state of a trial.

Loads a trial from an upload ``FOLDER`` or a store snapshot (``--store URL
--snapshot LABEL``, the store also from ``TRIALDATA_STORE``), tabulates treated /
DLT-evaluable subjects and DLTs per dose level (per route when the protocol has
several) and prints the protocol design's decision with its reasoning. Data with
error-level findings stop it (exit 1) unless ``--allow-errors``, and the output then
says so (a first line in text, ``validation`` in JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trialdata.cli._errors import fail, is_protocol_error
from trialdata.cli._options import (
    AllowErrorsOption,
    CutoffOption,
    FormatOption,
    OutputFormat,
    QuietOption,
    SnapshotOption,
    StoreOption,
)
from trialdata.cli._output import emit
from trialdata.cli._source import choose_source, error_gate, load_trial, parse_cutoff
from trialdata.errors import TrialDataError

if TYPE_CHECKING:
    from analyses.datasets import AnalysisData

__all__ = ["escalation", "escalation_report"]


def escalation(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Argument(help="Trial folder with protocol.toml (or use --store)."),
    ] = None,
    cutoff: CutoffOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    store: StoreOption = None,
    snapshot: SnapshotOption = None,
    allow_errors: AllowErrorsOption = False,
    quiet: QuietOption = False,
) -> None:
    """Print the dose-level table, the design's decision and, once complete, the MTD.

    Exit 1 without a decision when the data have error-level findings, unless
    --allow-errors (the output then says so).
    """
    store = choose_source(ctx, folder, store, snapshot)
    cut = parse_cutoff(cutoff)
    from trialdata.progress import progress_steps

    with progress_steps(quiet=quiet) as step:
        try:
            source = load_trial(folder, store, snapshot, step)
            step("computing the escalation")
            report = escalation_report(source.trial.analysis_data(cut))
        except TrialDataError as error:
            raise fail(str(error)) from None
        except Exception as error:
            if is_protocol_error(error):
                raise fail(str(error)) from None
            raise
    # data that cannot be analysed stopped above (exit 2); data with error findings
    # stop here (exit 1) unless --allow-errors
    gate = error_gate(source.findings, allow_errors)
    if gate.refused:
        print(f"trialdata: {gate.note('the escalation')}", file=sys.stderr)
        if output_format == OutputFormat.JSON:
            emit(output_format, {"decided": False, **gate.to_dict()}, [])
        raise typer.Exit(1)
    document = {
        **report["json"],
        "source": source.trial.source,
        "snapshot_label": source.label,
        "data_hash": source.digest,
        "validation": gate.to_dict(),
    }
    text = report["text"]
    if gate.n_errors:
        text = f"Note: {gate.note('the escalation')}\n{text}"
    if output_format == OutputFormat.JSON:
        sys.stdout.write(json.dumps(document, indent=1, default=str) + "\n")
    else:
        emit(output_format, document, text)


_ESCALATION_BY = {"route": "one per route", "pooled": "all routes pooled"}


def escalation_report(data: AnalysisData) -> dict[str, Any]:
    """Compose the escalation report of a trial (the pure part of ``escalation``).

    Parameters
    ----------
    data : analyses.datasets.AnalysisData
        The trial's analysis datasets (``Trial.analysis_data``).

    Returns
    -------
    dict
        ``text`` (the printed report) and ``json`` (the same content as data).
    """
    import pandas as pd

    protocol = data.protocol
    summary = data.escalation()
    lines = [
        f"Trial {protocol.trial.id}: {summary.design}, target DLT rate "
        f"{protocol.design.target_dlt_rate:g}, DLT window "
        f"{data.rules['dlt_window']}",
        f"Escalation: {_ESCALATION_BY[summary.escalation_by]}; data cut-off"
        f" {data.cutoff.date().isoformat()} ({data.cutoff_source}).",
        "",
    ]
    for group in summary.groups:
        label = "" if group.name == "pooled" else f"[{group.name}] "
        if group.name != "pooled":
            lines.append(f"Escalation {group.name}")
        with pd.option_context("display.width", 200):
            lines.extend(group.table.to_string(index=False).splitlines())
        lines.append(f"{label}{group.describe()}")
        if group.estimates is not None:
            lines.append(f"{label}Estimated DLT rate per dose level:")
            lines.extend(
                "  " + ln
                for ln in group.estimates.round(3).to_string(index=False).splitlines()
            )
        lines.append("")
    adherence = data.adherence()
    deviations = adherence.deviations
    lines.append(
        f"Design adherence: {adherence.n_deviations} cohort(s) dosed as the design "
        "did not allow" + (":" if len(deviations) else ".")
    )
    lines.extend(
        f"  [{rec['escalation_group']}] {rec['cohort_id']} at DL{rec['dose_level']}: "
        f"{rec['reason']}"
        for rec in deviations.to_dict(orient="records")
    )
    lines.append("")
    lines.append("Derivation rules:")
    lines.extend(f"  {line}" for line in data.describe_rules())
    lines.append(f"Provenance: {summary.provenance.describe()}")
    return {
        "text": "\n".join(lines) + "\n",
        "json": {
            "trial": protocol.trial.id,
            "cutoff": data.cutoff.date().isoformat(),
            "rules": data.rules,
            **summary.to_dict(),
            "adherence": adherence.to_dict(),
            "provenance": summary.provenance.to_dict(),
        },
    }
