"""Wire formats: WebSocket messages and REST bodies as msgspec Structs."""
