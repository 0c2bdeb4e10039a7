"""Optional packages: import one, or say which trialdata extra installs it.

The core install (``pip install trialdata``) holds what validation and the analyses
need. Report formats, the store and PostgreSQL come with extras declared in
``pyproject.toml``; a command that needs one calls :func:`require_extra` so a missing
package gives a one-line message naming the extra, never an ``ImportError`` traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from trialdata.errors import MissingExtraError

__all__ = ["PACKAGE_NAMES", "install_hint", "require_extra"]

#: Import name -> the name pip knows the package by, where they differ.
PACKAGE_NAMES: dict[str, str] = {
    "docx": "python-docx",
    "PIL": "Pillow",
    "great_tables": "great-tables",
    "python_calamine": "python-calamine",
    "weasyprint": "WeasyPrint",
    "yaml": "PyYAML",
}


def install_hint(extra: str) -> str:
    """Return the pip command that installs a trialdata extra.

    Parameters
    ----------
    extra : str
        The extra's name, e.g. ``"pdf"``.

    Returns
    -------
    str
        ``pip install 'trialdata[<extra>]'``.
    """
    return f"pip install 'trialdata[{extra}]'"


def require_extra(
    module: str, extra: str, purpose: str, system: str | None = None
) -> ModuleType:
    """Import an optional module, or raise an error naming the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"weasyprint"`` or ``"docx"``.
    extra : str
        The trialdata extra that declares the package, e.g. ``"pdf"``.
    purpose : str
        What needs it, starting with a capital, e.g. ``"PDF output"``.
    system : str, optional
        What to install from the operating system when the package is installed but
        cannot load a shared library (WeasyPrint without Pango).

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    trialdata.errors.MissingExtraError
        When the module (or a package it imports) is not installed, or when it is
        installed but cannot be loaded (a missing system library: the message then
        names ``system`` when given).

    Examples
    --------
    >>> require_extra("json", "reports", "Reading JSON").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = (error.name or module).split(".")[0]
        top = module.split(".")[0]
        package = PACKAGE_NAMES.get(top, top)
        if missing != top:
            # The package is there but one of its own dependencies is not.
            message = (
                f"{purpose} needs {package}, which could not import {missing}: "
                f"{install_hint(extra)}"
            )
        else:
            message = f"{purpose} needs {package}: {install_hint(extra)}"
        raise MissingExtraError(message, module=module, extra=extra) from None
    except (ImportError, OSError) as error:
        # installed, but a shared library it loads is missing (WeasyPrint raises
        # OSError without Pango)
        fix = system or f"reinstall with {install_hint(extra)}"
        package = PACKAGE_NAMES.get(module.split(".")[0], module)
        raise MissingExtraError(
            f"{purpose} needs {package}, which is installed but cannot be loaded "
            f"({error}): {fix}",
            module=module,
            extra=extra,
        ) from None
