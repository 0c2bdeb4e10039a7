"""Lab shifts from the sites' reference-range indicators (ADaM ANRIND / BNRIND).

The CDISC pilot ADLBC records of seven parameters (``data/adlbc_extract.csv.gz``,
written from ``../shared/data/cdiscpilot01/rda/adam_adlbc.rda`` by
``tests/analyses/reference/shifts_anrind.R``) are tabulated with
``tabulate_range_shift(range_source="indicator")`` and compared, count by count, with
R's ``table()`` of the same records (``shifts_anrind.json``) and with counts made here
directly with pandas. Counts are compared exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analyses.safety.shifts import (
    INDICATOR_CODES,
    read_range_indicator,
    tabulate_range_shift,
)

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE.parent / "reference" / "shifts_anrind.json").read_text())
EXTRACT = HERE / "data" / "adlbc_extract.csv.gz"


@pytest.fixture(scope="module")
def adlbc() -> pd.DataFrame:
    raw = pd.read_csv(EXTRACT, dtype=str, keep_default_na=False)
    assert len(raw) == REFERENCE["extract_rows"]
    visit = pd.to_numeric(raw["AVISITN"], errors="coerce")
    return pd.DataFrame(
        {
            "subject_id": raw["USUBJID"],
            "test_code": raw["PARAMCD"],
            "lab_date": pd.to_datetime(raw["ADT"]),
            "value": pd.to_numeric(raw["AVAL"], errors="coerce"),
            "lower_limit": pd.to_numeric(raw["A1LO"], errors="coerce"),
            "upper_limit": pd.to_numeric(raw["A1HI"], errors="coerce"),
            "ANRIND": raw["ANRIND"],
            "BNRIND": raw["BNRIND"],
            "is_baseline": raw["ABLFL"] == "Y",
            "post_baseline": visit.between(2, 26).to_numpy(),
            "TRTA": raw["TRTA"],
        }
    )


@pytest.fixture(scope="module")
def subjects(adlbc: pd.DataFrame) -> pd.DataFrame:
    s = adlbc[["subject_id", "TRTA"]].drop_duplicates("subject_id")
    return s.assign(safety=True).reset_index(drop=True)


def _r_counts(post_baseline: str, baseline: str) -> pd.DataFrame:
    table = next(
        t
        for t in REFERENCE["tables"]
        if t["post_baseline"] == post_baseline and t["baseline"] == baseline
    )
    return pd.DataFrame(table["counts"])


def _ours(result_counts: pd.DataFrame) -> pd.DataFrame:
    keys = ["test_code", "group", "baseline", "post"]
    return result_counts[[*keys, "n"]].sort_values(keys).reset_index(drop=True)


@pytest.mark.parametrize("post_baseline", ["last", "most_extreme"])
@pytest.mark.parametrize("baseline", ["bnrind", "baseline_record"])
def test_counts_equal_r_table(
    adlbc: pd.DataFrame, subjects: pd.DataFrame, post_baseline: str, baseline: str
) -> None:
    result = tabulate_range_shift(
        adlbc,
        subjects,
        "TRTA",
        post_baseline=post_baseline,  # type: ignore[arg-type]
        range_source="indicator",
        baseline_indicator="BNRIND" if baseline == "bnrind" else None,
        total=None,
    )
    theirs = _r_counts(post_baseline, baseline)
    keys = ["test_code", "group", "baseline", "post"]
    merged = _ours(result.counts).merge(
        theirs, on=keys, how="outer", suffixes=("", "_r"), indicator=True
    )
    # R tabulates every baseline level, we show Missing; both hold every cell
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both"]
    assert (merged["n"] == merged["n_r"]).all()
    assert merged["n"].sum() == len(adlbc.groupby(["test_code", "subject_id"])) - int(
        # subjects with no post-baseline record of a test are not in the table
        (
            ~adlbc.assign(p=adlbc["post_baseline"] & (adlbc["ANRIND"] != ""))
            .groupby(["test_code", "subject_id"])["p"]
            .any()
        ).sum()
    )
    assert result.provenance.parameters["range_source"] == "indicator"
    assert any("reference-range indicators" in f for f in result.footnotes)


def test_counts_equal_a_direct_count(
    adlbc: pd.DataFrame, subjects: pd.DataFrame
) -> None:
    """Independent of R: the last post-baseline record, counted with pandas."""
    post = adlbc.loc[adlbc["post_baseline"] & (adlbc["ANRIND"] != "")]
    last = (
        post.sort_values("lab_date", kind="stable")
        .groupby(["test_code", "subject_id"])
        .tail(1)
    )
    names = {"H": "HIGH", "L": "LOW", "N": "NORMAL", "": "Missing"}
    direct = (
        last.assign(
            baseline=last["BNRIND"].map(names),
            post=last["ANRIND"].map(names),
            group=last["TRTA"],
        )
        .groupby(["test_code", "group", "baseline", "post"])
        .size()
    )
    result = tabulate_range_shift(
        adlbc, subjects, "TRTA", range_source="indicator", total=None
    )
    counts = result.counts.set_index(["test_code", "group", "baseline", "post"])["n"]
    assert counts[counts > 0].sort_index().equals(direct.sort_index())
    # the denominator of each test and group: its subjects with a post-baseline value
    n = result.counts.groupby(["test_code", "group"])["N"].first()
    assert n.equals(
        last.groupby(["test_code", "TRTA"])
        .size()
        .rename_axis(n.index.names)
        .rename("N")
    )


def test_indicator_and_limits_agree_when_the_flags_come_from_the_limits(
    adlbc: pd.DataFrame, subjects: pd.DataFrame
) -> None:
    """With indicators recomputed from the limits, both sources give one table."""
    from analyses.safety.lab_grading import compute_range_indicator

    flagged = adlbc.assign(
        ANRIND=compute_range_indicator(
            adlbc["value"], adlbc["lower_limit"], adlbc["upper_limit"]
        ).fillna("")
    )
    by_limits = tabulate_range_shift(flagged, subjects, "TRTA")
    by_flags = tabulate_range_shift(
        flagged, subjects, "TRTA", range_source="indicator", baseline_indicator=None
    )
    pd.testing.assert_frame_equal(by_limits.to_frame(), by_flags.to_frame())


def _tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    labs = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A", "B", "B", "C"],
            "test_code": "ALT",
            "lab_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 2),
            "ANRIND": ["normal", "low", " HIGH ", "L", "", "N"],
            "is_baseline": [True, False, False, True, False, True],
            "post_baseline": [False, True, True, False, True, False],
        }
    )
    subjects = pd.DataFrame({"subject_id": ["A", "B", "C"], "safety": True})
    return labs, subjects


def test_codes_case_blanks_and_baseline_record() -> None:
    labs, subjects = _tiny()
    table = tabulate_range_shift(
        labs, subjects, range_source="indicator", baseline_indicator=None, total=None
    )
    counts = table.counts.set_index(["baseline", "post"])["n"]
    # A: baseline NORMAL, last post HIGH; B has no post-baseline indicator; C none
    assert counts[counts > 0].to_dict() == {("NORMAL", "HIGH"): 1}
    assert table.counts["N"].unique().tolist() == [1]


def test_unknown_codes_and_missing_columns_are_refused() -> None:
    labs, subjects = _tiny()
    odd = labs.assign(ANRIND=labs["ANRIND"].replace("L", "ABNORMAL"))
    with pytest.raises(
        ValueError, match=r"unknown reference-range indicator.*ABNORMAL"
    ):
        tabulate_range_shift(
            odd, subjects, range_source="indicator", baseline_indicator=None
        )
    mapped = tabulate_range_shift(
        odd,
        subjects,
        range_source="indicator",
        baseline_indicator=None,
        indicator_codes={**INDICATOR_CODES, "ABNORMAL": "HIGH"},
    )
    assert mapped.provenance.parameters["indicator_codes"]["ABNORMAL"] == "HIGH"
    with pytest.raises(ValueError, match=r"lack column\(s\) \['BNRIND'\]"):
        tabulate_range_shift(labs, subjects, range_source="indicator")
    with pytest.raises(ValueError, match="range_source"):
        tabulate_range_shift(labs, subjects, range_source="flags")  # type: ignore[arg-type]


def test_read_range_indicator() -> None:
    out = read_range_indicator(pd.Series(["h", " N", None, "", "LOW"]))
    assert out.tolist()[:2] == ["HIGH", "NORMAL"] and out.tolist()[4] == "LOW"
    assert out.isna().tolist() == [False, False, True, True, False]
