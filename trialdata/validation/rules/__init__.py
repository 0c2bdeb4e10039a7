"""Cross-domain and protocol rules.

Each rule is registered with :func:`rule` and has an id, a severity, a description and
the domains it needs; it runs only when they are all present. ``RULES`` lists them in
registration order; :func:`run_rules` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext

__all__ = ["RULES", "Rule", "rule", "run_rules"]

RuleFunction = Callable[[RuleContext], pd.DataFrame]


@dataclass(frozen=True)
class Rule:
    """A registered validation rule.

    Attributes
    ----------
    id : str
        Rule identifier, e.g. ``"XD-001"``.
    severity : Severity
        Severity of its findings.
    description : str
        One sentence: what the rule requires.
    requires : tuple of str
        Domains that must be present for the rule to run.
    check : callable
        ``check(ctx) -> findings frame``.
    """

    id: str
    severity: Severity
    description: str
    requires: tuple[str, ...]
    check: RuleFunction


RULES: list[Rule] = []


def rule(
    id: str, severity: Severity | str, description: str, requires: tuple[str, ...]
) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function.

    Parameters
    ----------
    id : str
        Rule identifier; must be unique.
    severity : Severity or str
        Severity of the rule's findings.
    description : str
        What the rule requires, in one sentence.
    requires : tuple of str
        Domains the rule needs.

    Returns
    -------
    callable
        The decorator, which returns the function unchanged.
    """

    def register(check: RuleFunction) -> RuleFunction:
        if any(existing.id == id for existing in RULES):
            raise ValueError(f"rule {id} registered twice")
        RULES.append(Rule(id, Severity(severity), description, requires, check))
        return check

    return register


def run_rules(ctx: RuleContext) -> pd.DataFrame:
    """Run every registered rule whose domains are present.

    Parameters
    ----------
    ctx : RuleContext
        The upload.

    Returns
    -------
    pandas.DataFrame
        All findings, one row each.
    """
    _load_rule_modules()
    frames = [r.check(ctx) for r in RULES if ctx.has(*r.requires)]
    return findings_frame(frames)


def _load_rule_modules() -> None:
    # Imported for their registrations; kept here so that importing this package
    # does not import every rule module before RULES exists.
    from trialdata.validation.rules import (  # noqa: F401
        adverse_events,
        biobank,
        design,
        dosing,
        labs,
        plausibility,
        privacy,
        references,
        timing,
    )
