"""Lab shift tables: baseline x worst post-baseline grade, and normal-range shifts.

Input is the labs frame after ``derive_lab_baseline`` (``is_baseline``,
``post_baseline``) and, for grade shifts, ``derive_ctcae_grade`` (``grade_low``,
``grade_high``). The denominator of each test and group is the number of subjects of
the population with at least one post-baseline value of the test (tern
``count_abnormal_by_worst_grade``); subjects without one are not in the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import (
    melt_stats,
    n_pct_cells,
    population_groups,
    rounding_note,
    with_population,
)
from analyses.safety.lab_grading import compute_range_indicator
from analyses.safety.population import population_rules
from analyses.safety.stats import RoundingRule

__all__ = [
    "INDICATOR_CODES",
    "RangeSource",
    "ShiftTable",
    "read_range_indicator",
    "tabulate_grade_shift",
    "tabulate_range_shift",
]

MissingBaseline = Literal["grade0", "missing", "exclude"]
#: Where a record's normal-range category comes from: its value against its limits,
#: or the reference-range indicator the site (or the ADaM dataset) gives.
RangeSource = Literal["limits", "indicator"]
_RANGE = ["LOW", "NORMAL", "HIGH", "Missing"]
#: Codes of reference-range indicators (CDISC NRIND codelist terms and the one-letter
#: codes of older ADaM such as the CDISC pilot's ADLBC) -> category.
INDICATOR_CODES: dict[str, str] = {
    "LOW": "LOW",
    "L": "LOW",
    "NORMAL": "NORMAL",
    "N": "NORMAL",
    "HIGH": "HIGH",
    "H": "HIGH",
}


def read_range_indicator(
    values: pd.Series, codes: Mapping[str, str] | None = None
) -> pd.Series:
    """Return LOW / NORMAL / HIGH from reference-range indicator codes.

    Parameters
    ----------
    values : pandas.Series
        Indicators as recorded (e.g. ADaM ``ANRIND``, ``BNRIND``, SDTM
        ``LBNRIND``); case and surrounding blanks are ignored, blanks are missing.
    codes : mapping of str to str, optional
        Code -> category; default :data:`INDICATOR_CODES`.

    Returns
    -------
    pandas.Series
        ``"LOW"``, ``"NORMAL"``, ``"HIGH"`` or missing (string dtype).

    Raises
    ------
    ValueError
        When a code is not in ``codes`` (e.g. ``"ABNORMAL"`` or ``"HIGH HIGH"``:
        map them explicitly), naming the codes.
    """
    table = {k.strip().upper(): v for k, v in (codes or INDICATOR_CODES).items()}
    text = values.astype("string").str.strip().str.upper()
    text = text.mask(text == "")
    unknown = sorted(set(text.dropna()) - set(table))
    if unknown:
        raise ValueError(
            f"unknown reference-range indicator code(s) {unknown}; known: "
            f"{sorted(table)} (pass indicator_codes= to map them)"
        )
    return text.map(table).astype("string")


@dataclass(frozen=True, kw_only=True)
class ShiftTable(SafetyResult):
    """Subjects by baseline category and post-baseline category, per test and group.

    Attributes
    ----------
    counts : pandas.DataFrame
        ``test_code``, ``group``, ``baseline``, ``post``, ``N``, ``n``, ``pct``.
    categories : tuple of str
        Category order of both axes.
    digits : int
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}
        Rounding rule.
    """

    counts: pd.DataFrame
    categories: tuple[str, ...]
    digits: int = 1
    rounding: RoundingRule = "half_up"

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``test_code``, ``group``, ``baseline``, ``post``, ``stat``, ``value``.
        """
        return melt_stats(
            self.counts, ["test_code", "group", "baseline", "post"], ["N", "n", "pct"]
        )

    def summary(self) -> pd.DataFrame:
        """Return the display frame: rows test x group x baseline, columns post.

        Returns
        -------
        pandas.DataFrame
            ``n (%)`` cells.
        """
        c = self.counts.copy()
        c["cell"] = n_pct_cells(c, digits=self.digits, rounding=self.rounding)
        wide = c.pivot_table(
            index=["test_code", "group", "N", "baseline"],
            columns="post",
            values="cell",
            aggfunc="first",
            sort=False,
        )
        wide = wide[[k for k in self.categories if k in wide.columns]]
        wide.columns = [f"Post-baseline {k}" for k in wide.columns]
        return wide.reset_index()


def _complete(
    counts: pd.DataFrame,
    denominators: pd.DataFrame,
    categories: list[str],
) -> pd.DataFrame:
    grid = denominators.merge(
        pd.DataFrame({"baseline": categories}), how="cross"
    ).merge(pd.DataFrame({"post": categories}), how="cross")
    out = grid.merge(counts, on=["test_code", "group", "baseline", "post"], how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    out["pct"] = 100.0 * out["n"] / out["N"].where(out["N"] > 0)
    return out


def _prepare(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None,
    population_flag: str,
    total: str | None,
) -> tuple[pd.DataFrame, list[str]]:
    pop, groups = population_groups(subjects, by, population_flag)
    labs = with_population(data, pop)
    if total is not None:
        labs = pd.concat([labs, labs.assign(group=total)], ignore_index=True)
        groups = [*groups, total]
    return labs, groups


def _finish(
    per_subject: pd.DataFrame, groups: list[str], categories: list[str]
) -> pd.DataFrame:
    denominators = (
        per_subject.groupby(["test_code", "group"]).size().rename("N").reset_index()
    )
    counts = (
        per_subject.groupby(["test_code", "group", "baseline", "post"])
        .size()
        .rename("n")
        .reset_index()
    )
    out = _complete(counts, denominators, categories)
    out["_g"] = out["group"].map({g: i for i, g in enumerate(groups)})
    out["_b"] = out["baseline"].map({k: i for i, k in enumerate(categories)})
    out["_p"] = out["post"].map({k: i for i, k in enumerate(categories)})
    out = out.sort_values(["test_code", "_g", "_b", "_p"], kind="mergesort")
    return out.drop(columns=["_g", "_b", "_p"]).reset_index(drop=True)


def tabulate_grade_shift(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    direction: Literal["low", "high"] = "low",
    missing_baseline: MissingBaseline = "grade0",
    population_flag: str = "safety",
    total: str | None = "Total",
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str | None = None,
) -> ShiftTable:
    """Tabulate baseline CTCAE grade x worst post-baseline grade.

    Parameters
    ----------
    data : pandas.DataFrame
        Graded labs (``test_code``, ``subject_id``, ``is_baseline``, ``post_baseline``,
        ``grade_low`` / ``grade_high``).
    subjects : pandas.DataFrame
        Subjects with the population flag and ``by``.
    by : str, optional
        Column of ``subjects`` splitting the table.
    direction : {"low", "high"}, default "low"
        Which grade (e.g. neutrophils low, ALT high).
    missing_baseline : {"grade0", "missing", "exclude"}, default "grade0"
        Subjects without a graded baseline: assumed grade 0 and kept in the denominator
        (Roche LBT15, the conservative choice), shown as a ``Missing`` baseline
        category, or left out.
    population_flag : str, default "safety"
        Column of ``subjects`` defining the population.
    total : str or None, default "Total"
        Label of the all-groups block.
    digits : int, default 1
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule.
    title : str, optional
        Title.

    Returns
    -------
    ShiftTable
        Counts with grades ``"0"``-``"4"`` (and ``"Missing"``) on both axes.
    """
    grade = f"grade_{direction}"
    labs, groups = _prepare(data, subjects, by, population_flag, total)
    labs = labs.assign(_g=pd.to_numeric(labs[grade], errors="coerce"))
    base = (
        labs.loc[labs["is_baseline"].astype(bool)]
        .groupby(["test_code", "group", "subject_id"])["_g"]
        .max()
    )
    post = (
        labs.loc[labs["post_baseline"].astype(bool) & labs["_g"].notna()]
        .groupby(["test_code", "group", "subject_id"])["_g"]
        .max()
        .rename("post")
    )
    per_subject = (
        post.to_frame().join(base.rename("baseline"), how="left").reset_index()
    )
    if missing_baseline == "grade0":
        per_subject["baseline"] = per_subject["baseline"].fillna(0)
    elif missing_baseline == "exclude":
        per_subject = per_subject.loc[per_subject["baseline"].notna()]
    per_subject["baseline"] = per_subject["baseline"].map(
        lambda x: "Missing" if pd.isna(x) else str(int(x))
    )
    per_subject["post"] = per_subject["post"].astype(int).astype(str)
    categories = ["0", "1", "2", "3", "4"]
    if (per_subject["baseline"] == "Missing").any():
        categories.append("Missing")
    counts = _finish(per_subject, groups, categories)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "direction": direction,
        "missing_baseline": missing_baseline,
        "population_flag": population_flag,
        "total": total,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = (
        f"Population: subjects with {population_flag} = true and at least one graded "
        "post-baseline value of the test (N). Worst = highest post-baseline CTCAE v5.0 "
        f"grade ({direction} direction).",
        {
            "grade0": "Subjects without a baseline grade count as baseline grade 0.",
            "missing": "Subjects without a baseline grade are shown as Missing.",
            "exclude": "Subjects without a baseline grade are excluded.",
        }[missing_baseline]
        + " "
        + rounding_note(rounding, digits),
    )
    return ShiftTable(
        provenance=make_provenance(
            "tabulate_grade_shift",
            inputs={"labs": data, "subjects": subjects},
            **params,
        ),
        title=title
        or f"Shift from baseline to worst post-baseline CTCAE grade ({direction})",
        footnotes=footnotes,
        counts=counts,
        categories=tuple(categories),
        digits=digits,
        rounding=rounding,
    )


def tabulate_range_shift(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    post_baseline: Literal["last", "most_extreme"] = "last",
    range_source: RangeSource = "limits",
    indicator: str = "ANRIND",
    baseline_indicator: str | None = "BNRIND",
    indicator_codes: Mapping[str, str] | None = None,
    population_flag: str = "safety",
    total: str | None = "Total",
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Shift from baseline normal-range category",
) -> ShiftTable:
    """Tabulate baseline LOW / NORMAL / HIGH x post-baseline LOW / NORMAL / HIGH.

    Parameters
    ----------
    data : pandas.DataFrame
        Labs with ``subject_id``, ``test_code``, ``lab_date``, ``is_baseline`` and
        ``post_baseline``; ``value``, ``lower_limit`` and ``upper_limit`` for the
        ``limits`` source and for ``most_extreme``; the indicator column(s) for the
        ``indicator`` source.
    subjects : pandas.DataFrame
        Subjects with the population flag and ``by``.
    by : str, optional
        Column of ``subjects`` splitting the table.
    post_baseline : {"last", "most_extreme"}, default "last"
        The post-baseline value used: the last one, or the one furthest outside its
        range relative to the limit it crosses ((LLN - x) / LLN or (x - ULN) / ULN);
        NORMAL when none is outside (with the ``indicator`` source: the records the
        indicator calls LOW or HIGH, ranked by that distance).
    range_source : {"limits", "indicator"}, default "limits"
        Category of each record: its value against its ``lower_limit`` /
        ``upper_limit`` (:func:`compute_range_indicator`), or the site's own
        reference-range indicator in column ``indicator`` (ADaM ``ANRIND``).
    indicator : str, default "ANRIND"
        Indicator column of the ``indicator`` source.
    baseline_indicator : str or None, default "BNRIND"
        ``indicator`` source: the baseline category is this column on the record
        chosen by ``post_baseline`` (ADaM ``BNRIND``, the baseline record's
        ``ANRIND`` carried to every record: R's ``table(BNRIND, ANRIND)``); None
        takes ``indicator`` of the baseline record (``is_baseline``) instead.
    indicator_codes : mapping of str to str, optional
        Indicator code -> LOW / NORMAL / HIGH; default :data:`INDICATOR_CODES`
        (``LOW``/``L``, ``NORMAL``/``N``, ``HIGH``/``H``). Other codes are refused.
    population_flag : str, default "safety"
        Column of ``subjects`` defining the population.
    total : str or None, default "Total"
        Label of the all-groups block.
    digits : int, default 1
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule.
    title : str
        Title.

    Returns
    -------
    ShiftTable
        Counts with ``LOW``, ``NORMAL``, ``HIGH`` (and ``Missing`` baseline).
    """
    if range_source not in ("limits", "indicator"):
        raise ValueError(
            f"range_source must be 'limits' or 'indicator', not {range_source!r}"
        )
    by_indicator = range_source == "indicator"
    needed = (
        [indicator] + ([baseline_indicator] if baseline_indicator else [])
        if by_indicator
        else ["value", "lower_limit", "upper_limit"]
    )
    if post_baseline == "most_extreme":
        needed += ["value", "lower_limit", "upper_limit"]
    missing = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if missing:
        raise ValueError(
            f"labs lack column(s) {missing} needed by range_source={range_source!r}, "
            f"post_baseline={post_baseline!r}"
        )
    labs, groups = _prepare(data, subjects, by, population_flag, total)
    if by_indicator:
        labs = labs.assign(_ind=read_range_indicator(labs[indicator], indicator_codes))
        if baseline_indicator:
            labs["_base"] = read_range_indicator(
                labs[baseline_indicator], indicator_codes
            )
    else:
        labs = labs.assign(
            _ind=compute_range_indicator(
                labs["value"], labs["lower_limit"], labs["upper_limit"]
            )
        )
    keys = ["test_code", "group", "subject_id"]
    base = (
        labs.loc[labs["is_baseline"].astype(bool)]
        .drop_duplicates(keys, keep="last")
        .set_index(keys)["_ind"]
    )
    post = labs.loc[labs["post_baseline"].astype(bool) & labs["_ind"].notna()].copy()
    if post_baseline == "last":
        post = post.sort_values(["lab_date"], kind="mergesort").drop_duplicates(
            keys, keep="last"
        )
    else:
        v = pd.to_numeric(post["value"], errors="coerce")
        lo = pd.to_numeric(post["lower_limit"], errors="coerce")
        hi = pd.to_numeric(post["upper_limit"], errors="coerce")
        dev = pd.Series(
            np.fmax(((lo - v) / lo).to_numpy(), ((v - hi) / hi).to_numpy()),
            index=post.index,
        )
        # an abnormal record without usable limits still outranks the normal ones
        dev = dev.where(dev.notna() | (post["_ind"] == "NORMAL"), -1e300)
        post["_dev"] = dev.where(post["_ind"] != "NORMAL", -np.inf)
        post = post.sort_values("_dev", kind="mergesort").drop_duplicates(
            keys, keep="last"
        )
    per_subject = post[[*keys, "_ind"]].rename(columns={"_ind": "post"})
    if by_indicator and baseline_indicator:
        per_subject["baseline"] = post["_base"].to_numpy()
    else:
        per_subject["baseline"] = (
            per_subject.set_index(keys).index.map(base.to_dict()).to_numpy()
        )
    per_subject["baseline"] = per_subject["baseline"].map(
        lambda x: "Missing" if pd.isna(x) else str(x)
    )
    per_subject["post"] = per_subject["post"].astype(str)
    counts = _finish(per_subject, groups, _RANGE)
    counts = counts.loc[counts["post"] != "Missing"].reset_index(drop=True)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "post_baseline": post_baseline,
        "range_source": range_source,
        "population_flag": population_flag,
        "total": total,
        "digits": digits,
        "rounding": rounding,
    }
    if by_indicator:
        params.update(
            indicator=indicator,
            baseline_indicator=baseline_indicator,
            indicator_codes=dict(indicator_codes or INDICATOR_CODES),
        )
        source = (
            f"Categories from the sites' reference-range indicators: {indicator} "
            "post-baseline, "
            + (
                f"{baseline_indicator} of the same record at baseline."
                if baseline_indicator
                else f"{indicator} of the baseline record at baseline."
            )
        )
        with_range = "post-baseline value of the test with a range indicator (N)."
    else:
        with_range = "post-baseline value of the test with a normal range (N)."
    footnotes = (
        f"Population: subjects with {population_flag} = true and at least one "
        + with_range,
        *([source] if by_indicator else []),
        f"Post-baseline category from the {post_baseline.replace('_', ' ')} value. "
        + rounding_note(rounding, digits),
    )
    return ShiftTable(
        provenance=make_provenance(
            "tabulate_range_shift",
            inputs={"labs": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=footnotes,
        counts=counts,
        categories=tuple(_RANGE),
        digits=digits,
        rounding=rounding,
    )
