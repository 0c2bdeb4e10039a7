"""End to end on the demo trial: per-site uploads, quarantine, freeze, export."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trialdata.cli import main
from trialdata.errors import UnreadableFileError
from trialdata.io.files import discover_upload
from trialdata.io.readers import read_raw
from trialdata.store import TrialStore
from trialdata.trial import Trial
from trialdata.validation import validate_folder

TRIAL_LEVEL = ("cohorts", "product_lots")


def split_by_site(demo: Path, out: Path, site: str) -> Path:
    """Copy the rows of one site's subjects (and the trial-level files) to a folder.

    Files are read as the validator reads them (any delimiter); a file that cannot be
    read is copied unchanged, so its problems reach the site's upload too.
    """
    out.mkdir(parents=True)
    shutil.copy(demo / "protocol.toml", out)
    texts = {}
    for source in discover_upload(demo):
        try:
            texts[source] = read_raw(source).data.drop(columns=["_source_row"])
        except UnreadableFileError:
            texts[source] = None
    by_domain = {s.domain: t for s, t in texts.items()}
    subjects = by_domain["subjects"]
    mine = set(subjects.loc[subjects["site_id"] == site, "subject_id"])
    samples = by_domain.get("biobank_samples")
    my_samples = (
        set(samples.loc[samples["subject_id"].isin(mine), "sample_id"])
        if samples is not None
        else set()
    )
    for source, data in texts.items():
        if source.domain in TRIAL_LEVEL or data is None:
            shutil.copy(source.path, out)
            continue
        if "subject_id" in data:
            data = data[data["subject_id"].isin(mine)]
        elif "sample_id" in data:
            data = data[data["sample_id"].isin(my_samples)]
        data.to_csv(out / f"{source.path.stem}.csv", index=False)
    return out


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out + err


def test_demo_trial_through_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(capsys, "demo", str(tmp_path / "demo"), "--archetype", "nk-aml")
    assert code == 0, text
    sites = [site.id for site in validate_folder(tmp_path / "demo").protocol.sites]
    store = f"sqlite:///{(tmp_path / 'trial.sqlite').as_posix()}"
    for site in sites:  # the coordinating site (listed first) goes first
        upload = split_by_site(tmp_path / "demo", tmp_path / f"upload_{site}", site)
        code, text = run(
            capsys, "ingest", str(upload), "--site", site, "--store", store
        )
        assert code == 0, text
    code, text = run(capsys, "freeze", "--label", "final", "--store", store)
    assert code == 0, text
    trial = Trial.from_store(store, snapshot="final")
    demo = Trial.load(tmp_path / "demo")
    for name, data in demo.tables.items():
        assert len(trial.tables[name]) == len(data), name
    assert sorted(trial.table("subjects")["subject_id"]) == sorted(
        demo.table("subjects")["subject_id"]
    )
    code, text = run(
        capsys, "export", str(tmp_path / "out"), "--snapshot", "final", "--store", store
    )
    assert code == 0, text
    code, text = run(capsys, "validate", str(tmp_path / "out"))
    assert code == 0, text
    with TrialStore.open(store) as opened:
        assert opened.verify().ok


def test_demo_with_injected_errors_quarantines_and_queries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(
        capsys,
        "demo",
        str(tmp_path / "demo"),
        "--archetype",
        "nk-aml",
        "--inject-errors",
    )
    report = validate_folder(tmp_path / "demo")
    coordinator = report.protocol.sites[0].id
    upload = split_by_site(tmp_path / "demo", tmp_path / "upload", coordinator)
    store_file = tmp_path / "trial.sqlite"
    code, text = run(
        capsys, "ingest", str(upload), "--site", coordinator, "--store", str(store_file)
    )
    assert code == 1, text
    with TrialStore.open(store_file) as opened:
        queries = opened.queries(site=coordinator)
        quarantined = opened.verify()
    assert len(queries) > 0 and set(queries["status"]) == {"open"}
    assert quarantined.ok
