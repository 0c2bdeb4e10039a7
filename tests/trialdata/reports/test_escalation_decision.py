"""The report's design decision uses the protocol's design exactly as the CLI does."""

from __future__ import annotations

import pandas as pd
import pytest

from analyses.dose_finding import design_from_protocol
from schemas.protocol import parse_protocol
from trialdata.reports.build_safety import escalation_decision


def _protocol(method: str, cutoff: float):
    return parse_protocol(
        {
            "trial": {"id": "TRIAL-1", "title": "t", "protocol_version": "1"},
            "design": {
                "method": method,
                "target_dlt_rate": 0.3,
                "cohort_size": 3,
                "max_subjects": 18,
                "elimination_cutoff": cutoff,
            },
            "dose_levels": [
                {"level": i, "amount": a, "unit": "10^6 cells/kg"}
                for i, a in ((1, 1.0), (2, 3.0), (3, 10.0))
            ],
            "routes": ["INTRAVENOUS"],
            "dlt_window_days": 28,
            "sites": [{"id": "SITE1", "name": "Site"}],
        }
    )


@pytest.mark.parametrize("method", ["BOIN", "mTPI-2", "i3+3"])
def test_elimination_cutoff_of_every_interval_design_is_used(method: str) -> None:
    # 2 DLTs in 3 at the lowest dose: Pr(rate > 0.3) = 0.916 under Beta(1, 1), so the
    # dose is eliminated (and the trial stops) with a cut-off of 0.9, not with 0.95
    treated = pd.DataFrame(
        {
            "dose_level": [1, 1, 1],
            "dlt": [True, True, False],
            "first_dose_date": pd.to_datetime(["2025-01-01"] * 3),
        }
    )
    strict, _ = escalation_decision(_protocol(method, 0.9), treated)
    lenient, _ = escalation_decision(_protocol(method, 0.95), treated)
    assert strict.action == "stop" and lenient.action != "stop"
    expected = design_from_protocol(_protocol(method, 0.9)).decide(
        [3, 0, 0], [2, 0, 0], 1, last_cohort_dlts=2
    )
    assert (strict.action, strict.next_dose) == (expected.action, expected.next_dose)
