"""trialdata: the data side of early-phase cell-therapy clinical trials.

``import trialdata as td`` gives the public API: ``td.schemas`` and ``td.analyses`` are
the data contracts and the statistics, ``td.Trial`` a validated trial.

Importing the package is light: only :mod:`trialdata.errors` loads with it. Every
other public name loads its module on first use (a module ``__getattr__``), so that
``trialdata --help`` and a script that only needs the errors do not pay for pandas,
pandera or the statistics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from trialdata.errors import InputError, StoreError, TrialDataError, UnreadableFileError

if TYPE_CHECKING:  # the names below, for type checkers and editors
    import analyses
    import schemas
    from trialdata.findings import FINDING_COLUMNS, Finding, Severity, findings_frame
    from trialdata.trial import Trial, TrialDataWarning
    from trialdata.validation import ValidationReport, validate_folder

__all__ = [
    "FINDING_COLUMNS",
    "Finding",
    "InputError",
    "Severity",
    "StoreError",
    "Trial",
    "TrialDataError",
    "TrialDataWarning",
    "UnreadableFileError",
    "ValidationReport",
    "analyses",
    "findings_frame",
    "schemas",
    "validate_folder",
]

#: Public name -> the module that defines it (a name equal to its module is the module).
_LAZY: dict[str, str] = {
    "analyses": "analyses",
    "schemas": "schemas",
    "FINDING_COLUMNS": "trialdata.findings",
    "Finding": "trialdata.findings",
    "Severity": "trialdata.findings",
    "findings_frame": "trialdata.findings",
    "Trial": "trialdata.trial",
    "TrialDataWarning": "trialdata.trial",
    "ValidationReport": "trialdata.validation",
    "validate_folder": "trialdata.validation",
}


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use and keep the name.

    Parameters
    ----------
    name : str
        The attribute asked for.

    Returns
    -------
    object
        The module (``schemas``, ``analyses``) or the object of that name.

    Raises
    ------
    AttributeError
        When ``name`` is not a public name of the package.
    """
    source = _LAZY.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(source)
    value = module if name == source else getattr(module, name)
    globals()[name] = value  # later look-ups do not come here again
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
