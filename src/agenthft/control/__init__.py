"""The control plane for the supervising AI agent: one set of controls (`plane.ControlPlane`)
behind two doors, an authenticated HTTP JSON API (`http.py`) and an MCP server on the official
SDK (`mcp_server.py`). docs/agents.md."""

from agenthft.control.plane import ControlError, ControlPlane, Token

__all__ = ["ControlError", "ControlPlane", "Token"]
