"""AD-001: a planned dose recorded as not given says why (reason_not_given).

A reason of only white space is no reason. A file without the column is reported
by the reader (RD-002), not here.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dosing import ADMIN, stripped


def not_given_without_reason(upload: Upload) -> pl.LazyFrame:
    """Return the doses not given (``given`` false) without a reason_not_given."""
    if not upload.has_columns(ADMIN, "given", "reason_not_given"):
        return union([])
    doses = upload.frame(ADMIN)
    reason = stripped("reason_not_given")
    seq = pl.col("admin_seq") if "admin_seq" in upload.columns(ADMIN) else pl.lit(None)
    return flagged(
        doses.filter(pl.col("given").not_() & (reason.is_null() | (reason == ""))),
        domain=ADMIN,
        column="reason_not_given",
        fields=[seq.alias("admin_seq")],
    )


RULE = Rule(
    id="AD-001",
    severity=ERROR,
    description="A planned dose not given (given = N) has a reason_not_given.",
    reads=(ADMIN,),
    finds=not_given_without_reason,
    message="administration {admin_seq} of subject {subject_id} was not given but "
    "no reason_not_given is recorded",
    example=change("administrations", 3, reason_not_given=None),
)
