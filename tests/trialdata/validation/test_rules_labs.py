"""LB-001: a lab result's normal range is not inverted."""

from __future__ import annotations

from typing import Any

from trialdata.validation.rules.testing import (
    clean_records,
    clean_upload,
    findings_set,
    make_upload,
    run_rule,
    typed_table,
)


def run(row: int, **values: Any) -> Any:
    records = clean_records()
    records["labs"][row].update(values)
    return run_rule("LB-001", clean_upload(records))


def test_lb001_message_and_value() -> None:
    found = run(1, lower_limit=60.5)
    assert findings_set(found) == {("LB-001", "labs.csv", 3, "lower_limit")}
    assert found["value"].tolist() == ["60.5"]
    assert found["message"].tolist() == [
        "normal range of ALT on 2024-01-24 has lower limit 60.5 above upper limit 56"
    ]


def test_lb001_quiet_on_equal_or_missing_limits() -> None:
    assert run(1, lower_limit=56.0).empty
    assert run(1, lower_limit=60.0, upper_limit=None).empty
    assert run(1, lower_limit=None, upper_limit=1.0).empty


def test_lb001_without_test_code_or_date_columns() -> None:
    # a table without the columns the message names still gets its finding
    labs = typed_table(
        "labs", [{"subject_id": "S-01", "lower_limit": 9.0, "upper_limit": 3.0}]
    )
    found = run_rule("LB-001", make_upload(labs=labs))
    assert found["message"].tolist() == [
        "normal range of - on - has lower limit 9 above upper limit 3"
    ]
