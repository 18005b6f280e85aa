"""agenthft's own protocol: the WebSocket session, the REST client, the codec and the port."""

from agenthft.connectors.agenthft.port import AgenthftPort, instrument_from_rest
from agenthft.connectors.agenthft.rest import RestClient, RestError
from agenthft.connectors.agenthft.session import SessionConfig, WsSession

__all__ = ["AgenthftPort", "RestClient", "RestError", "SessionConfig", "WsSession", "instrument_from_rest"]
