"""Trials and rendered reports shared by the report tests (built once per session)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import warnings
import zipfile
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from schemas.protocol import parse_protocol
from trialdata.findings import findings_frame
from trialdata.reports import Report, build_safety_report, render
from trialdata.trial import Trial

HERE = Path(__file__).resolve().parent
GENERATED = "2026-01-01T00:00:00+00:00"


def load_synthetic() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synthetic", HERE / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic = load_synthetic()


def _load(folder: Path) -> Trial:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Trial.load(folder)


@pytest.fixture(scope="session")
def synthetic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.write_trial(tmp_path_factory.mktemp("synthetic") / "trial")


@pytest.fixture(scope="session")
def demo_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    demo = pytest.importorskip("trialdata.demo")
    root = tmp_path_factory.mktemp("demo")
    return {
        arch: demo.write_trial(root / arch, arch).folder
        for arch in ("tolDC-ms", "nk-aml")
    }


def cdisc_trial_from(sdtm: Path) -> Trial:
    """The CDISC pilot SDTM as a Trial, with a protocol describing its three arms."""
    sdtm_io = pytest.importorskip("trialdata.io.sdtm")
    tables = sdtm_io.read_sdtm(sdtm)
    cohorts = tables["cohorts"].sort_values("dose_level")
    protocol = parse_protocol(
        {
            "trial": {
                "id": "CDISCPILOT01",
                "title": "CDISC pilot: xanomeline TTS in Alzheimer's disease",
                "protocol_version": "SDTM pilot",
            },
            "design": {
                "method": "3+3",
                "target_dlt_rate": 0.3,
                "cohort_size": 3,
                "max_subjects": 306,
            },
            # placebo has no dose; the label is what the report shows
            "dose_levels": [
                {
                    "level": int(r.dose_level),
                    "amount": float(r.planned_dose) or 1.0,
                    "unit": "mg",
                    "label": str(r.description),
                }
                for r in cohorts.itertuples()
            ],
            "routes": ["INTRAVENOUS"],
            "dlt_window_days": 28,
            "sites": [
                {"id": str(s), "name": f"Site {s}"}
                for s in sorted(tables["subjects"]["site_id"].unique())
            ],
        }
    )
    return Trial(protocol, tables, findings_frame([]), str(sdtm))


@pytest.fixture(scope="session")
def trials(
    synthetic_trial: Trial, demo_folders: dict[str, Path], cdisc_pilot_dir: Path
) -> dict[str, Trial]:
    return {
        "synthetic": synthetic_trial,
        **{name: _load(folder) for name, folder in demo_folders.items()},
        "cdisc": cdisc_trial_from(cdisc_pilot_dir / "sdtm"),
    }


@pytest.fixture(scope="session")
def synthetic_trial(synthetic_folder: Path) -> Trial:
    return _load(synthetic_folder)


@pytest.fixture(scope="session")
def synthetic_report(synthetic_trial: Trial) -> Report:
    from datetime import datetime

    return build_safety_report(
        synthetic_trial, generated_utc=datetime.fromisoformat(GENERATED)
    )


@pytest.fixture(scope="session")
def reports(trials: dict[str, Trial], synthetic_report: Report) -> dict[str, Report]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = {
            name: build_safety_report(trial)
            for name, trial in trials.items()
            if name != "synthetic"
        }
    return {"synthetic": synthetic_report, **built}


@pytest.fixture(scope="session")
def rendered(reports: dict[str, Report]) -> Callable[[str, str], bytes]:
    cache: dict[tuple[str, str], bytes] = {}

    def get(name: str, fmt: str) -> bytes:
        if (name, fmt) not in cache:
            cache[name, fmt] = render(reports[name], fmt)
        return cache[name, fmt]

    return get


# ---------------------------------------------------------------- text extraction


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pdf_text(data: bytes, tmp: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp / "report.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True
    )
    return squash(out.stdout.decode("utf-8"))


def docx_text(data: bytes, tmp: Path) -> str:
    import docx

    path = tmp / "report.docx"
    path.write_bytes(data)
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    assert zipfile.is_zipfile(path)
    return squash("\n".join(parts))


def rtf_text(data: bytes) -> str:
    """Plain text of an RTF document: pictures dropped, control words stripped."""
    text = data.decode("ascii")
    text = re.sub(r"\{\\pict[^{}]*\}", " ", text)
    text = re.sub(r"\\u(-?\d+)\?", lambda m: chr(int(m.group(1)) % 65536), text)
    text = text.replace("\\cell", " | ").replace("\\par", " ")
    text = re.sub(
        r"\\([\\{}])",
        lambda m: {"\\": "\x00", "{": "\x01", "}": "\x02"}[m.group(1)],
        text,
    )
    text = re.sub(r"\\\*?[a-z]+-?\d* ?", " ", text)
    text = text.replace("{", "").replace("}", "")
    text = text.replace("\x00", "\\").replace("\x01", "{").replace("\x02", "}")
    return squash(text)


def html_text(data: bytes) -> str:
    import html

    raw = data.decode("utf-8")
    raw = re.sub(r"<style>.*?</style>", " ", raw, flags=re.S)
    raw = re.sub(r"<[^>]+>", " ", raw)
    return squash(html.unescape(raw))


def expected_counts(folder: Path) -> dict[str, str]:
    """Key table cells recomputed from the upload's CSV files with plain pandas."""
    subjects = pd.read_csv(folder / "subjects.csv")
    admin = pd.read_csv(folder / "administrations.csv")
    ae = pd.read_csv(folder / "adverse_events.csv", keep_default_na=False)
    given = admin.loc[admin["given"].astype(str).str.upper().isin(["Y", "TRUE"])]
    first = pd.to_datetime(given.groupby("subject_id")["admin_date"].min())
    safety = subjects["subject_id"].isin(first.index)
    n_safety = int(safety.sum())
    onset = pd.to_datetime(ae["onset_date"])
    teae = ae.loc[onset >= ae["subject_id"].map(first)]

    def cell(rows: pd.DataFrame) -> str:
        n = rows["subject_id"].nunique()
        pct = (Decimal(100 * n) / Decimal(n_safety)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        return f"{n} ({pct}%) [{len(rows)}]" if n else "0"

    serious = teae.loc[teae["serious"].astype(str).str.upper().isin(["Y", "TRUE"])]
    grade3 = teae.loc[pd.to_numeric(teae["grade"]) >= 3]
    dlt = teae.loc[teae["dlt"].astype(str).str.upper().isin(["Y", "TRUE"])]
    return {
        "total_header": f"Total (N={n_safety})",
        "any_teae": cell(teae),
        "serious": cell(serious),
        "grade3": cell(grade3),
        "n_enrolled": str(len(subjects)),
        "n_dlt": str(dlt["subject_id"].nunique()),
    }


@pytest.fixture(scope="session")
def text_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, bytes], str]:
    """Extract the plain text of a rendered report (html, pdf, rtf, docx)."""
    tmp = tmp_path_factory.mktemp("extract")

    def extract(fmt: str, data: bytes) -> str:
        if fmt == "html":
            return html_text(data)
        if fmt == "pdf":
            return pdf_text(data, tmp)
        if fmt == "rtf":
            return rtf_text(data)
        if fmt == "docx":
            return docx_text(data, tmp)
        raise ValueError(fmt)

    return extract


@pytest.fixture(scope="session")
def counts_of() -> Callable[[Path], dict[str, str]]:
    return expected_counts


@pytest.fixture(scope="session")
def folders(synthetic_folder: Path, demo_folders: dict[str, Path]) -> dict[str, Path]:
    return {"synthetic": synthetic_folder, **demo_folders}
