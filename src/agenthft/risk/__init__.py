"""Pre-trade risk controls, kill switch and circuit breaker (pure; time passed in as ns)."""

from agenthft.risk.engine import Reason, RiskConfig, RiskEngine, RiskEvent, RiskState

__all__ = ["Reason", "RiskConfig", "RiskEngine", "RiskEvent", "RiskState"]
