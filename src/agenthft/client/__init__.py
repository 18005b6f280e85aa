"""The agent's connections to a venue: WebSocket session and REST client."""

from agenthft.client.rest import RestClient, RestError
from agenthft.client.session import Handler, SessionConfig, WsSession

__all__ = ["Handler", "RestClient", "RestError", "SessionConfig", "WsSession"]
