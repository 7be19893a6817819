"""A deterministic fake KING OF TIME for tests and demos: real HTTP on loopback, exactly as kingoftime-api.md says.

``hub kingoftime simulator`` runs it from the command line; tests use :class:`KingOfTimeSimulator` as a context
manager, ``sim.data`` holding what it serves.
"""

from hub_plugins.kingoftime.simulator.cli import connection_instructions, simulator_command
from hub_plugins.kingoftime.simulator.data import (
    JST,
    THROTTLE_SHAPES,
    DayKind,
    SimulatedData,
    SimulatorConfig,
    generate_data,
    noon_jst,
    real_jst,
)
from hub_plugins.kingoftime.simulator.server import (
    ENDPOINTS,
    RESTRICTED_MESSAGE,
    KingOfTimeSimulator,
    fixed_clock,
    in_restricted_hours,
)

__all__ = [
    "ENDPOINTS",
    "JST",
    "RESTRICTED_MESSAGE",
    "THROTTLE_SHAPES",
    "DayKind",
    "KingOfTimeSimulator",
    "SimulatedData",
    "SimulatorConfig",
    "connection_instructions",
    "fixed_clock",
    "generate_data",
    "in_restricted_hours",
    "noon_jst",
    "real_jst",
    "simulator_command",
]
