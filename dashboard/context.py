"""What every page shares: the store path, the display time zone and the plan settings from the sidebar."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
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
        return repr(self.config)

    def plan(self):
        """The plan under the sidebar's settings; stops the page with a hint when there is nothing to plan."""
        if data.overview(self.db, self.version)["counts"].samples == 0:
            st.warning("The store holds no samples yet, so there is no plan. Run `churnplan collect` or "
                       "`churnplan demo`.")
            st.stop()
        return data.plan(self.db, self.config_key, self.config, self.version)


def sidebar(db: str) -> None:
    """Draw the shared sidebar (time zone, plan settings) and remember the choices in session state."""
    if "tz" not in st.session_state:
        st.session_state["tz"] = local_zone()
    st.sidebar.selectbox("Display time zone", ZONES, key="tz",
                         help="Times are stored in UTC and shown in this zone.")
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


def current() -> Context:
    """The context the sidebar set for this run."""
    db = st.session_state["db"]
    return Context(db=db, tz=st.session_state.get("tz", "UTC"), config=plan_config(st.session_state),
                   version=data.stamp(db))
