"""The core and the extras: every import declared, every declaration used.

The packages of ``trialdata``, ``schemas`` and ``analyses`` are parsed with ``ast``;
each third-party package they import (``import x``, ``from x import y``, and
``require_extra("x", ...)`` / ``import_optional("x", ...)`` calls) must be declared in
``pyproject.toml``, in the core or in an extra, and each declared package must be
imported somewhere. A missing optional package gives a message naming the extra.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from analyses._optional import import_optional
from trialdata.errors import MissingExtraError, TrialDataError
from trialdata.extras import PACKAGE_NAMES, require_extra

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("trialdata", "schemas", "analyses")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]["name"]

#: Extras that only the tests and the developers' tools use.
TEST_EXTRAS = ("test", "crosscheck")
#: Declared in the test extra, used as programs or plugins rather than imported.
TOOLS = {
    "pytest-xdist": "pytest -n auto (the README's test command)",
    "mypy": "the type check (pyproject [tool.mypy])",
    "ruff": "tests/test_code_style.py runs the executable",
    "pandas-stubs": "types for mypy",
}
#: Modules that import an extra's package at module level; each is only imported
#: after a ``require_extra`` check (trialdata.store's ``__init__``, the renderer
#: choice in trialdata.reports) so a missing extra is named, not an ImportError.
GATED = {
    "trialdata/store/": "store",
    "trialdata/reports/docx.py": "reports",
    "trialdata/reports/rtf.py": "reports",
}


def _norm(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(entries: list[str]) -> tuple[set[str], set[str]]:
    """Return (distributions, included extras of this project) of a list."""
    dists, included = set(), set()
    for entry in entries:
        req = Requirement(entry)
        if _norm(req.name) == _norm(PROJECT):
            included |= req.extras
        else:
            dists.add(_norm(req.name))
    return dists, included


def _declared() -> dict[str, set[str]]:
    """Distributions per extra (``""`` is the core), included extras resolved."""
    raw = {"": _requirements(PYPROJECT["project"]["dependencies"])}
    for extra, entries in PYPROJECT["project"]["optional-dependencies"].items():
        raw[extra] = _requirements(entries)

    def resolve(extra: str, seen: frozenset[str] = frozenset()) -> set[str]:
        dists, included = raw[extra]
        out = set(dists)
        for other in included - seen:
            out |= resolve(other, seen | {extra})
        return out

    return {extra: resolve(extra) for extra in raw}


def _import_names() -> dict[str, str]:
    """Top-level import name -> distribution, for every declared distribution."""
    installed = importlib.metadata.packages_distributions()
    names: dict[str, str] = {}
    for top, dists in installed.items():
        for dist in dists:
            names.setdefault(top, _norm(dist))
    for top, package in PACKAGE_NAMES.items():  # also when not installed here
        names.setdefault(top, _norm(package))
    return names


def _dist_of(top: str, names: dict[str, str]) -> str:
    return names.get(top, _norm(top))


def _modules(*roots: str) -> Iterator[tuple[Path, ast.Module]]:
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            yield path, ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module) -> Iterator[tuple[str, bool, str | None]]:
    """Yield (top-level module, imported at module level, extra named or None)."""
    module_level = {id(node) for node in tree.body}
    # an import inside ``if TYPE_CHECKING:`` or ``try:`` at module level counts too
    for node in tree.body:
        if isinstance(node, ast.If | ast.Try):
            module_level |= {id(child) for child in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], id(node) in module_level, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], id(node) in module_level, None
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("require_extra", "import_optional")
            and len(node.args) >= 2
            and all(isinstance(a, ast.Constant) for a in node.args[:2])
        ):
            module, extra = (a.value for a in node.args[:2])  # type: ignore[attr-defined]
            yield str(module).split(".")[0], False, str(extra)


def _third_party(top: str) -> bool:
    return top not in sys.stdlib_module_names and top not in PACKAGES


def test_every_imported_package_is_declared_in_the_core_or_an_extra() -> None:
    declared = _declared()
    runtime = set().union(*(d for e, d in declared.items() if e not in TEST_EXTRAS))
    names = _import_names()
    undeclared = sorted(
        f"{path.relative_to(ROOT)}: {top} ({_dist_of(top, names)})"
        for path, tree in _modules(*PACKAGES)
        for top, _, _ in _imports(tree)
        if _third_party(top) and _dist_of(top, names) not in runtime
    )
    assert undeclared == [], "imported but not declared in pyproject.toml"


def test_every_declared_package_is_imported() -> None:
    declared = _declared()
    names = _import_names()
    used_by_package = {
        _dist_of(top, names)
        for _, tree in _modules(*PACKAGES)
        for top, _, _ in _imports(tree)
        if _third_party(top)
    }
    used_by_tests = {
        _dist_of(top, names)
        for _, tree in _modules("tests", "benchmarks")
        for top, _, _ in _imports(tree)
        if _third_party(top)
    }
    unused = {
        extra: sorted(dists - used_by_package)
        for extra, dists in declared.items()
        if extra not in TEST_EXTRAS and dists - used_by_package
    }
    assert unused == {}, "declared but imported nowhere in the packages"
    for extra in TEST_EXTRAS:
        for dist in declared[extra] - used_by_tests:
            assert dist in TOOLS, f"[{extra}] {dist} is neither imported nor a tool"


def test_the_core_holds_no_server_driver_dask_or_weasyprint() -> None:
    core = _declared()[""]
    for heavy in ("dask", "distributed", "psycopg", "weasyprint", "lifelines"):
        assert heavy not in core


def test_every_require_extra_call_names_the_extra_that_declares_the_package() -> None:
    declared = _declared()
    names = _import_names()
    calls = [
        (path, top, extra)
        for path, tree in _modules(*PACKAGES)
        for top, _, extra in _imports(tree)
        if extra is not None
    ]
    assert len(calls) >= 6  # pdf, docx, rtf, xlsx figures, store, postgres, ...
    wrong = [
        f"{path.relative_to(ROOT)}: {top} is not in [{extra}]"
        for path, top, extra in calls
        if _dist_of(top, names) not in declared.get(extra, set())
    ]
    assert wrong == []


def test_extra_packages_are_imported_at_module_level_only_behind_a_check() -> None:
    declared = _declared()
    core = declared[""]
    names = _import_names()
    ungated = []
    for path, tree in _modules(*PACKAGES):
        rel = path.relative_to(ROOT).as_posix()
        gate = next((e for p, e in GATED.items() if rel.startswith(p)), None)
        for top, module_level, _ in _imports(tree):
            dist = _dist_of(top, names)
            if not module_level or not _third_party(top) or dist in core:
                continue
            if gate is None or dist not in declared[gate]:
                ungated.append(f"{rel}: {top}")
    assert ungated == [], "an extra's package imported at module level, unchecked"


def test_a_missing_package_names_its_extra() -> None:
    with pytest.raises(MissingExtraError) as caught:
        require_extra("not_a_real_module_xyz", "pdf", "PDF output")
    error = caught.value
    assert isinstance(error, TrialDataError)  # the CLI's one-line error, no traceback
    assert str(error) == (
        "PDF output needs not_a_real_module_xyz: pip install 'trialdata[pdf]'"
    )
    assert (error.module, error.extra) == ("not_a_real_module_xyz", "pdf")


def test_the_message_uses_the_name_pip_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-docx imports as docx: the message names what to look for on PyPI
    monkeypatch.setitem(sys.modules, "docx", None)  # import docx -> not found
    with pytest.raises(MissingExtraError, match=r"^DOCX output needs python-docx: "):
        require_extra("docx", "reports", "DOCX output")


def test_an_installed_package_missing_a_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "half_installed_xyz.py").write_text("import not_there_either_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtraError) as caught:
        require_extra("half_installed_xyz", "reports", "RTF output")
    assert str(caught.value) == (
        "RTF output needs half_installed_xyz, which could not import "
        "not_there_either_xyz: pip install 'trialdata[reports]'"
    )


def test_a_package_that_cannot_load_its_system_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WeasyPrint raises OSError at import when Pango is not installed
    (tmp_path / "needs_pango_xyz.py").write_text(
        "raise OSError(\"cannot load library 'libpango-1.0-0'\")\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtraError) as caught:
        require_extra("needs_pango_xyz", "pdf", "PDF output", "install Pango")
    message = str(caught.value)
    assert message.startswith("PDF output needs needs_pango_xyz, which is installed")
    assert "libpango-1.0-0" in message and message.endswith(": install Pango")


def test_an_installed_package_is_returned() -> None:
    assert require_extra("json", "reports", "JSON").__name__ == "json"


def test_the_analyses_name_the_extra_without_importing_trialdata() -> None:
    with pytest.raises(ModuleNotFoundError) as caught:
        import_optional("not_a_real_module_xyz", "distributed", "Simulating on Dask")
    assert str(caught.value) == (
        "Simulating on Dask needs not_a_real_module_xyz: "
        "pip install 'trialdata[distributed]'"
    )
    assert caught.value.name == "not_a_real_module_xyz"


def test_a_postgresql_store_without_the_driver_names_the_postgres_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trialdata.store.engine import create_store_engine

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(MissingExtraError) as caught:
        create_store_engine("postgresql://someone@127.0.0.1:1/nowhere")
    assert str(caught.value) == (
        "A PostgreSQL store needs psycopg: pip install 'trialdata[postgres]'"
    )


def test_the_store_without_its_extra_names_the_store_extra() -> None:
    # a fresh interpreter, where SQLAlchemy cannot be imported
    script = (
        "import sys\n"
        "sys.modules['sqlalchemy'] = None\n"
        "from trialdata.errors import MissingExtraError\n"
        "try:\n"
        "    import trialdata.store\n"
        "except MissingExtraError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "The trial store needs sqlalchemy: pip install 'trialdata[store]'"
    )
