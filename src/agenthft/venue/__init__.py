"""The reference venue: the trading protocol over WebSocket and REST around the matching engine."""

from agenthft.venue.config import VenueConfig, load_config
from agenthft.venue.core import Venue
from agenthft.venue.server import VenueServer

__all__ = ["Venue", "VenueConfig", "VenueServer", "load_config"]
