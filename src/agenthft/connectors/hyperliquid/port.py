"""The Hyperliquid connector behind the venue port (perps and spot).

- Instruments from `meta` and `spotMeta` on grids (lot `10^-szDecimals`, tick
  `10^-(6|8 - szDecimals)`), the account's fees from `userFees`, max leverage per perp.
- One WebSocket carries everything: market data (`l2Book` diffed by the recorded reader's code,
  `bbo`, `trades`), the account's events (`orderUpdates`, `userFills`, `userEvents` with
  funding) and order entry (`post` of signed actions, answered by id; REST `/exchange` when the
  socket is down or `ws_post` is off). Pinged every `ping_s` (Hyperliquid drops a silent
  socket after 60 s).
- Orders: Alo = post-only, Ioc, Gtc; reduce-only; our client order id travels as the cloid
  (`translate.cloid_of`: deterministic, and back); cancels by cloid (one batch for a cancel-all,
  then whatever `openOrders` still lists); amends by `batchModify` (keeps the order's ids).
  Every action is an EIP-712-signed L1 action (protocol/hyperliquid/signing.py) with a nonce
  that never repeats in this process. A price the rule refuses is rejected here with
  `bad_price` before anything is sent.
- Keys: an API (agent) wallet approved by the account, which can trade but never withdraw
  (`account` is the master's address), or the account's own key. Checked at connect
  (`userRole`): an unapproved key fails there.
- Reconciliation from `frontendOpenOrders`, `userFills` (the last 2000), `clearinghouseState`
  and `spotClearinghouseState`.
- Limits: the IP weight (1200 a minute, WebSocket posts included) sizes the core's throttles;
  a 429 or the per-address budget (`Too many cumulative requests sent`) tells the core to back
  off (`Throttle`), as does the budget passing 80 % by this process's count.
- Cancel-on-disconnect: `scheduleCancel` at now + `countdown_s`, renewed every `heartbeat_s`
  (Hyperliquid cancels everything if the renewals stop); unset on a clean close.
- `dry_run`: nothing is sent; what would be sent is printed on stderr (market data still flows).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import picows

from agenthft.connectors.hyperliquid import translate
from agenthft.connectors.hyperliquid.endpoints import Endpoints
from agenthft.connectors.hyperliquid.market import HyperliquidMarketData
from agenthft.connectors.hyperliquid.rest import HyperliquidError, HyperliquidRest, RateLimited
from agenthft.connectors.port import (
    AccountSnapshot,
    Ack,
    Amended,
    AmendRequest,
    CancelRefused,
    Caps,
    OrderEvent,
    OrderRequest,
    PortListener,
    Rejected,
    Throttle,
    VenueAuthError,
    VenueLimits,
    VenueUnreachable,
)
from agenthft.connectors.raw import RawCapture
from agenthft.connectors.ws import WsConn
from agenthft.model import Instrument
from agenthft.oms import VenueFill, VenueOrder
from agenthft.protocol.hyperliquid import errors, wire
from agenthft.protocol.hyperliquid.signing import Wallet

log = logging.getLogger("agenthft.connectors")

#: back off when this process's count of the address budget passes this share of it
USAGE_CEILING = 0.8
#: how long the core waits after Hyperliquid says the address budget is spent (it then lets one
#: request through every 10 s) and after a 429 (the IP's weight per minute)
BUDGET_BACKOFF_S = 10.0
IP_BACKOFF_S = 5.0
#: scheduleCancel must be 5 s ahead when Hyperliquid reads it: a second for the way there
MIN_COUNTDOWN_S = 6.0
#: refusals of the dead man's switch that stay (its volume requirement, the day's 10 triggers)
_SWITCH_OFF = ("Cannot set scheduled cancel time", "Scheduled cancel triggered")
FILL_IDS_KEPT = 100_000


class _Msg(msgspec.Struct):
    channel: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Order:
    """What this process sent: for amends (Hyperliquid's modify restates the whole order) and
    for the lots left after each fill."""

    __slots__ = ("filled", "market", "order_type", "price", "qty", "reduce_only", "side")

    def __init__(self, req: OrderRequest) -> None:
        self.market, self.side, self.qty = req.market, req.side, req.qty
        self.price = req.price or 0
        self.order_type, self.reduce_only = req.order_type, req.reduce_only
        self.filled = 0


class _Pending:
    __slots__ = ("extra", "kind", "order_ids", "sent_ns")

    def __init__(self, kind: str, order_ids: list[str], extra: Any = None) -> None:
        self.kind, self.order_ids, self.extra = kind, order_ids, extra
        self.sent_ns = time.perf_counter_ns()


class HyperliquidPort:
    name = "hyperliquid"
    caps = Caps(
        amend=True,
        reduce_only=True,
        cancel_on_disconnect="Hyperliquid's scheduleCancel (dead man's switch), renewed as a heartbeat",
    )

    def __init__(
        self,
        endpoints: Endpoints,
        wallet: Wallet | None = None,
        account: str = "",
        *,
        dry_run: bool = False,
        countdown_s: float = 30.0,
        heartbeat_s: float = 10.0,
        ping_s: float = 30.0,
        post_timeout_s: float = 5.0,
        ws_post: bool = True,
    ) -> None:
        if countdown_s and countdown_s < MIN_COUNTDOWN_S:
            raise ValueError(
                f"countdown_s: at least {MIN_COUNTDOWN_S:g} (Hyperliquid's scheduleCancel is 5 s ahead when it arrives)"
            )
        self.endpoints = endpoints
        self.url = endpoints.rest
        self.wallet = wallet
        self.account = account or (wallet.address if wallet is not None else "")
        self.dry_run = dry_run
        self.countdown_s, self.heartbeat_s, self.ping_s = countdown_s, heartbeat_s, ping_s
        self.post_timeout_s = post_timeout_s
        self.ws_post = ws_post
        self.rest = HyperliquidRest(endpoints.rest)
        self.markets: dict[str, translate.Market] = {}  # our market -> Hyperliquid's
        self.by_coin: dict[str, translate.Market] = {}
        self.instruments_by_name: dict[str, Instrument] = {}
        self.max_leverage: dict[str, int] = {}
        self._limits = VenueLimits()
        self.listener: PortListener | None = None
        self.data: HyperliquidMarketData | None = None
        self.conn: WsConn | None = None
        self._reconnects = 0
        self._rtt_ns = 0
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._nonce_ms = 0
        self._orders: dict[str, _Order] = {}
        self._acked: set[str] = set()
        self._final: set[str] = set()
        self._by_oid: dict[int, str] = {}
        self._hashed: dict[str, str] = {}  # cloid -> order id, for ids that do not pack
        self._fills: OrderedDict[int, None] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._lost = asyncio.Event()
        self._books = asyncio.Event()
        self._ping_sent = 0
        self.budget_used = 0
        self.budget_cap = 0
        self._budget_warned = 0
        self.heartbeats = 0
        self.raw: RawCapture | None = None
        self.schedule_refused = ""

    # --- state ----------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.conn is not None and self.conn.open

    @property
    def reconnects(self) -> int:
        return self._reconnects

    @property
    def rtt_ns(self) -> int:
        return self._rtt_ns

    # --- reference data ---------------------------------------------------------------------------------
    async def instruments(self) -> list[Instrument]:
        try:
            meta = await self.rest.info({"type": "meta"})
            spot = await self.rest.info({"type": "spotMeta"})
            fees = await self.rest.info({"type": "userFees", "user": self.account}) if self.account else None
        except (HyperliquidError, aiohttp.ClientError, OSError, TimeoutError, msgspec.DecodeError) as e:
            why = str(e) or type(e).__name__
            raise VenueUnreachable(f"cannot read Hyperliquid's meta at {self.url}: {why}") from None
        if not isinstance(meta, dict) or "universe" not in meta:
            raise VenueUnreachable(f"{self.url}/info answered no Hyperliquid meta")
        found = translate.markets(
            meta, spot if isinstance(spot, dict) else None, fees if isinstance(fees, dict) else None
        )
        self.markets = {m.inst.market: m for m in found}
        self.by_coin = {m.coin: m for m in found}
        self.instruments_by_name = {m.inst.market: m.inst for m in found}
        self.max_leverage = {m.inst.market: m.max_leverage for m in found if not m.spot}
        return [m.inst for m in found]

    async def limits(self) -> VenueLimits:
        rate = None
        if self.account:
            with contextlib.suppress(HyperliquidError, aiohttp.ClientError, OSError, TimeoutError):
                rate = await self.rest.info({"type": "userRateLimit", "user": self.account})
        if isinstance(rate, dict):
            self.budget_used = int(rate.get("nRequestsUsed") or 0)
            self.budget_cap = int(rate.get("nRequestsCap") or 0)
        self._limits = translate.limits(rate if isinstance(rate, dict) else None)
        return self._limits

    # --- connection -------------------------------------------------------------------------------------
    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.listener = listener
        coins = {m.coin: name for name, m in self.markets.items()}
        self.data = HyperliquidMarketData(self.instruments_by_name, coins)
        self.data.raw = self.raw
        self.data.start(listener, markets)
        try:
            if self.wallet is not None and not self.dry_run:
                await self._check_key()
            await self._open()
        except VenueAuthError:  # (a PermissionError: an OSError too)
            raise
        except (HyperliquidError, aiohttp.ClientError, OSError, TimeoutError, picows.WSError) as e:
            why = str(e) or type(e).__name__
            raise VenueUnreachable(f"cannot connect to Hyperliquid at {self.url}: {why}") from None
        self._spawn(self._supervise())
        self._spawn(self._ping())
        self._spawn(self._sweep())
        if self.wallet is not None and not self.dry_run and self.countdown_s > 0:
            self._spawn(self._heartbeat())
        listener.on_connected(0)

    async def _check_key(self) -> None:
        """The key is the account's own or an API wallet the account approved (`userRole`)."""
        assert self.wallet is not None
        me = self.wallet.address
        role = await self.rest.info({"type": "userRole", "user": me})
        kind = role.get("role") if isinstance(role, dict) else None
        if me.lower() == self.account.lower():
            if kind == "missing":
                raise VenueAuthError(
                    f"Hyperliquid has no account {me}: deposit first, or check HYPERLIQUID_PRIVATE_KEY"
                )
            return
        master = str(((role or {}).get("data") or {}).get("user", "")).lower() if isinstance(role, dict) else ""
        if kind != "agent" or master != self.account.lower():
            raise VenueAuthError(
                f"the key's address {me} is not an API wallet approved by {self.account} (userRole: {kind}): "
                "approve it from the account (approveAgent), or check HYPERLIQUID_ACCOUNT_ADDRESS"
            )

    async def _open(self, timeout_s: float = 5.0) -> None:
        """Connect, subscribe market data and the account's events, wait for every book."""
        assert self.data is not None
        self._books.clear()
        self.data.reset()
        self.conn = WsConn(self.endpoints.ws, self._on_text, self._on_lost)
        await self.conn.connect(timeout_s)
        coin_of = {name: m.coin for name, m in self.markets.items()}
        subs = self.data.subscriptions(coin_of)
        if self.account and self.wallet is not None:
            subs += [{"type": t, "user": self.account} for t in ("orderUpdates", "userFills", "userEvents")]
        for sub in subs:
            self.conn.send(msgspec.json.encode({"method": "subscribe", "subscription": sub}))
        if self.data.markets:
            await asyncio.wait_for(self._books.wait(), timeout_s)

    def _on_lost(self, reason: str) -> None:
        if self._closing or self.connected:
            return  # closing, or an old connection's goodbye after a reconnect
        if not self._lost.is_set() and self.listener is not None:
            self.listener.on_disconnected(reason)
        self._lost.set()

    async def _supervise(self) -> None:
        """Reconnect (with backoff), whole books again, tell the core (which reconciles)."""
        backoff = 0.05
        while not self._closing:
            await self._lost.wait()
            if self._closing:
                return
            await asyncio.sleep(backoff)
            try:
                self._pending.clear()  # their answers died with the socket: reconciliation says
                await self._open()
            except (aiohttp.ClientError, OSError, TimeoutError, picows.WSError) as e:
                log.info("Hyperliquid reconnect failed: %s", e)
                backoff = min(5.0, backoff * 2)
                continue
            backoff = 0.05
            self._lost.clear()
            self._reconnects += 1
            if self.listener is not None:
                self.listener.on_connected(self._reconnects)

    def resubscribe(self, market: str) -> None:
        """A whole book next: the diff restarts from the next l2Book (pushed at least every block
        the book changes in)."""
        if self.data is not None:
            self.data.resync(market)

    # --- the socket ---------------------------------------------------------------------------------------
    def _on_text(self, raw: bytes, recv_ns: int) -> None:
        try:
            msg = msgspec.json.decode(raw, type=_Msg)
        except msgspec.DecodeError:
            return
        ch, data = msg.channel, bytes(msg.data)
        d = self.data
        try:
            if ch == "l2Book" and d is not None:
                d.on_l2book(data, recv_ns, raw)
                if not self._books.is_set() and d.books_seen >= set(d.markets):
                    self._books.set()
            elif ch == "bbo" and d is not None:
                d.on_bbo(data, recv_ns)
            elif ch == "trades" and d is not None:
                d.on_trades(data, recv_ns, raw)
            elif ch == "activeAssetCtx" and d is not None:
                d.on_asset_ctx(data, raw, recv_ns)
            elif ch == "post":
                self._on_post(msgspec.json.decode(data), recv_ns)
            elif ch == "orderUpdates":
                self._on_order_updates(msgspec.json.decode(data), recv_ns)
            elif ch == "userFills":
                self._on_fills(msgspec.json.decode(data), recv_ns)
            elif ch == "user":
                self._on_user_events(msgspec.json.decode(data), recv_ns)
            elif ch == "pong":
                if self._ping_sent:
                    self._rtt_ns = time.perf_counter_ns() - self._ping_sent
                    self._ping_sent = 0
                    if self.listener is not None:
                        self.listener.on_rtt(self._rtt_ns, recv_ns)
            elif ch == "error":
                log.warning("Hyperliquid says: %s", data[:300].decode(errors="replace"))
        except (msgspec.DecodeError, KeyError, TypeError, ValueError) as e:  # one bad message, not the socket
            log.warning("Hyperliquid %s message not understood: %s", ch, e)

    async def _ping(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.ping_s)
            if self.conn is not None and self.conn.open:
                self._ping_sent = time.perf_counter_ns()
                self.conn.send(b'{"method":"ping"}')

    async def _sweep(self) -> None:
        """A post unanswered for `post_timeout_s` means a dead socket: drop it, reconnect and
        reconcile (the action may or may not have happened)."""
        while not self._closing:
            await asyncio.sleep(max(0.5, self.post_timeout_s / 4))
            limit = time.perf_counter_ns() - int(self.post_timeout_s * 1e9)
            stale = [k for k, p in self._pending.items() if p.sent_ns < limit]
            if stale:
                log.warning(
                    "Hyperliquid: %d post(s) unanswered for %g s: reconnecting", len(stale), self.post_timeout_s
                )
                for k in stale:
                    self._pending.pop(k, None)
                self.drop()

    # --- ids ---------------------------------------------------------------------------------------------
    def _cloid(self, order_id: str) -> str:
        cloid = translate.cloid_of(order_id)
        if translate.order_id_of(cloid) != order_id:
            self._hashed[cloid] = order_id
        return cloid

    def _order_id(self, cloid: str | None, oid: int) -> str:
        """Our client order id of a venue order: packed in its cloid, hashed by this process, the
        cloid itself (someone else's), or `hl:<oid>` (no cloid)."""
        if cloid:
            return translate.order_id_of(cloid) or self._hashed.get(cloid) or cloid
        return self._by_oid.get(oid) or f"hl:{oid}"

    def _ref(self, order_id: str) -> int | str:
        """How to name an order to Hyperliquid: its cloid, or its oid when it has none."""
        if order_id.startswith("hl:") and order_id[3:].isdigit():
            return int(order_id[3:])
        return order_id if wire.is_cloid(order_id) else self._cloid(order_id)

    # --- orders ----------------------------------------------------------------------------------------
    def _later(self, ev: OrderEvent) -> None:
        """An event decided here, delivered after the caller returns (as if the venue answered)."""
        lst = self.listener
        if lst is not None:
            asyncio.get_running_loop().call_soon(lambda: lst.on_order_event(ev, time.time_ns()))

    def place(self, req: OrderRequest) -> bool:
        m = self.markets.get(req.market)
        if m is None:
            self._later(
                Rejected(req.order_id, "unknown_market", f"no Hyperliquid market {req.market!r}", time.time_ns())
            )
            return True
        problem = translate.check(req, m)
        if problem is not None:
            self._final.add(req.order_id)
            self._later(Rejected(req.order_id, problem[0], problem[1], time.time_ns()))
            return True
        self._orders[req.order_id] = _Order(req)
        order = translate.order_wire(req, m, self._cloid(req.order_id))
        return self._action(wire.order_action([order]), _Pending("order", [req.order_id]))

    def cancel(self, order_id: str, market: str) -> bool:
        m = self.markets.get(market)
        if m is None:
            return False
        ref = self._ref(order_id)
        if isinstance(ref, int):
            action = wire.cancel_action([(m.asset, ref)])
        else:
            action = wire.cancel_by_cloid_action([(m.asset, ref)])
        return self._action(action, _Pending("cancel", [order_id]))

    def amend(self, req: AmendRequest) -> bool:
        """`batchModify`: Hyperliquid restates the order; its size is what is left to fill."""
        st, m = self._orders.get(req.order_id), self.markets.get(req.market)
        if st is None or m is None:
            return False
        qty = req.qty if req.qty is not None else st.qty
        price = req.price if req.price is not None else st.price
        restated = OrderRequest(
            req.order_id, req.market, st.side, qty - st.filled, price, st.order_type, st.reduce_only
        )
        problem = translate.check(restated, m)
        if problem is not None:
            self._later(CancelRefused(req.order_id, problem[0], problem[1]))
            return True
        order = translate.order_wire(restated, m, self._cloid(req.order_id))
        action = wire.batch_modify_action([(self._ref(req.order_id), order)])
        return self._action(action, _Pending("modify", [req.order_id], (qty, price)))

    def cancel_all(self, market: str | None = None) -> bool:
        """Hyperliquid has no cancel-all: one batch of cancels by cloid for what this process
        has open, then whatever `openOrders` still lists (orders placed elsewhere)."""
        mine = [(oid, st.market) for oid, st in self._orders.items() if market is None or st.market == market]
        refs = [(oid, self.markets[mk].asset, self._ref(oid)) for oid, mk in mine if mk in self.markets]
        by_cloid = [(oid, a, r) for oid, a, r in refs if isinstance(r, str)]
        by_oid = [(oid, a, r) for oid, a, r in refs if isinstance(r, int)]
        if by_cloid:
            action = wire.cancel_by_cloid_action([(a, str(r)) for _, a, r in by_cloid])
            self._action(action, _Pending("cancel", [oid for oid, _, _ in by_cloid]))
        if by_oid:
            action = wire.cancel_action([(a, int(r)) for _, a, r in by_oid])
            self._action(action, _Pending("cancel", [oid for oid, _, _ in by_oid]))
        if not self.dry_run and self.wallet is not None:
            self._spawn(self._cancel_strays(market, {o for o, _ in mine}))
        return True

    async def _cancel_strays(self, market: str | None, sent: set[str]) -> None:
        try:
            opened = await self.rest.info({"type": "openOrders", "user": self.account})
        except (HyperliquidError, aiohttp.ClientError, OSError, TimeoutError) as e:
            log.warning("Hyperliquid cancel-all: openOrders failed: %s", e)
            return
        cancels = []
        for o in opened or []:
            m = self.by_coin.get(str(o.get("coin")))
            if m is None or (market is not None and m.inst.market != market):
                continue
            if self._order_id(o.get("cloid"), int(o["oid"])) not in sent:
                cancels.append((m.asset, int(o["oid"])))
        if cancels:
            self._action(wire.cancel_action(cancels), _Pending("cancel_all", []))

    def _nonce(self) -> int:
        """Milliseconds now, never the same twice in this process (Hyperliquid refuses a
        repeated nonce)."""
        self._nonce_ms = max(time.time_ns() // 1_000_000, self._nonce_ms + 1)
        return self._nonce_ms

    def _action(self, action: dict[str, Any], pending: _Pending) -> bool:
        """Sign an L1 action and send it: a `post` on the socket, else REST."""
        if self.dry_run:
            print(f"dry-run: {json.dumps(action)}", file=sys.stderr)
            return True
        if self.wallet is None:
            return False
        nonce = self._nonce()
        body = wire.exchange_body(action, nonce, self.wallet.sign_l1(action, nonce, self.endpoints.mainnet))
        self._count(action)
        conn = self.conn
        if self.ws_post and conn is not None and conn.open:
            rid = next(self._ids)
            self._pending[rid] = pending
            msg = {"method": "post", "id": rid, "request": {"type": "action", "payload": body}}
            return conn.send(msgspec.json.encode(msg))
        self._spawn(self._rest_action(body, pending))
        return True

    async def _rest_action(self, body: dict[str, Any], pending: _Pending) -> None:
        try:
            answer = await self.rest.exchange(body)
        except RateLimited as e:
            answer = {"status": "err", "response": f"Too many requests: HTTP 429 {e.text[:100]}"}
        except (HyperliquidError, aiohttp.ClientError, OSError, TimeoutError) as e:
            log.warning("Hyperliquid /exchange failed: %s", e)
            return
        self._rtt_ns = time.perf_counter_ns() - pending.sent_ns
        self._on_answer(pending, answer, time.time_ns())

    def _count(self, action: dict[str, Any]) -> None:
        """The address budget, as this process spends it: back off past 80 %."""
        n = len(action.get("orders") or action.get("cancels") or action.get("modifies") or [None])
        self.budget_used += n
        cap = self.budget_cap
        now = time.time_ns()
        over = cap and self.budget_used >= USAGE_CEILING * cap
        if over and self.listener is not None and now - self._budget_warned >= BUDGET_BACKOFF_S * 1e9:
            self._budget_warned = now  # told once per backoff, not per order
            why = f"Hyperliquid address budget at {self.budget_used}/{cap} requests (over {USAGE_CEILING:.0%})"
            self.listener.on_order_event(Throttle(1.0, why), now)

    # --- answers ------------------------------------------------------------------------------------------
    def _on_post(self, data: Any, recv_ns: int) -> None:
        if not isinstance(data, dict):
            return
        rid = data.get("id")
        pending = self._pending.pop(rid, None) if isinstance(rid, int) else None
        if pending is None:
            return
        self._rtt_ns = time.perf_counter_ns() - pending.sent_ns
        resp = data.get("response") or {}
        answer: Any
        if resp.get("type") == "error":  # the post itself refused: a 429 or a body it could not read
            text = str(resp.get("payload", ""))
            answer = {"status": "err", "response": f"Too many requests: {text}" if "429" in text else text}
        else:
            answer = resp.get("payload")
        self._on_answer(pending, answer, recv_ns)

    def _on_answer(self, p: _Pending, answer: Any, recv_ns: int) -> None:
        lst = self.listener
        if lst is None or not isinstance(answer, dict):
            return
        now = time.time_ns()
        if answer.get("status") == "err":
            text = str(answer.get("response", ""))
            code = errors.reject_code(text)
            if code == "rate_limited":
                budget = text.startswith("Too many cumulative")
                lst.on_order_event(
                    Throttle(BUDGET_BACKOFF_S if budget else IP_BACKOFF_S, f"Hyperliquid: {text}"), recv_ns
                )
            if p.kind == "schedule":
                if text.startswith(_SWITCH_OFF):
                    self.schedule_refused = text  # no more renewals: cancel-on-disconnect is off
                log.warning("Hyperliquid refused the dead man's switch: %s", text)
            for oid in p.order_ids:
                if p.kind == "order":
                    self._reject(oid, code, text, now, recv_ns)
                else:
                    lst.on_order_event(CancelRefused(oid, code, f"Hyperliquid: {text}"), recv_ns)
            return
        if p.kind == "schedule":
            self.heartbeats += 1
            return
        statuses = ((answer.get("response") or {}).get("data") or {}).get("statuses") or []
        for oid, s in zip(p.order_ids, statuses, strict=False):
            if isinstance(s, dict) and "error" in s:
                text = str(s["error"])
                code = errors.reject_code(text)
                if code == "rate_limited":
                    lst.on_order_event(Throttle(BUDGET_BACKOFF_S, f"Hyperliquid: {text}"), recv_ns)
                if p.kind == "order":
                    self._reject(oid, code, text, now, recv_ns)
                else:
                    lst.on_order_event(CancelRefused(oid, code, f"Hyperliquid: {text}"), recv_ns)
                continue
            if p.kind == "order" and isinstance(s, dict):
                got = s.get("resting") or s.get("filled") or {}
                if "oid" in got:
                    self._ack(oid, int(got["oid"]), now, recv_ns)
            elif p.kind == "modify" and isinstance(s, dict):
                qty, price = p.extra
                st = self._orders.get(oid)
                if st is not None:
                    st.qty, st.price = qty, price
                lst.on_order_event(Amended(oid, qty, price, now), recv_ns)

    def _ack(self, order_id: str, oid: int, ts_ns: int, recv_ns: int) -> None:
        self._by_oid[oid] = order_id
        if order_id in self._acked or order_id in self._final:
            return
        self._acked.add(order_id)
        if self.listener is not None:
            self.listener.on_order_event(Ack(order_id, oid, ts_ns), recv_ns)

    def _reject(self, order_id: str, code: str, text: str, ts_ns: int, recv_ns: int) -> None:
        if order_id in self._acked or order_id in self._final:
            return
        self._final.add(order_id)
        self._orders.pop(order_id, None)
        if self.listener is not None:
            self.listener.on_order_event(Rejected(order_id, code, f"Hyperliquid: {text}", ts_ns), recv_ns)

    def _on_order_updates(self, updates: Any, recv_ns: int) -> None:
        lst = self.listener
        if lst is None or not isinstance(updates, list):
            return
        for u in updates:
            o = u.get("order") or {}
            m = self.by_coin.get(str(o.get("coin")))
            if m is None:
                continue
            oid = int(o["oid"])
            order_id = self._order_id(o.get("cloid"), oid)
            ev = translate.order_event(u, m, order_id)
            if isinstance(ev, Ack):
                self._ack(order_id, oid, ev.ts_ns, recv_ns)
            elif isinstance(ev, Rejected):
                self._reject(order_id, ev.code, ev.reason, ev.ts_ns, recv_ns)
            elif ev is not None and order_id not in self._final:  # a Done
                self._final.add(order_id)
                self._orders.pop(order_id, None)
                lst.on_order_event(ev, recv_ns)

    def _on_fills(self, data: Any, recv_ns: int) -> None:
        """`userFills`: each fill once (by tid); the first message, a snapshot, is left to
        reconciliation."""
        if not isinstance(data, dict) or data.get("isSnapshot"):
            return
        self._deliver_fills(data.get("fills") or [], recv_ns)

    def _deliver_fills(self, fills: list[dict[str, Any]], recv_ns: int) -> None:
        lst = self.listener
        for f in fills:
            m = self.by_coin.get(str(f.get("coin")))
            tid = int(f.get("tid", -1))
            if m is None or lst is None or tid in self._fills:
                continue
            self._seen(tid)
            order_id = self._order_id(f.get("cloid"), int(f["oid"]))
            st = self._orders.get(order_id)
            lots = m.inst.qty_to_lots(str(f["sz"]))
            remaining = -1
            if st is not None:
                st.filled += lots
                remaining = max(0, st.qty - st.filled)
                if not remaining:
                    self._orders.pop(order_id, None)
                    self._final.add(order_id)
            lst.on_order_event(translate.filled(f, m, order_id, remaining), recv_ns)

    def _seen(self, tid: int) -> None:
        self._fills[tid] = None
        if len(self._fills) > FILL_IDS_KEPT:
            self._fills.popitem(last=False)

    def _on_user_events(self, data: Any, recv_ns: int) -> None:
        """`userEvents` (channel `user`): funding payments (fills come by `userFills`)."""
        if not isinstance(data, dict) or self.listener is None:
            return
        funding = data.get("funding")
        if isinstance(funding, dict):
            m = self.by_coin.get(str(funding.get("coin")))
            if m is not None:
                self.listener.on_order_event(translate.funding_event(funding, m), recv_ns)

    # --- the dead man's switch --------------------------------------------------------------------------
    async def _heartbeat(self) -> None:
        """scheduleCancel at now + countdown_s, every heartbeat_s: if this process dies or loses
        Hyperliquid, every open order is cancelled when the last one runs out."""
        ms = int(self.countdown_s * 1000)
        while not self._closing:
            if self.connected and not self.schedule_refused:
                self._action(wire.schedule_cancel_action(time.time_ns() // 1_000_000 + ms), _Pending("schedule", []))
            await asyncio.sleep(self.heartbeat_s)

    # --- the account -------------------------------------------------------------------------------------
    async def _info(self, body: dict[str, Any]) -> Any:
        for attempt in range(3):
            try:
                return await self.rest.info(body)
            except RateLimited:
                if attempt == 2:
                    raise
                await asyncio.sleep(IP_BACKOFF_S)
        raise AssertionError("unreachable")

    async def snapshot(self) -> AccountSnapshot:
        """Open orders, the last fills, positions and balances, read in several requests
        (`consistent` is False: orders may change between them)."""
        if self.wallet is None or self.dry_run or not self.account:
            return AccountSnapshot([], [], consistent=False)
        user = self.account
        opened = await self._info({"type": "frontendOpenOrders", "user": user})
        fills = await self._info({"type": "userFills", "user": user})
        state = await self._info({"type": "clearinghouseState", "user": user})
        spot = await self._info({"type": "spotClearinghouseState", "user": user}) if self._has_spot() else None
        orders: list[VenueOrder] = []
        for o in opened or []:
            m = self.by_coin.get(str(o.get("coin")))
            if m is not None:
                oid = int(o["oid"])
                order_id = self._order_id(o.get("cloid"), oid)
                self._by_oid[oid] = order_id
                orders.append(translate.venue_order(o, m, order_id))
        got: list[VenueFill] = []
        for f in fills or []:
            m = self.by_coin.get(str(f.get("coin")))
            if m is not None:
                self._seen(int(f["tid"]))
                got.append(translate.venue_fill(f, m, self._order_id(f.get("cloid"), int(f["oid"]))))
        return AccountSnapshot(
            orders,
            got,
            translate.positions(state or {}, self.by_coin),
            translate.balances(state, spot),
            consistent=False,
        )

    def _has_spot(self) -> bool:
        return any(m.spot for m in self.markets.values())

    # --- lifecycle ----------------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def ping(self) -> int:
        """`info` `exchangeStatus` (weight 2), public: no keys needed."""
        t0 = time.perf_counter_ns()
        try:
            await self.rest.info({"type": "exchangeStatus"})
        except (HyperliquidError, aiohttp.ClientError, OSError, TimeoutError) as e:
            raise VenueUnreachable(f"no answer from Hyperliquid at {self.url}: {str(e) or type(e).__name__}") from None
        return time.perf_counter_ns() - t0

    async def close(self) -> None:
        self._closing = True
        self._lost.set()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.wallet is not None and not self.dry_run and self.heartbeats:  # a clean exit: unset the switch
            action = wire.schedule_cancel_action(None)
            nonce = self._nonce()
            body = wire.exchange_body(action, nonce, self.wallet.sign_l1(action, nonce, self.endpoints.mainnet))
            with contextlib.suppress(HyperliquidError, aiohttp.ClientError, OSError, TimeoutError):
                await self.rest.exchange(body)
        if self.conn is not None:
            self.conn.close()
        await self.rest.close()
        if self.raw is not None:
            self.raw.close()

    def record_raw(self, folder: Path) -> RawCapture:
        """Keep every l2Book and trades frame as received, `<local ns> <frame>` lines, one file per
        market: the Hyperliquid capture format `agenthft replay` / `backtest --data` read."""
        self.raw = RawCapture(folder)
        return self.raw

    def drop(self) -> None:
        """Cut the connection now (tests); the supervisor reconnects."""
        if self.conn is not None:
            self.conn.close()
