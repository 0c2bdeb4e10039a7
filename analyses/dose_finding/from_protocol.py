"""Build the design a protocol specifies."""

from __future__ import annotations

from analyses.dose_finding._base import DoseFindingDesign
from analyses.dose_finding.boin import BOIN
from analyses.dose_finding.crm import CRM
from analyses.dose_finding.i3plus3 import I3Plus3
from analyses.dose_finding.interval_design import IntervalDesign
from analyses.dose_finding.mtpi2 import MTPI2
from analyses.dose_finding.three_plus_three import ThreePlusThree
from schemas.protocol import Protocol
from schemas.terms import DesignMethod

__all__ = ["design_from_protocol"]

#: The interval designs, built from a protocol with the same arguments.
_INTERVAL_DESIGNS: dict[DesignMethod, type[IntervalDesign]] = {
    DesignMethod.BOIN: BOIN,
    DesignMethod.MTPI2: MTPI2,
    DesignMethod.I3PLUS3: I3Plus3,
}


def design_from_protocol(protocol: Protocol) -> DoseFindingDesign:
    """Return the design object described by ``protocol.design``.

    The maximum number of cohorts is ``max_subjects // cohort_size``; other parameters
    take the design's conventional defaults.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        A validated protocol.

    Returns
    -------
    DoseFindingDesign
        BOIN, CRM, 3+3, mTPI-2 or i3+3.
    """
    d = protocol.design
    k = len(protocol.dose_levels)
    size = d.cohort_size
    cohorts = max(d.max_subjects // d.cohort_size, 1)
    start = d.start_dose_level
    method = DesignMethod(d.method)
    interval = _INTERVAL_DESIGNS.get(method)
    if interval is not None:
        return interval(
            d.target_dlt_rate,
            k,
            cutoff_eli=d.elimination_cutoff,
            cohort_size=size,
            n_cohorts=cohorts,
            start_dose=start,
        )
    if method == DesignMethod.CRM:
        assert d.skeleton is not None  # the protocol model requires it for CRM
        return CRM(
            d.skeleton,
            d.target_dlt_rate,
            model=d.crm_model,
            cohort_size=size,
            n_cohorts=cohorts,
            start_dose=start,
        )
    return ThreePlusThree(
        k,
        allow_deescalation=d.allow_deescalation,
        start_dose=d.start_dose_level,
        target=d.target_dlt_rate,
    )
