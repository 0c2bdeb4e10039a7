"""Demo trials: complete, realistic and reproducible uploads of the two seed trials.

``generate_trial`` builds the protocol and every domain table in memory;
``write_trial`` writes them as a site upload folder (``protocol.toml``, CSV files and an
Excel workbook for product lots), optionally with injected errors and their answer key
``_injected_errors.json``.

Examples
--------
>>> from trialdata.demo import generate_trial
>>> protocol, tables = generate_trial("nk-aml", n_subjects=6, seed=1)
>>> sorted(tables)[:3]
['administrations', 'adverse_events', 'biobank_samples']
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialdata.demo.inject import Expected, InjectionError, inject_errors
from trialdata.demo.nk_aml import generate_nk_aml
from trialdata.demo.protocols import (
    ARCHETYPES,
    expansion_cohort_ids,
    protocol_data,
    protocol_toml,
)
from trialdata.demo.tol_dc_ms import generate_tol_dc_ms
from trialdata.demo.writer import file_name, to_text, write_table
from trialdata.io.files import DATA_SUFFIXES

__all__ = [
    "ANSWER_KEY",
    "ARCHETYPES",
    "DemoUpload",
    "Expected",
    "InjectionError",
    "generate_trial",
    "write_trial",
]

#: File name of the answer key written beside an upload with injected errors.
ANSWER_KEY = "_injected_errors.json"

#: Fewest subjects that hold every injected error.
MIN_SUBJECTS_FOR_INJECTION = 8


@dataclass(frozen=True)
class DemoUpload:
    """A demo upload written to disk.

    Attributes
    ----------
    folder : pathlib.Path
        The upload folder.
    files : list of pathlib.Path
        ``protocol.toml`` and the data files.
    expected : list of Expected
        Injected errors (empty for a clean upload).
    """

    folder: Path
    files: list[Path]
    expected: list[Expected]


def generate_trial(
    archetype: str,
    n_subjects: int | None = None,
    seed: int = 0,
    *,
    extra_draws: int = 0,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Generate a complete, clean demo trial in memory.

    The trial follows its own design: cohorts are enrolled one after the other at the
    dose level the design decides on the DLTs seen so far, and subjects beyond the
    escalation join expansion cohorts, which the returned protocol lists
    (:mod:`trialdata.demo.escalation`).

    Parameters
    ----------
    archetype : str
        ``"tolDC-ms"`` or ``"nk-aml"``.
    n_subjects : int, optional
        Number of subjects; defaults to 18 (tolDC-ms) or 12 (nk-aml).
    seed : int, optional
        Random seed; the same seed gives the same trial.
    extra_draws : int, optional
        Unscheduled lab and immunomonitoring draws per subject, to make large
        benchmark uploads (0 = the protocol schedule only).

    Returns
    -------
    protocol : dict
        Protocol content (as in ``protocol.toml``), listing the expansion cohorts the
        trial opened.
    tables : dict of str to pandas.DataFrame
        Domain name to typed table, in file order.

    Raises
    ------
    ValueError
        For an unknown archetype or fewer than 1 subject.
    """
    if archetype not in ARCHETYPES:
        known = ", ".join(ARCHETYPES)
        raise ValueError(f"unknown archetype {archetype!r}; choose one of: {known}")
    n = ARCHETYPES[archetype] if n_subjects is None else int(n_subjects)
    if n < 1:
        raise ValueError(f"a demo trial needs at least 1 subject, got {n}")
    rng = np.random.default_rng([seed, 0])
    generate = generate_tol_dc_ms if archetype == "tolDC-ms" else generate_nk_aml
    tables = generate(protocol_data(archetype, n), n, rng, extra_draws=extra_draws)
    opened = set(tables["cohorts"]["cohort_id"])
    expansion = [c for c in expansion_cohort_ids(archetype) if c in opened]
    return protocol_data(archetype, n, expansion_cohorts=expansion), tables


def write_trial(
    outdir: str | Path,
    archetype: str,
    n_subjects: int | None = None,
    seed: int = 0,
    *,
    inject: bool = False,
    extra_draws: int = 0,
    force: bool = False,
) -> DemoUpload:
    """Write a demo trial as an upload folder.

    Parameters
    ----------
    outdir : str or pathlib.Path
        Folder to write to (created if needed; existing demo files are overwritten).
    archetype : str
        ``"tolDC-ms"`` or ``"nk-aml"``.
    n_subjects : int, optional
        Number of subjects (default per archetype).
    seed : int, optional
        Random seed.
    inject : bool, optional
        Inject realistic site errors and write the answer key :data:`ANSWER_KEY`.
    extra_draws : int, optional
        Unscheduled lab and immunomonitoring draws per subject.
    force : bool, optional
        Write into a folder that holds files but no earlier demo trial.

    Returns
    -------
    DemoUpload
        The folder, the files written and the injected errors.

    Raises
    ------
    InjectionError
        When ``inject`` is set and the trial is too small to hold every error.
    FileExistsError
        When the folder holds other data files, which validation would read too, or
        (unless ``force``) holds files but no earlier demo trial.
    """
    folder = Path(outdir)
    protocol, tables = generate_trial(
        archetype, n_subjects, seed, extra_draws=extra_draws
    )
    if inject and len(tables["subjects"]) < MIN_SUBJECTS_FOR_INJECTION:
        raise InjectionError(
            f"--inject-errors needs at least {MIN_SUBJECTS_FOR_INJECTION} subjects"
        )
    _refuse_foreign_data(folder, [file_name(domain) for domain in tables])
    if not force:
        _refuse_non_demo_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    protocol_path = folder / "protocol.toml"
    protocol_path.write_text(protocol_toml(protocol), encoding="utf-8")
    expected: list[Expected] = []
    if inject:
        texts, expected = inject_errors(
            archetype, protocol, tables, np.random.default_rng([seed, 1])
        )
    else:
        texts = {domain: to_text(table, domain) for domain, table in tables.items()}
    files = [protocol_path] + [write_table(t, d, folder) for d, t in texts.items()]
    key_path = folder / ANSWER_KEY
    if inject:
        key_path.write_text(
            json.dumps([e.as_dict() for e in expected], indent=2) + "\n",
            encoding="utf-8",
        )
        files.append(key_path)
    elif key_path.exists():
        key_path.unlink()
    return DemoUpload(folder, files, expected)


def _refuse_foreign_data(folder: Path, names: list[str]) -> None:
    """Refuse a folder with data files the demo would not overwrite.

    Validation reads every data file of a folder, so a leftover (another archetype's
    ``mri.csv``, a ``subjects.parquet`` beside the new ``subjects.csv``) would make the
    demo fail validation.
    """
    if not folder.is_dir():
        return
    foreign = sorted(
        p.name
        for p in folder.iterdir()
        if p.suffix.lower() in DATA_SUFFIXES and p.name not in names
    )
    if foreign:
        raise FileExistsError(
            f"{folder} already holds other data files ({', '.join(foreign)}); "
            "write the demo to an empty folder"
        )


#: Trial ids of the demo protocols: a folder holding one of them may be rewritten.
_DEMO_TRIAL_IDS = frozenset(
    protocol_data(a, n)["trial"]["id"] for a, n in ARCHETYPES.items()
)


def _refuse_non_demo_folder(folder: Path) -> None:
    """Refuse a non-empty folder unless it holds an earlier demo trial.

    A mistyped folder must not have a real site upload overwritten by synthetic data.
    """
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    try:
        protocol = tomllib.loads((folder / "protocol.toml").read_text("utf-8"))
        trial_id = protocol.get("trial", {}).get("id")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        trial_id = None
    if trial_id not in _DEMO_TRIAL_IDS:
        raise FileExistsError(
            f"{folder}: the folder already holds files and no earlier demo trial; "
            "nothing was written (choose an empty or new folder, or pass --force to "
            "write into it)"
        )
