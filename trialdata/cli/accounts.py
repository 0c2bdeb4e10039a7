"""``trialdata users`` and ``trialdata sites``: the store's accounts.

Users, their roles and the trial's sites live in the store. Only a coordinator adds,
revokes or disables, and every change needs ``--reason``; any account may list.
Who acts is the operating-system user (SQLite) or the database login (PostgreSQL);
the first user of a new store is its coordinator. Exit codes: 0 done, 2 usage error
or permission denied (nothing changed). Every change prints the audit head after it.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
import typer

from trialdata.cli._errors import user_errors
from trialdata.cli.store import StoreOption, head_line, no_empty_store_left
from trialdata.store.store import TrialStore
from trialdata.store.tables import ROLES

__all__ = ["register"]

users_app = typer.Typer(
    help="Accounts of the store and their roles.", no_args_is_help=True
)
sites_app = typer.Typer(help="Sites of the trial in the store.", no_args_is_help=True)

_ROLE_HELP = f"Role: {', '.join(ROLES)}."
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; required.")]


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
) -> None:
    """Create an account (when new) and grant it a role (a coordinator)."""
    with user_errors(), no_empty_store_left(store), TrialStore.open(store) as opened:
        head = opened.add_user(
            name, role=role, site=site, full_name=full_name, reason=reason
        )
        who = opened.user
    where = f" at {site}" if site else ""
    print(f"{name} holds {role}{where} (granted by {who})")
    print(head_line(head))


@users_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The account.")],
    role: Annotated[str, typer.Option("--role", help=_ROLE_HELP)],
    reason: ReasonOption,
    site: Annotated[
        str | None, typer.Option("--site", help="The site of a site_data_entry grant.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Revoke a role an account holds (a coordinator); the grant's history stays."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        head = opened.revoke_role(name, role=role, site=site, reason=reason)
    where = f" at {site}" if site else ""
    print(f"{name} no longer holds {role}{where}")
    print(head_line(head))


@users_app.command("disable")
def disable(
    name: Annotated[str, typer.Argument(help="The account.")],
    reason: ReasonOption,
    store: StoreOption = None,
) -> None:
    """Disable an account (a coordinator): it can no longer act; its history stays."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        head = opened.disable_user(name, reason=reason)
    print(f"{name} is disabled")
    print(head_line(head))


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(value)


@users_app.command("list")
def list_users(
    store: StoreOption = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Include revoked grants.")
    ] = False,
) -> None:
    """List the accounts and the roles they hold."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        frame = opened.users()
    if frame.empty:
        print("no accounts yet: the first user who writes becomes the coordinator")
        return
    for row in frame.to_dict("records"):
        revoked = not pd.isna(row["revoked_cs"])
        if revoked and not everything:
            continue
        name = row["user_name"]
        full = f" ({row['full_name']})" if _text(row["full_name"]) else ""
        state = " [disabled]" if not pd.isna(row["disabled_cs"]) else ""
        if pd.isna(row["role"]):
            print(f"{name}{full}{state}: no role")
            continue
        where = "" if row["site_id"] == "*" else f" at {row['site_id']}"
        span = f"granted in changeset {int(row['granted_cs'])}"
        if revoked:
            span += f", revoked in changeset {int(row['revoked_cs'])}"
        print(f"{name}{full}{state}: {row['role']}{where} ({span})")


@sites_app.command("add")
def add_site(
    site_id: Annotated[
        str, typer.Argument(help="Site identifier, as in protocol.toml.")
    ],
    reason: ReasonOption,
    name: Annotated[str | None, typer.Option("--name", help="Site name.")] = None,
    store: StoreOption = None,
) -> None:
    """Add a site (a coordinator), so that users can be granted roles there."""
    with user_errors(), no_empty_store_left(store), TrialStore.open(store) as opened:
        head = opened.add_site(site_id, name=name, reason=reason)
    print(f"site {site_id} added")
    print(head_line(head))


@sites_app.command("list")
def list_sites(store: StoreOption = None) -> None:
    """List the sites of the store."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        frame = opened.site_table()
    if frame.empty:
        print("no sites yet: storing a protocol adds its sites")
        return
    for row in frame.to_dict("records"):
        name = f" ({row['name']})" if _text(row["name"]) else ""
        print(f"{row['site_id']}{name}: added in changeset {int(row['created_cs'])}")


def register(app: typer.Typer) -> None:
    """Add the ``users`` and ``sites`` commands to the command line."""
    app.add_typer(users_app, name="users")
    app.add_typer(sites_app, name="sites")
