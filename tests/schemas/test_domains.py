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


def test_unknown_domain_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known domains: subjects, cohorts"):
        get_domain("vital_signs")
