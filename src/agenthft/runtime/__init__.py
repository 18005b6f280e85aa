"""The agent's shell: event loop runner, journal, telemetry, GC policy."""

from agenthft.runtime.gcpolicy import GcPolicy
from agenthft.runtime.journal import Journal
from agenthft.runtime.runner import Runner
from agenthft.runtime.telemetry import Telemetry

__all__ = ["GcPolicy", "Journal", "Runner", "Telemetry"]
