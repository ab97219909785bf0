"""A built-in Huawei Cloud SWR simulator (aiohttp.web) that every test, benchmark and demo runs against."""

from pipeline.simulator.cli import main, start_simulator_popen, start_simulator_process
from pipeline.simulator.config import SimulatorConfig, add_arguments, config_from_args
from pipeline.simulator.records import CorruptedRecord
from pipeline.simulator.server import SimulatorHandle, running_simulator

__all__ = [
    "CorruptedRecord",
    "SimulatorConfig",
    "SimulatorHandle",
    "add_arguments",
    "config_from_args",
    "main",
    "running_simulator",
    "start_simulator_popen",
    "start_simulator_process",
]
