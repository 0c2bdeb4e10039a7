"""``trialdata users`` and ``trialdata sites``: the store's accounts.

Users, their roles and the trial's sites live in the store. Only a coordinator adds,
revokes or disables, and every change needs ``--reason``; any account may list.
Who acts is the operating-system user (SQLite) or the database login (PostgreSQL);
the first user of a new store is its coordinator. Exit codes: 0 done, 2 usage error
or permission denied (nothing changed). Every change prints the audit head after it.
Every command takes ``--format json``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from trialdata.cli._errors import user_errors
from trialdata.cli._options import FormatOption, OutputFormat, StoreOption
from trialdata.cli._output import emit, records
from trialdata.cli.store import head_line, no_empty_store_left

__all__ = ["ROLES", "register"]

users_app = typer.Typer(
    help="Accounts of the store and their roles.", no_args_is_help=True
)
sites_app = typer.Typer(help="Sites of the trial in the store.", no_args_is_help=True)

#: ``trialdata.store.tables.ROLES``, named here for the help text without loading the
#: store (a test checks that the two agree).
ROLES: tuple[str, ...] = (
    "coordinator",
    "data_manager",
    "site_data_entry",
    "statistician",
    "dmc",
)

_ROLE_HELP = f"Role: {', '.join(ROLES)}."
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; required.")]


def _open(store: str | None, *, create: bool = False) -> Any:
    from trialdata.store.store import TrialStore

    return TrialStore.open(store, create=create)


@users_app.command("add")
def add(
    name: Annotated[
        str,
        typer.Argument(
            help="Account: operating-system login (SQLite) or database role "
            "(PostgreSQL)."
        ),
    ],
    role: Annotated[str, typer.Option("--role", help=_ROLE_HELP)],
    reason: ReasonOption,
    site: Annotated[
        str | None,
        typer.Option("--site", help="The site, for site_data_entry (required there)."),
    ] = None,
    full_name: Annotated[
        str | None,
        typer.Option("--full-name", help="Printed name (shown with signatures)."),
    ] = None,
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Create an account (when new) and grant it a role (a coordinator)."""
    with (
        user_errors(),
        no_empty_store_left(store),
        _open(store, create=True) as opened,
    ):
        head = opened.add_user(
            name, role=role, site=site, full_name=full_name, reason=reason
        )
        who = opened.user
    where = f" at {site}" if site else ""
    document = {
        "user": name,
        "role": role,
        "site": site,
        "full_name": full_name,
        "granted_by": who,
        "audit_head": head,
    }
    lines = [f"{name} holds {role}{where} (granted by {who})", head_line(head)]
    emit(output_format, document, lines)


@users_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The account.")],
    role: Annotated[str, typer.Option("--role", help=_ROLE_HELP)],
    reason: ReasonOption,
    site: Annotated[
        str | None, typer.Option("--site", help="The site of a site_data_entry grant.")
    ] = None,
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Revoke a role an account holds (a coordinator); the grant's history stays."""
    with user_errors(), _open(store) as opened:
        head = opened.revoke_role(name, role=role, site=site, reason=reason)
    where = f" at {site}" if site else ""
    document = {"user": name, "role": role, "site": site, "audit_head": head}
    lines = [f"{name} no longer holds {role}{where}", head_line(head)]
    emit(output_format, document, lines)


@users_app.command("disable")
def disable(
    name: Annotated[str, typer.Argument(help="The account.")],
    reason: ReasonOption,
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Disable an account (a coordinator): it can no longer act; its history stays."""
    with user_errors(), _open(store) as opened:
        head = opened.disable_user(name, reason=reason)
    document = {"user": name, "disabled": True, "audit_head": head}
    emit(output_format, document, [f"{name} is disabled", head_line(head)])


def _text(value: Any) -> str:
    import pandas as pd

    return "" if value is None or pd.isna(value) else str(value)


@users_app.command("list")
def list_users(
    store: StoreOption = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Include revoked grants.")
    ] = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """List the accounts and the roles they hold."""
    import pandas as pd

    with user_errors(), _open(store) as opened:
        frame = opened.users()
    if frame.empty:
        lines = ["no accounts yet: the first user who writes becomes the coordinator"]
        emit(output_format, {"users": []}, lines)
        return
    if not everything:
        frame = frame.loc[frame["revoked_cs"].isna()]
    lines = []
    for row in frame.to_dict("records"):
        name = row["user_name"]
        full = f" ({row['full_name']})" if _text(row["full_name"]) else ""
        state = " [disabled]" if not pd.isna(row["disabled_cs"]) else ""
        if pd.isna(row["role"]):
            lines.append(f"{name}{full}{state}: no role")
            continue
        where = "" if row["site_id"] == "*" else f" at {row['site_id']}"
        span = f"granted in changeset {int(row['granted_cs'])}"
        if not pd.isna(row["revoked_cs"]):
            span += f", revoked in changeset {int(row['revoked_cs'])}"
        lines.append(f"{name}{full}{state}: {row['role']}{where} ({span})")
    emit(output_format, {"users": records(frame)}, lines)


@sites_app.command("add")
def add_site(
    site_id: Annotated[
        str, typer.Argument(help="Site identifier, as in protocol.toml.")
    ],
    reason: ReasonOption,
    name: Annotated[str | None, typer.Option("--name", help="Site name.")] = None,
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Add a site (a coordinator), so that users can be granted roles there."""
    with (
        user_errors(),
        no_empty_store_left(store),
        _open(store, create=True) as opened,
    ):
        head = opened.add_site(site_id, name=name, reason=reason)
    document = {"site_id": site_id, "name": name, "audit_head": head}
    emit(output_format, document, [f"site {site_id} added", head_line(head)])


@sites_app.command("list")
def list_sites(
    store: StoreOption = None, output_format: FormatOption = OutputFormat.TEXT
) -> None:
    """List the sites of the store."""
    with user_errors(), _open(store) as opened:
        frame = opened.site_table()
    if frame.empty:
        lines = ["no sites yet: storing a protocol adds its sites"]
        emit(output_format, {"sites": []}, lines)
        return
    lines = []
    for row in frame.to_dict("records"):
        name = f" ({row['name']})" if _text(row["name"]) else ""
        lines.append(
            f"{row['site_id']}{name}: added in changeset {int(row['created_cs'])}"
        )
    emit(output_format, {"sites": records(frame)}, lines)


def register(app: typer.Typer) -> None:
    """Add the ``users`` and ``sites`` commands to the command line."""
    app.add_typer(users_app, name="users")
    app.add_typer(sites_app, name="sites")
