"""Every domain column is documented, so the schema is the data dictionary."""

from __future__ import annotations

import pytest

from schemas.domains import DOMAINS, get_domain


@pytest.mark.parametrize("spec", DOMAINS, ids=lambda s: s.name)
def test_every_column_has_a_description_and_title(spec) -> None:  # type: ignore[no-untyped-def]
    for name, column in spec.schema.columns.items():
        assert column.description, f"{spec.name}.{name} has no description"
        assert column.title, f"{spec.name}.{name} has no title"


@pytest.mark.parametrize("spec", DOMAINS, ids=lambda s: s.name)
def test_keys_are_required_columns(spec) -> None:  # type: ignore[no-untyped-def]
    assert set(spec.key) <= set(spec.required_columns)


@pytest.mark.parametrize("spec", DOMAINS, ids=lambda s: s.name)
def test_the_key_is_what_the_model_declares_unique(spec) -> None:  # type: ignore[no-untyped-def]
    # validation checks the key only (check_keys), not pandera's uniqueness
    schema = spec.schema
    declared = schema.unique or [n for n, c in schema.columns.items() if c.unique]
    assert tuple(declared) == spec.key


@pytest.mark.parametrize("spec", DOMAINS, ids=lambda s: s.name)
def test_the_value_schema_is_the_schema_without_uniqueness_and_types(spec) -> None:  # type: ignore[no-untyped-def]
    # check_schema checks the types itself, check_keys the keys
    values = spec.value_schema
    assert values.unique is None
    assert not any(column.unique for column in values.columns.values())
    assert all(column.dtype is None for column in values.columns.values())
    checked = [n for n, c in spec.schema.columns.items() if c.checks or not c.nullable]
    assert list(values.columns) == checked
    for name, column in values.columns.items():
        original = spec.schema.columns[name]
        assert [(c.name, c.statistics) for c in column.checks] == [
            (c.name, c.statistics) for c in original.checks
        ]
        assert column.nullable == original.nullable
    assert spec.schema.unique == (list(spec.key) if len(spec.key) > 1 else None)


def test_unknown_domain_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known domains: subjects, cohorts"):
        get_domain("vital_signs")
