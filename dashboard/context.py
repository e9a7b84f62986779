"""What every page shares: the store path, the display time zone and the plan settings from the sidebar."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, SupportsFloat
from zoneinfo import available_timezones

import streamlit as st

from churnplan.analytics.model import PlanConfig
from churnplan.core import store
from churnplan.core.errors import ConfigError, shorten
from churnplan.core.zones import local_zone
from churnplan.dashboard import data

DB_ENV = "CHURNPLAN_DB"
ZONES = sorted(available_timezones())  # read once, not on every rerun
DEFAULTS = PlanConfig()


def db_from_args(argv: list[str]) -> str:
    """--db after `streamlit run app.py --`, else $CHURNPLAN_DB, else the default store name."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db", default=os.environ.get(DB_ENV, store.DEFAULT_DB))
    args, _ = parser.parse_known_args(argv)
    return str(Path(args.db).expanduser().resolve())


@dataclass(frozen=True)
class Context:
    db: str
    tz: str
    config: PlanConfig
    version: tuple[float, int]

    @property
    def config_key(self) -> str:
        """What every plan-derived cache is kept under: the settings (the vCenters chosen among them)."""
        return repr(self.config)

    @property
    def vcenters(self) -> tuple[str, ...]:
        """The vCenters planned; empty = every one in the store."""
        return tuple(self.config.vcenters)

    def plan(self):
        """The plan under the sidebar's settings; stops the page with a hint when there is nothing to plan."""
        if data.overview(self.db, self.version)["counts"].samples == 0:
            st.warning("The store holds no samples yet, so there is no plan. Run `churnplan collect` or "
                       "`churnplan demo`.")
            st.stop()
        if self.vcenters:
            st.caption(f"Planned: the VMs of {', '.join(self.vcenters)} only (vCenters in the sidebar).")
        return data.plan(self.db, self.config_key, self.config, self.version)


def _estate_zone(db: str) -> str | None:
    """The zone recorded in the store, or None (none recorded, no store yet, or the store busy or damaged)."""
    if not Path(db).exists():
        return None
    try:
        recorded = data.read(db, store.estate_timezone)   # once a session: not worth the overview's scan
    except (data.StoreBusy, store.StoreError):
        return None
    return recorded if recorded in ZONES else None


def _vcenters(db: str) -> list[str]:
    """The vCenters whose VMs the store holds, sorted (none when there is no store yet, or it is busy or damaged)."""
    if not Path(db).exists():
        return []
    try:
        vms, _ = data.inventory(db, data.stamp(db))
    except (data.StoreBusy, store.StoreError):
        return []
    return sorted(vms["vcenter"].dropna().astype(str).unique())


def sidebar(db: str) -> None:
    """Draw the shared sidebar (time zone, vCenters when there are several, plan settings) and remember the
    choices in session state."""
    if "tz" not in st.session_state:   # the estate's recorded zone, else this machine's
        st.session_state["tz"] = _estate_zone(db) or local_zone()
    st.sidebar.selectbox("Display time zone", ZONES, key="tz",
                         help="Times are stored in UTC and shown in this zone.")
    known = _vcenters(db)
    if len(known) > 1:
        st.sidebar.multiselect("vCenters", known, default=known, key="vcenters",
                               help="Plan the VMs of these vCenters only (none chosen: all of them).")
    st.session_state["vcenters_known"] = known
    with st.sidebar.expander("Plan settings"):
        st.number_input("RPO target (min)", 1.0, 1440.0, DEFAULTS.rpo_min, step=5.0, key="plan_rpo")
        st.number_input("Churn percentile", 50.0, 100.0, DEFAULTS.percentile, step=1.0, key="plan_percentile")
        st.number_input("Growth (%)", 0.0, 500.0, DEFAULTS.growth_pct, step=5.0, key="plan_growth")
    st.sidebar.caption(f"Store: `{db}`")
    st.session_state["db"] = db


class Settings(Protocol):
    """What plan_config reads: the session state (keyed by str or int), or any str-keyed mapping."""

    def get(self, key: str, default: float | str, /) -> object: ...


def plan_config(state: Settings) -> PlanConfig:
    """The plan under the sidebar's settings (`state` is the session state), its daily figures in the display zone
    like every other time the dashboard and its downloads show."""
    return PlanConfig(rpo_min=_number(state, "plan_rpo", DEFAULTS.rpo_min),
                      percentile=_number(state, "plan_percentile", DEFAULTS.percentile),
                      growth_pct=_number(state, "plan_growth", DEFAULTS.growth_pct),
                      timezone=str(state.get("tz", "UTC")))


def _number(state: Settings, key: str, default: float) -> float:
    """The number a sidebar widget keeps under `key`; anything float() cannot take is a fault, named."""
    value = state.get(key, default)
    if not isinstance(value, (SupportsFloat, str)):
        raise ConfigError(f"plan setting {key}: {shorten(value)} is not a number")
    return float(value)


def chosen_vcenters(chosen: object, known: list[str]) -> tuple[str, ...]:
    """The vCenters to plan from the sidebar's choice: () (every one) when all or none are chosen, else the
    chosen ones that the store holds, sorted."""
    picked = sorted({str(v) for v in chosen} & set(known)) if isinstance(chosen, (list, tuple)) else []
    return () if not picked or len(picked) == len(known) else tuple(picked)


def current() -> Context:
    """The context the sidebar set for this run."""
    db = st.session_state["db"]
    vcenters = chosen_vcenters(st.session_state.get("vcenters", []), st.session_state.get("vcenters_known", []))
    return Context(db=db, tz=st.session_state.get("tz", "UTC"),
                   config=replace(plan_config(st.session_state), vcenters=vcenters), version=data.stamp(db))
