"""A light start: ``import trialdata``, ``--help`` and ``--version`` load no heavy package.

Timing depends on the machine (``benchmarks/startup.py`` prints the figures); what
these tests hold is the machine-independent cause of a fast start: the modules that
cost seconds (pandas, pandera and Dask through it, SQLAlchemy, matplotlib, the
statistics) are not imported until a command needs them. Each check runs in a new
interpreter and reads its ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

#: Packages that must not load at start-up.
HEAVY = (
    "pandas",
    "pandera",
    "sqlalchemy",
    "matplotlib",
    "numpy",
    "scipy",
    "dask",
    "alembic",
    "rich",
    "schemas",
    "analyses",
)

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def loaded_after(body: str) -> list[str]:
    """Run ``body`` in a new interpreter; return the heavy packages it imported."""
    code = _PROBE.format(body=body, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli_body(*args: str) -> str:
    """Code that runs the command line with arguments, output swallowed."""
    return (
        "import contextlib, io\n"
        "from trialdata.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({list(args)!r})\n"
        "    except SystemExit as done:\n"
        "        assert done.code in (0, None), done.code\n"
    )


def test_import_trialdata_is_light() -> None:
    assert loaded_after("import trialdata") == []


def test_import_trialdata_cli_is_light() -> None:
    assert loaded_after("import trialdata.cli") == []


def test_help_and_version_are_light() -> None:
    assert loaded_after(cli_body("--help")) == []
    assert loaded_after(cli_body("--version")) == []


def test_public_names_load_on_first_use() -> None:
    body = (
        "import trialdata as td\n"
        "assert td.Trial.__name__ == 'Trial'\n"
        "assert td.validate_folder.__module__.startswith('trialdata.validation')\n"
    )
    assert {"pandas", "schemas"} <= set(loaded_after(body))


def test_every_public_name_resolves() -> None:
    import trialdata as td

    for name in td.__all__:
        assert getattr(td, name) is not None, name
    assert td.schemas.__name__ == "schemas" and td.analyses.__name__ == "analyses"
    from trialdata.trial import Trial

    assert td.Trial is Trial
    assert set(td.__all__) <= set(dir(td))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = td.nothing_here  # type: ignore[attr-defined]


def test_version_prints_the_installed_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trialdata", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"trialdata {version('trialdata')}\n"


def test_version_option_through_typer() -> None:
    from typer.testing import CliRunner

    from trialdata.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"trialdata {version('trialdata')}\n"


def _commands() -> list[list[str]]:
    """Every command path of the command line, groups and leaves."""
    import typer.main

    from trialdata.cli import app

    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_every_subcommand_help_works_and_stays_light() -> None:
    paths = _commands()
    assert ["ingest"] in paths and ["report", "safety"] in paths
    probe = "\n".join(cli_body(*path, "--help") for path in paths)
    assert loaded_after(probe) == []


def test_quiet_reads_as_a_flag() -> None:
    from typer.testing import CliRunner

    from trialdata.cli import app

    for path in (["validate"], ["ingest"], ["report", "safety"], ["simulate"]):
        text = CliRunner().invoke(app, [*path, "--help"]).stdout
        (line,) = [ln for ln in text.splitlines() if "-q, --quiet" in ln]
        assert line.split() == ["-q,", "--quiet", "No", "progress", "on", "stderr."]


def test_light_constants_agree_with_their_modules() -> None:
    from trialdata.cli.accounts import ROLES
    from trialdata.cli.demo import ANSWER_KEY
    from trialdata.cli.report import REPORT_FORMATS
    from trialdata.demo import ANSWER_KEY as DEMO_ANSWER_KEY
    from trialdata.reports import FORMATS
    from trialdata.store.tables import ROLES as STORE_ROLES

    assert ROLES == STORE_ROLES
    assert ANSWER_KEY == DEMO_ANSWER_KEY
    assert REPORT_FORMATS == FORMATS
