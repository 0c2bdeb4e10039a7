"""Optional packages of the analyses: import one, or say which extra installs it.

``analyses`` imports nothing from ``trialdata`` (the layers point down), so this is
the analyses' own counterpart of :func:`trialdata.extras.require_extra`: it raises
``ModuleNotFoundError`` (what a library user expects from a missing package) with a
message that names the pip extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["import_optional"]


def import_optional(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional module, or raise ``ModuleNotFoundError`` naming the extra.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"great_tables"``.
    extra : str
        The trialdata extra that declares its package, e.g. ``"reports"``.
    purpose : str
        What needs it, e.g. ``"SafetyResult.to_gt()"``.

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    ModuleNotFoundError
        When the module is not installed; the message ends with
        ``pip install 'trialdata[<extra>]'``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or module
        raise ModuleNotFoundError(
            f"{purpose} needs {missing}: pip install 'trialdata[{extra}]'",
            name=missing,
        ) from None
