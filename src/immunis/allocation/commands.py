"""`immunis allocate PLAN.yaml [--dispatch]`: a fair allocation of the national store's doses,
explained step by step, and with --dispatch carried out as stock transfers.

The plan file:

    from_store: VN-NATIONAL-STORE      # the sending store's site code
    cvx: "04"                          # the vaccine (CVX)
    date: 2026-01-05                   # day of dispatch (default: today)
    policy: {doses_per_person: 2, proportional_share: 0.2}
    provinces:
      - {code: "01", name: Hà Nội, store: HN-PROVINCE-STORE, population: 8400000,
         tiers: {1: 120000, 2: 900000}, cold_chain_capacity: 2000000, holding: 0}
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from immunis.access.system import system_actor
from immunis.allocation.allocate import AllocationError, Policy, Province
from immunis.allocation.service import ProvinceStore, allocate_and_dispatch
from immunis.db import make_engine, make_sessionmaker, transaction
from immunis.errors import DomainError
from immunis.registry.models import Site
from immunis.settings import get_settings

console = Console()


class _Province(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^\d{2}$")
    name: str
    store: str
    population: int = Field(ge=0)
    tiers: dict[int, int] = Field(default_factory=dict)
    cold_chain_capacity: int = Field(ge=0)
    holding: int = Field(default=0, ge=0)


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_store: str
    cvx: str = Field(pattern=r"^[0-9A-Za-z-]+$")
    day: date | None = Field(default=None, alias="date")
    policy: dict[str, Any] = Field(default_factory=dict)
    provinces: list[_Province] = Field(min_length=1)


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(2)


def allocate_command(
    plan_file: Annotated[Path, typer.Argument(help="The allocation plan (YAML).")],
    dispatch: Annotated[bool, typer.Option(help="Carry it out as stock transfers.")] = False,
    url: Annotated[str | None, typer.Option(help="Database URL (default: settings).")] = None,
) -> None:
    """Allocate scarce vaccine fairly between provinces; --dispatch sends it."""
    try:
        plan = _Plan.model_validate(yaml.safe_load(plan_file.read_text(encoding="utf-8")))
        policy = Policy(**plan.policy)
    except (OSError, yaml.YAMLError, ValidationError, TypeError) as error:
        raise _fail(f"{plan_file}: {error}") from error
    engine = make_engine(url or get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            codes = {plan.from_store, *(p.store for p in plan.provinces)}
            site_ids = {
                code: site_id
                for code, site_id in session.execute(
                    select(Site.code, Site.id).where(Site.code.in_(codes))
                )
            }
            missing = sorted(codes - set(site_ids))
            if missing:
                raise _fail(f"unknown site code(s): {', '.join(missing)}")
            result = allocate_and_dispatch(
                session,
                system_actor(getpass.getuser()),
                from_store_id=site_ids[plan.from_store],
                cvx=plan.cvx,
                provinces=[
                    ProvinceStore(
                        Province(
                            p.code, p.name, p.population, p.tiers, p.cold_chain_capacity, p.holding
                        ),
                        site_ids[p.store],
                    )
                    for p in plan.provinces
                ],
                policy=policy,
                on_date=plan.day or date.today(),
                dispatch=dispatch,
            )
    except (DomainError, AllocationError) as error:
        raise _fail(str(error)) from error
    finally:
        engine.dispose()
    table = Table(title=f"Allocation of CVX {plan.cvx} from {plan.from_store}")
    for column in ("Province", "Doses", *result.allocation.by_phase):
        table.add_column(column, justify="right" if column != "Province" else "left")
    for province in plan.provinces:
        table.add_row(
            f"{province.name} ({province.code})",
            str(result.allocation.doses[province.code]),
            *(str(phase[province.code]) for phase in result.allocation.by_phase.values()),
        )
    console.print(table)
    for step in result.allocation.steps:
        console.print(escape(step))
    if dispatch:
        console.print(f"{len(result.transfers)} transfers dispatched.")
