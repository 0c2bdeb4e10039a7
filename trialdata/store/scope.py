"""Site scoping: which site each uploaded row belongs to.

- ``subjects``: a subject belongs to the site stored for it, or, for a new subject, to
  the ``site_id`` its row names.
- Subject-level domains (every domain with ``subject_id``): the subject's site. A row
  for a subject the store and the upload do not know belongs to the uploading site
  (validation reports the unknown subject).
- ``custody_events``: the site of the sample's subject (``biobank_samples``).
- Trial-level domains (``cohorts``, ``product_lots``): the coordinating site, the first
  site listed in the trial's **stored** protocol (:mod:`trialdata.store.protocols`;
  an upload's own ``protocol.toml`` never decides it, since only a coordinator
  changes the stored protocol). Every site may upload them unchanged (they are part
  of every upload); only the coordinating site may create or change them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from schemas.protocol import Protocol
from trialdata.store.codec import none_list

__all__ = ["TRIAL_LEVEL", "coordinating_site", "row_sites", "subject_sites"]

#: Domains whose rows belong to the trial, not to a subject.
TRIAL_LEVEL: tuple[str, ...] = ("cohorts", "product_lots")


def coordinating_site(protocol: Protocol) -> str:
    """Return the coordinating site: the first site of the protocol.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The trial's protocol as stored (the version in force), never an upload's.

    Returns
    -------
    str
        Site identifier.
    """
    return protocol.sites[0].id


def _text(values: pd.Series) -> pd.Series:
    return pd.Series(
        none_list(values.astype("string")), index=values.index, dtype=object
    )


def _look_up(values: pd.Series, mapping: Mapping[str, str]) -> np.ndarray:
    """Return ``mapping[value]`` for every value (None when missing or unknown).

    The distinct values are looked up once each (a table has many rows per
    subject), then spread back over the rows.
    """
    codes, uniques = pd.factorize(values.astype("string[pyarrow]"))
    found = np.array([mapping.get(str(u)) for u in uniques] + [None], dtype=object)
    out: np.ndarray = found[codes]  # code -1 (missing) takes the last, None
    return out


def subject_sites(
    stored_subjects: pd.DataFrame, uploaded_subjects: pd.DataFrame | None
) -> dict[str, str]:
    """Return the site of every subject known to the store or named by the upload.

    Parameters
    ----------
    stored_subjects : pandas.DataFrame
        Current ``subjects`` versions (``_key`` is the subject id, ``_site_id``).
    uploaded_subjects : pandas.DataFrame or None
        The upload's typed ``subjects`` table.

    Returns
    -------
    dict of str to str
        Subject id to site id; stored subjects keep their stored site.
    """
    sites: dict[str, str] = {}
    if uploaded_subjects is not None and len(uploaded_subjects):
        pairs = pd.DataFrame(
            {
                "s": _text(uploaded_subjects["subject_id"]),
                "site": _text(uploaded_subjects["site_id"]),
            }
        ).dropna()
        sites.update(zip(pairs["s"], pairs["site"], strict=True))
    if len(stored_subjects):
        sites.update(
            zip(
                stored_subjects["_key"].astype(str),
                stored_subjects["_site_id"].astype(str),
                strict=True,
            )
        )
    return sites


def row_sites(
    domain: str,
    data: pd.DataFrame,
    *,
    site: str,
    coordinator: str,
    subjects: Mapping[str, str],
    sample_subjects: Mapping[str, str],
) -> np.ndarray:
    """Return the site each row of an uploaded table belongs to.

    Parameters
    ----------
    domain : str
        Domain of the table.
    data : pandas.DataFrame
        The typed table.
    site : str
        The uploading site (for rows whose owner is unknown).
    coordinator : str
        The coordinating site (owner of trial-level rows).
    subjects : mapping of str to str
        Subject id to site (:func:`subject_sites`).
    sample_subjects : mapping of str to str
        Sample id to subject id.

    Returns
    -------
    numpy.ndarray
        Object array of site identifiers.
    """
    n = len(data)
    if domain in TRIAL_LEVEL:
        return np.full(n, coordinator, dtype=object)
    if domain == "subjects":
        owner = _look_up(data["subject_id"], subjects)
        unowned = pd.isna(owner)
        owner[unowned] = _text(data["site_id"]).to_numpy(dtype=object)[unowned]
    elif "subject_id" in data.columns:
        owner = _look_up(data["subject_id"], subjects)
    elif "sample_id" in data.columns:
        owner = _look_up(data["sample_id"], sample_subjects)
        known = ~pd.isna(owner)
        owner[known] = [subjects.get(s) for s in owner[known]]
    else:
        return np.full(n, site, dtype=object)
    owner[pd.isna(owner)] = site
    return owner
