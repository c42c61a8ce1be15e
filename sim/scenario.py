"""Scenario files: who comes into the simulated store, when, and how they behave.

A scenario is YAML validated by these models (unknown keys are errors, like the store config).
Named scenarios ship in sim/scenarios/; `walkout sim scenarios` lists them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.config.errors import ConfigError, ConfigIssue

SCENARIOS_PACKAGE = "sim.scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Range = tuple[float, float]


class Arrivals(_Strict):
    rate_per_min: float = Field(
        default=2.0, ge=0, description="Mean arrivals per minute (Poisson) during the window."
    )
    first_s: float = Field(default=1.0, ge=0, description="Time of the first arrival, seconds.")
    max_inside: int = Field(
        default=30, ge=1, description="Arrivals wait outside while this many are inside."
    )
    count: int | None = Field(
        default=None,
        ge=0,
        description="Exact number of shoppers (arriving at the rate); omitted: as many as the "
        "rate gives within the duration.",
    )


class Shopper(_Strict):
    items_mean: float = Field(default=4.0, ge=0, description="Mean number of pick stops.")
    items_max: int = Field(default=10, ge=0, description="Upper bound on pick stops.")
    walk_speed_mps: Range = Field(default=(0.6, 1.1), description="Walking speed range, m/s.")
    look_s: Range = Field(
        default=(2.0, 12.0), description="Time spent looking at a shelf before reaching, s."
    )
    look_stops_mean: float = Field(
        default=2.0, ge=0, description="Mean number of extra stops to look without touching."
    )
    exit_tap_probability: float = Field(
        default=0.3, ge=0, le=1, description="Chance a shopper also taps at the exit reader."
    )
    exit_tag_read_probability: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Chance that each tagged unit (a product with rfid_tag_prefix) a shopper "
        "carries out is read by the exit reader; 0: no item tag reads.",
    )
    leave_empty_probability: float = Field(
        default=0.05, ge=0, le=1, description="Chance a shopper browses but takes nothing."
    )


class Behaviour(_Strict):
    """Probabilities per pick stop (they are independent draws, checked in this order)."""

    browse_put_back: float = Field(
        default=0.08, ge=0, le=1, description="Pick, look, put back on the same plate."
    )
    put_back_wrong_plate: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Carry an item and later put it on a plate of another product.",
    )
    multi_unit: float = Field(default=0.1, ge=0, le=1, description="Take 2-3 units in one grab.")
    slow_pick: float = Field(
        default=0.04, ge=0, le=1, description="A slow pick with the hand resting on the plate."
    )
    fidget: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Pick up and put back the same item 3-6 times before deciding.",
    )
    product_filter: Literal["any", "straddling", "same_weight", "tagged"] = Field(
        default="any",
        description="Restrict picks to products spanning several plates, to products "
        "that share their unit weight with another product on the same shelf, or to tagged "
        "products (rfid_tag_prefix).",
    )


class Groups(_Strict):
    probability: float = Field(
        default=0.0, ge=0, le=1, description="Chance an arrival is a group on one entry tap."
    )
    size: tuple[int, int] = Field(default=(2, 3), description="Group size range (inclusive).")


class Gathering(_Strict):
    """Several shoppers arranged to act at one shelf at the same moment."""

    shoppers: int = Field(ge=2, le=4, description="Shoppers at the shelf at once.")
    same_product: bool = Field(
        default=False, description="All take the same product (else neighbouring products)."
    )
    repeat: int = Field(default=3, ge=1, description="How many such gatherings.")
    spacing_s: float = Field(default=60.0, gt=0, description="Time between gatherings.")
    sync_jitter_s: float = Field(
        default=1.0, ge=0, description="Spread of the moments they grab, seconds."
    )


class Handoff(_Strict):
    """A shopper picks an item and hands it to another shopper (separate carts)."""

    repeat: int = Field(default=2, ge=1, description="How many hand-overs.")
    spacing_s: float = Field(default=60.0, gt=0, description="Time between hand-overs.")


class Sensors(_Strict):
    stuck_plates: int = Field(default=0, ge=0, description="Plates whose channel freezes.")
    unit_weight_error: float = Field(
        default=0.03,
        ge=0,
        le=0.2,
        description="Std of each product's true mean unit weight relative to the catalogue "
        "(real stores: a few percent).",
    )


class Tracks(_Strict):
    noise: Literal["realistic", "no-swaps", "perfect"] = Field(
        default="realistic",
        description="Person-track errors: realistic; realistic without identity swaps (to "
        "measure what swaps cost); or perfect (ground truth).",
    )
    rate_hz: float = Field(default=10.0, gt=0, le=60, description="Track frames per second.")


class Scenario(_Strict):
    name: str = Field(description="Scenario name.")
    description: str = Field(description="What the scenario exercises, one or two sentences.")
    store: str = Field(default="medium", description="Default store preset or config path.")
    duration_s: float = Field(
        gt=0,
        description="Arrival window, seconds; the session runs until the last shopper left.",
    )
    start_time_unix: float = Field(
        default=1767261600.0,
        description="Wall-clock time of t=0 recorded in the session (default 2026-01-01 10:00 "
        "UTC); fixed so sessions are reproducible.",
    )
    arrivals: Arrivals = Field(default_factory=Arrivals, description="Who comes in, when.")
    shopper: Shopper = Field(default_factory=Shopper, description="Per-shopper behaviour.")
    behaviour: Behaviour = Field(default_factory=Behaviour, description="Per-stop behaviour.")
    groups: Groups = Field(default_factory=Groups, description="Groups entering on one tap.")
    gatherings: list[Gathering] = Field(
        default_factory=list, description="Arranged crowding at one shelf."
    )
    handoffs: list[Handoff] = Field(default_factory=list, description="Arranged hand-overs.")
    sensors: Sensors = Field(default_factory=Sensors, description="Sensor imperfections.")
    tracks: Tracks = Field(default_factory=Tracks, description="Person-track stream.")

    @model_validator(mode="after")
    def _ranges_ordered(self) -> Scenario:
        lo, hi = self.shopper.walk_speed_mps
        if not 0 < lo <= hi:
            raise ValueError("shopper.walk_speed_mps must be [low, high] with 0 < low <= high")
        llo, lhi = self.shopper.look_s
        if not 0 <= llo <= lhi:
            raise ValueError("shopper.look_s must be [low, high] with 0 <= low <= high")
        glo, ghi = self.groups.size
        if not 2 <= glo <= ghi:
            raise ValueError("groups.size must be [low, high] with 2 <= low <= high")
        return self


def scenario_names() -> list[str]:
    folder = resources.files(SCENARIOS_PACKAGE)
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_scenario(name_or_path: str) -> Scenario:
    """Load a named scenario or a scenario file; errors name the file, line and key."""
    if name_or_path in scenario_names():
        source = f"<scenario {name_or_path}>"
        text = resources.files(SCENARIOS_PACKAGE).joinpath(f"{name_or_path}.yaml").read_text()
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(
                [
                    ConfigIssue(
                        name_or_path,
                        None,
                        None,
                        (),
                        "no such scenario file, and not a named scenario "
                        "(`walkout sim scenarios` lists them)",
                    )
                ]
            )
        source, text = str(path), path.read_text(encoding="utf-8")
    return parse_scenario(text, source=source)


def parse_scenario(text: str, *, source: str) -> Scenario:
    from edge.config.loader import line_index, validation_issues, yaml_issue

    try:
        positions = line_index(text, source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_issue(exc, source)]) from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(source, 1, 1, (), "a scenario must be a YAML mapping")])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_issues(exc, source, positions, data)) from None
