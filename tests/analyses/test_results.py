"""The result base class: long frame, wide summary, provenance."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analyses import AnalysisResult, hash_frame, make_provenance


@dataclass(frozen=True, kw_only=True)
class _Counts(AnalysisResult):
    frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.frame


def test_summary_keeps_groups_with_missing_keys() -> None:
    long = pd.DataFrame(
        {
            "visit": ["D28", "D28", None, None],
            "stat": ["n", "mean", "n", "mean"],
            "value": [3.0, 1.5, 1.0, 2.0],
        }
    )
    result = _Counts(frame=long, provenance=make_provenance("counts"))
    wide = result.summary()
    assert len(wide) == 2
    assert wide.loc[wide["visit"].isna(), "n"].tolist() == [1.0]


def test_provenance_records_inputs_and_parameters() -> None:
    data = pd.DataFrame({"a": [1, 2]})
    provenance = make_provenance("f", {"data": data}, conf_type="log-log", alpha=0.05)
    assert provenance.input_rows == {"data": 2}
    assert provenance.input_hashes == {"data": hash_frame(data)}
    assert provenance.to_dict()["parameters"] == {"conf_type": "log-log", "alpha": 0.05}
    assert "conf_type='log-log'" in provenance.describe()


def test_frame_hash_depends_on_content_not_index() -> None:
    a = pd.DataFrame({"x": [1, 2]})
    assert hash_frame(a) == hash_frame(a.set_axis([10, 11]))
    assert hash_frame(a) != hash_frame(pd.DataFrame({"x": [1, 3]}))
