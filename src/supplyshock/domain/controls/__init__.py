"""The export-control registry: sources, policy acts, measures, carve-outs, events, observations.

A measure's state on a date is the replay of its append-only events (``events``); the registry
(``registry``) answers what applies to a shipment on a date and what was known when. The names
below are the package's public interface; import them from here.
"""

from supplyshock.domain.controls.effects import Effect, Observation, Pending, TimelineEntry
from supplyshock.domain.controls.events import (
    CarveOut,
    Measure,
    MeasureEvent,
    Staleness,
    State,
    replay,
    staleness,
)
from supplyshock.domain.controls.model import (
    EU_MEMBERS,
    GTA_TYPES,
    MILITARY_SECTORS,
    CarveOutEffect,
    Certainty,
    CountrySet,
    Direction,
    EffectKind,
    EventKind,
    Item,
    ItemScope,
    MakerRef,
    MeasureKind,
    MeasureParams,
    PolicyAct,
    Source,
    Status,
)
from supplyshock.domain.controls.registry import Registry

__all__ = [
    "EU_MEMBERS",
    "GTA_TYPES",
    "MILITARY_SECTORS",
    "CarveOut",
    "CarveOutEffect",
    "Certainty",
    "CountrySet",
    "Direction",
    "Effect",
    "EffectKind",
    "EventKind",
    "Item",
    "ItemScope",
    "MakerRef",
    "Measure",
    "MeasureEvent",
    "MeasureKind",
    "MeasureParams",
    "Observation",
    "Pending",
    "PolicyAct",
    "Registry",
    "Source",
    "Staleness",
    "State",
    "Status",
    "TimelineEntry",
    "replay",
    "staleness",
]
