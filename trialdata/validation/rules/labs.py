"""Laboratory rules: normal ranges make sense."""

from __future__ import annotations

import pandas as pd

from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import has_columns, report, text

__all__ = ["check_normal_range"]


@rule(
    "LB-001",
    Severity.ERROR,
    "A lab result's lower_limit is not above its upper_limit.",
    requires=("labs",),
)
def check_normal_range(ctx: RuleContext) -> pd.DataFrame:
    """Flag lab results whose normal range is inverted (LB-001)."""
    labs = ctx.tables["labs"]
    if not has_columns(labs, "lower_limit", "upper_limit"):
        return findings_frame([])
    return report(
        labs,
        labs["lower_limit"].gt(labs["upper_limit"]),
        domain="labs",
        rule="LB-001",
        severity=Severity.ERROR,
        column="lower_limit",
        message=lambda h: (
            "normal range of "
            + text(h["test_code"])
            + " on "
            + text(h["lab_date"])
            + " has lower limit "
            + text(h["lower_limit"])
            + " above upper limit "
            + text(h["upper_limit"])
        ),
    )
