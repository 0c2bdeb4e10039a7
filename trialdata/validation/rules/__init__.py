"""Cross-domain and protocol rules, one module per rule.

Each module ``<id>_<what>.py`` (e.g. ``xd002_before_consent.py``) defines ``RULE``, a
:class:`trialdata.validation.rule.Rule`; modules whose names start with ``_`` hold
what several rules share. :func:`all_rules` finds them; :func:`run_rules` runs them.
Adding a rule is adding its module (and its tests): nothing else lists it.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import pandas as pd

from trialdata.findings import findings_frame
from trialdata.validation import rule as rule_api
from trialdata.validation.rule import Rule, Upload

__all__ = ["all_rules", "find_rule", "run_rules"]

#: Modules of this package that hold no rule.
_NOT_RULES = frozenset({"testing", "catalogue"})


@cache
def _rules() -> tuple[Rule, ...]:
    """Import every rule module of this package and return their rules."""
    found: dict[str, Rule] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_") or module.name in _NOT_RULES:
            continue
        defined = importlib.import_module(f"{__name__}.{module.name}").RULE
        if not isinstance(defined, Rule):
            raise TypeError(f"{module.name}.RULE is not a Rule")
        if defined.id in found:
            raise ValueError(f"rule {defined.id} defined twice")
        found[defined.id] = defined
    return tuple(sorted(found.values(), key=lambda r: (r.id[:2] != "XD", r.id)))


def all_rules() -> list[Rule]:
    """Return every rule, in catalogue order (XD-* first, then by id)."""
    return list(_rules())


def find_rule(rule_id: str) -> Rule:
    """Return the rule with this id.

    Raises
    ------
    KeyError
        If no rule has that id.
    """
    for found in _rules():
        if found.id == rule_id:
            return found
    raise KeyError(f"no rule {rule_id}")


def run_rules(upload: Upload) -> pd.DataFrame:
    """Run every rule whose domains are in the upload.

    Parameters
    ----------
    upload : trialdata.validation.rule.Upload
        The upload.

    Returns
    -------
    pandas.DataFrame
        All findings, one row each.
    """
    return findings_frame(rule_api.run_rules(_rules(), upload))
