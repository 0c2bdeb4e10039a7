"""Demo trial generation: complete domain tables, reproducible, protocol round trip."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from schemas.domains import get_domain
from schemas.protocol import parse_protocol
from trialdata.demo import ARCHETYPES, generate_trial
from trialdata.demo.protocols import protocol_data, protocol_toml

ARCHES = sorted(ARCHETYPES)


@pytest.fixture(scope="module", params=ARCHES)
def trial(request: pytest.FixtureRequest) -> tuple[str, dict, dict[str, pd.DataFrame]]:
    protocol, tables = generate_trial(request.param, seed=7)
    return request.param, protocol, tables


def test_protocol_toml_round_trips(trial: tuple) -> None:
    archetype, protocol, _ = trial
    text = protocol_toml(protocol)
    assert tomllib.loads(text) == protocol
    parsed = parse_protocol(tomllib.loads(text))
    assert parsed.trial.archetype == archetype


def test_every_required_domain_with_schema_columns(trial: tuple) -> None:
    _, protocol, tables = trial
    assert set(protocol["required_domains"]) <= set(tables)
    for domain, table in tables.items():
        spec = get_domain(domain)
        assert set(spec.required_columns) <= set(table.columns), domain
        assert set(table.columns) <= set(spec.columns), domain
        assert len(table) > 0, domain


def test_default_sizes_and_design(trial: tuple) -> None:
    archetype, protocol, tables = trial
    subjects, admin = tables["subjects"], tables["administrations"]
    assert len(subjects) == ARCHETYPES[archetype]
    per_subject = admin.groupby("subject_id").size()
    expected_doses = 6 if archetype == "tolDC-ms" else 1
    assert set(per_subject) == {expected_doses}
    assert subjects["withdrawal_date"].notna().sum() >= 1
    dead = tables["survival_status"]["death_date"].notna().sum()
    assert (dead >= 1) if archetype == "nk-aml" else (dead == 0)
    levels = {d["level"]: d["amount"] for d in protocol["dose_levels"]}
    given = admin[admin["given"].astype(bool)]
    assert (given["dose_amount"] == given["dose_level"].map(levels)).all()


def test_withdrawn_subjects_samples_are_destroyed(trial: tuple) -> None:
    _, _, tables = trial
    subjects, samples = tables["subjects"], tables["biobank_samples"]
    withdrawn = subjects.loc[subjects["withdrawal_date"].notna(), "subject_id"]
    mine = samples[samples["subject_id"].isin(withdrawn)]
    assert len(mine) and mine["destroyed_date"].notna().all()
    assert (mine["consent_status"] == "WITHDRAWN").all()


def test_seed_reproduces_and_differs() -> None:
    _, first = generate_trial("nk-aml", 10, seed=3)
    _, again = generate_trial("nk-aml", 10, seed=3)
    _, other = generate_trial("nk-aml", 10, seed=4)
    for domain in first:
        pd.testing.assert_frame_equal(first[domain], again[domain])
    assert not first["labs"]["value"].equals(other["labs"]["value"])


def test_extra_draws_add_unscheduled_lab_and_immunomonitoring_rows() -> None:
    _, base = generate_trial("tolDC-ms", 6, seed=1)
    _, dense = generate_trial("tolDC-ms", 6, seed=1, extra_draws=10)
    for domain in ("labs", "immunomonitoring"):
        added = dense[domain][dense[domain]["visit"].isna()]
        assert len(dense[domain]) == len(base[domain]) + len(added) > len(base[domain])
        key = list(get_domain(domain).key)
        assert not dense[domain].duplicated(key).any()


def test_scales_to_hundreds_of_subjects() -> None:
    _, tables = generate_trial("tolDC-ms", 300, seed=2)
    assert tables["subjects"]["subject_id"].is_unique
    assert len(tables["administrations"]) == 6 * 300


def test_unknown_archetype_and_bad_size() -> None:
    with pytest.raises(ValueError, match="unknown archetype"):
        generate_trial("car-t", 5)
    with pytest.raises(ValueError, match="at least 1 subject"):
        generate_trial("nk-aml", 0)
    with pytest.raises(ValueError, match="unknown archetype"):
        protocol_data("car-t", 5)
