"""The protocol model refuses what cannot be a valid trial, naming each field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemas import ProtocolError, load_protocol, parse_protocol


def _protocol(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "trial": {
            "id": "NK-AML-01",
            "title": "NK cells in AML",
            "protocol_version": "2.0",
        },
        "design": {
            "method": "3+3",
            "target_dlt_rate": 0.3,
            "cohort_size": 3,
            "max_subjects": 18,
        },
        "dose_levels": [
            {"level": 1, "amount": 3, "unit": "10^6 cells/kg"},
            {"level": 2, "amount": 10, "unit": "10^6 cells/kg"},
        ],
        "routes": ["INTRAVENOUS"],
        "dlt_window_days": 28,
        "visits": [
            {"name": "D0", "day": 0},
            {"name": "D28", "day": 28, "window_before": 3, "window_after": 3},
        ],
        "release_specifications": [{"attribute": "viability_pct", "min": 70}],
        "sites": [{"id": "NIJ", "name": "Nijmegen"}],
    }
    base.update(changes)
    return base


def test_valid_protocol_loads_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "protocol.toml"
    path.write_text(
        """
routes = ["INTRAVENOUS"]
dlt_window_days = 28
[trial]
id = "NK-AML-01"
title = "NK cells in AML"
protocol_version = "2.0"
[design]
method = "BOIN"
target_dlt_rate = 0.3
cohort_size = 3
max_subjects = 30
[[dose_levels]]
level = 1
amount = 3
unit = "10^6 cells/kg"
[[sites]]
id = "NIJ"
name = "Nijmegen"
"""
    )
    protocol = load_protocol(path)
    assert protocol.design.method == "BOIN"
    assert protocol.dose_level(1).unit == "10^6 cells/kg"
    assert protocol.site_ids == ("NIJ",)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {
                "design": {
                    "method": "rolling-6",
                    "target_dlt_rate": 0.3,
                    "cohort_size": 3,
                    "max_subjects": 18,
                }
            },
            "design.method: unknown value 'rolling-6'",
        ),
        ({"routes": ["ORAL"]}, "routes.0: unknown value 'ORAL'"),
        (
            {"dose_levels": [{"level": 2, "amount": 3, "unit": "x"}]},
            "dose_levels must be numbered 1..1",
        ),
        (
            {
                "design": {
                    "method": "CRM",
                    "target_dlt_rate": 0.3,
                    "cohort_size": 1,
                    "max_subjects": 18,
                }
            },
            "design.skeleton is required for a CRM design",
        ),
        (
            {"release_specifications": [{"attribute": "viability_pct"}]},
            "needs min or max",
        ),
        ({"unexpected": 1}, "unexpected: unknown field"),
        (
            {"dlt_window_days": 0},
            "dlt_window_days: Input should be greater than or equal to 1",
        ),
    ],
)
def test_invalid_protocols_name_the_field(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(_protocol(**changes), source="protocol.toml")
    assert problem in str(caught.value)
    assert "protocol.toml" in str(caught.value)


def test_unreadable_toml_is_a_protocol_error(tmp_path: Path) -> None:
    path = tmp_path / "protocol.toml"
    path.write_text("[trial\nid = ")
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(path)


def test_missing_protocol_file_is_a_protocol_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="cannot read file"):
        load_protocol(tmp_path / "protocol.toml")
