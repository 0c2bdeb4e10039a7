"""Treatment groups: the dose level and route columns every table splits by."""

from __future__ import annotations

import pandas as pd

from schemas.protocol import Protocol

__all__ = ["NOT_DOSED", "ROUTE_ABBREVIATIONS", "group_label", "label_groups"]

#: Label of the group of subjects without a dose level.
NOT_DOSED = "Not dosed"

#: Short route names used in group labels and column headers.
ROUTE_ABBREVIATIONS = {
    "INTRAVENOUS": "IV",
    "INTRADERMAL": "ID",
    "INTRANODAL": "IN",
    "SUBCUTANEOUS": "SC",
    "INTRATHECAL": "IT",
}


def group_label(protocol: Protocol, level: object, route: object) -> str:
    """Return the label of a dose level and route (``DL2 10 10^6 cells/kg IV``).

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        For the dose amounts and labels.
    level : object
        Dose-level index (missing gives ``Not dosed``).
    route : object
        Route (missing is left out).

    Returns
    -------
    str
        The label.
    """
    if pd.isna(level):  # type: ignore[call-overload]
        return NOT_DOSED
    index = int(level)  # type: ignore[call-overload]
    text = f"DL{index}"
    if 1 <= index <= len(protocol.dose_levels):
        dose = protocol.dose_level(index)
        text += f" {dose.label}" if dose.label else f" {dose.amount:g} {dose.unit}"
    if isinstance(route, str) and route:
        text += f" {ROUTE_ABBREVIATIONS.get(route, route.title())}"
    return text


def label_groups(
    protocol: Protocol, levels: pd.Series, routes: pd.Series
) -> pd.Categorical:
    """Return the ordered group of each row: dose level, then route.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        For the labels.
    levels : pandas.Series
        Dose-level index per row (missing: not dosed, ordered last).
    routes : pandas.Series
        Route per row.

    Returns
    -------
    pandas.Categorical
        Ordered labels.
    """
    if not len(levels):
        return pd.Categorical([], categories=[], ordered=True)
    pairs = pd.MultiIndex.from_arrays(
        [
            pd.array(levels.to_numpy(), dtype="Float64"),
            pd.array(routes.to_numpy(), dtype="string"),
        ],
        names=["level", "route"],
    )
    codes, distinct = pairs.factorize()  # one label per distinct level and route
    named = pd.DataFrame(list(distinct), columns=["level", "route"])
    named["label"] = [
        group_label(protocol, lv, rt)
        for lv, rt in zip(named["level"], named["route"], strict=True)
    ]
    order = (
        named.astype({"level": "Float64", "route": "string"})
        .sort_values(["level", "route"], na_position="last", kind="mergesort")
        .drop_duplicates("label")["label"]
        .tolist()
    )
    labels = named["label"].to_numpy(dtype=object)[codes]
    return pd.Categorical(labels, categories=order, ordered=True)
