# ruff: noqa
# mypy: ignore-errors
# The article's own agent ("Python: High-Performance HFT Implementation with asyncio + uvloop",
# ../shared/seed/000_83e561fd62d280be.txt), reflowed from the seed's one-line text into lines
# and indentation. What changed, and nothing else:
#   - the URLs: PF_WS_URL and PF_REST_URL below are still the article's; the test reassigns both
#     module constants to the embedded venue's before it calls run();
#   - the key: the test passes its sandbox key as `api_key` (as the __main__ block passes its own);
#   - websockets renamed `extra_headers` to `additional_headers` (websockets 14): the one edit in
#     the code below.
"""
HFT Latency Arbitrage Agent for Purple Flea
Requirements: uvloop, websockets, aiohttp
"""

import asyncio
import time
import uvloop
import json
import aiohttp
import websockets
from dataclasses import dataclass
from typing import Optional

# Purple Flea API endpoints
PF_WS_URL = "wss://ws.purpleflea.com/trading"
PF_REST_URL = "https://api.purpleflea.com"


@dataclass
class ArbitrageOpportunity:
    market: str
    side: str  # "buy" | "sell"
    primary_price: float
    secondary_price: float
    spread_pct: float
    detected_ns: int


class LatencyArbitrageAgent:
    """
    Monitors a primary (spot) market and a secondary (perp) market.
    When the primary moves, submits an order to the secondary before it reprices,
    capturing the latency spread.
    """

    MIN_SPREAD_PCT = 0.0008  # 0.08% min spread to cover fees
    MAX_POSITION_USD = 5_000
    MAX_DAILY_LOSS_USD = 500

    def __init__(self, api_key: str, primary_market: str, secondary_market: str):
        self.api_key = api_key
        self.primary_market = primary_market
        self.secondary_market = secondary_market
        # Market state
        self._primary_mid: Optional[float] = None
        self._secondary_mid: Optional[float] = None
        self._primary_updated_ns: int = 0
        # Risk state
        self._position_usd: float = 0.0
        self._daily_pnl: float = 0.0
        self._kill_switch: bool = False
        # Performance metrics
        self._arb_count: int = 0
        self._win_count: int = 0

    async def _on_primary_update(self, mid: float):
        """Called on every primary market mid-price update."""
        prev_mid = self._primary_mid
        self._primary_mid = mid
        self._primary_updated_ns = time.time_ns()
        if prev_mid is None or self._secondary_mid is None:
            return
        # Check for exploitable divergence
        divergence = (mid - self._secondary_mid) / self._secondary_mid
        if abs(divergence) >= self.MIN_SPREAD_PCT:
            opportunity = ArbitrageOpportunity(
                market=self.secondary_market,
                side="buy" if divergence > 0 else "sell",
                primary_price=mid,
                secondary_price=self._secondary_mid,
                spread_pct=abs(divergence),
                detected_ns=self._primary_updated_ns,
            )
            # Execute immediately — no await between detection and submission
            asyncio.create_task(self._execute_arb(opportunity))

    async def _execute_arb(self, opp: ArbitrageOpportunity):
        if self._kill_switch:
            return
        if abs(self._position_usd) + 1000 > self.MAX_POSITION_USD:
            return
        if self._daily_pnl < -self.MAX_DAILY_LOSS_USD:
            self._activate_kill_switch("Daily loss limit reached")
            return
        entry_ns = time.time_ns()
        latency_since_detection_us = (entry_ns - opp.detected_ns) / 1_000
        # If more than 5ms has elapsed since detection, opportunity likely gone
        if latency_since_detection_us > 5_000:
            return
        try:
            async with aiohttp.ClientSession() as session:
                resp = await session.post(
                    f"{PF_REST_URL}/trading/orders",
                    json={
                        "market": opp.market,
                        "side": opp.side,
                        "type": "market",
                        "qty_usd": 1000,
                        "client_id": f"arb_{entry_ns}",
                    },
                    headers={"Authorization": f"Bearer {self.api_key}"},
                )
                result = await resp.json()
                if result.get("status") == "filled":
                    self._arb_count += 1
                    fill_price = result["fill_price"]
                    # Calculate realized spread
                    spread = abs(fill_price - opp.primary_price) / opp.primary_price
                    print(f"Arb #{self._arb_count}: {opp.side} {opp.market} spread={spread * 100:.3f}%")
        except Exception as e:
            print(f"Order error: {e}")

    def _activate_kill_switch(self, reason: str):
        self._kill_switch = True
        print(f"[KILL SWITCH] {reason}")

    async def run(self):
        async with websockets.connect(
            PF_WS_URL, additional_headers={"Authorization": f"Bearer {self.api_key}"}, compression=None
        ) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "subscribe",
                        "channels": ["ticker"],
                        "markets": [self.primary_market, self.secondary_market],
                    }
                )
            )
            async for message in ws:
                if self._kill_switch:
                    break
                msg = json.loads(message)
                if msg.get("type") == "ticker":
                    mid = (msg["bid"] + msg["ask"]) / 2
                    if msg["market"] == self.primary_market:
                        await self._on_primary_update(mid)
                    else:
                        self._secondary_mid = mid


if __name__ == "__main__":
    # Use uvloop for 2-4x faster event loop
    uvloop.install()
    agent = LatencyArbitrageAgent(api_key="your_pf_api_key", primary_market="BTC-SPOT", secondary_market="BTC-PERP")
    asyncio.run(agent.run())
