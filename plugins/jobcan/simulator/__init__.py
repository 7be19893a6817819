"""A deterministic fake Jobcan for tests and demos: real HTTP on loopback, exactly as jobcan-api.md describes.

``hub jobcan simulator`` runs it from the command line; tests use :class:`JobcanSimulator` as a context manager.
"""

from hub_plugins.jobcan.simulator.cli import connection_instructions, simulator_command
from hub_plugins.jobcan.simulator.data import SCOPES, DayKind, SimulatedData, SimulatorConfig, generate_data
from hub_plugins.jobcan.simulator.server import ENDPOINTS, JobcanSimulator

__all__ = [
    "ENDPOINTS",
    "SCOPES",
    "DayKind",
    "JobcanSimulator",
    "SimulatedData",
    "SimulatorConfig",
    "connection_instructions",
    "generate_data",
    "simulator_command",
]
