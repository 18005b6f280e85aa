"""The venue's logic, independent of sockets: sessions, auth, limits, subscriptions, order
entry into the matching engine, and routing of the engine's events to subscribers.

The WebSocket and REST shells call into `Venue` with raw bytes or decoded bodies and an
integer `now_ns`; `Venue` answers through each session's `Transport`. One thread, no awaits:
a command and the fan-out of its events finish before the next command starts.
"""

from __future__ import annotations

import logging
import secrets
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

import msgspec

from agenthft.matching import (
    Accepted,
    Amended,
    AmendRejected,
    BookDelta,
    Cancelled,
    CancelRejected,
    Fill,
    MatchingEngine,
    Order,
    Rejected,
    Trade,
    cash_to_text,
    text_to_cash,
)
from agenthft.model import GridError, Instrument, OrderStatus, OrderType, Side, find_instrument, mark_price
from agenthft.model.fixed import Number
from agenthft.model.money import CASH_UNIT
from agenthft.protocol import messages as pm
from agenthft.ratelimit import TokenBucket
from agenthft.redact import redact
from agenthft.venue.config import Tier, VenueConfig
from agenthft.venue.keys import ApiKey, KeyStore
from agenthft.venue.outbox import Outbox
from agenthft.venue.outcome import (
    AccountEvent,
    CancelAllOutcome,
    MarketEvent,
    OrderInfo,
    Outcome,
    RejectCode,
    TopOfBook,
    VenueObserver,
)
from agenthft.venue.state import CommandLog

log = logging.getLogger("agenthft.venue")
CLOSE_POLICY = 1008
_CASH = float(CASH_UNIT)


class AgentExists(Exception):
    """Registration of an agent id that already has an account."""


class Transport(Protocol):
    """What a session needs from its connection."""

    def send(self, data: bytes) -> None: ...

    def close(self, code: int, reason: str) -> None: ...

    def buffered(self) -> int: ...

    def send_at_once(self, data: bytes) -> None: ...  # behind what the outbox holds for it, not at the release


class MarketView:
    """Per-market wire formatting and subscriber sets."""

    __slots__ = (
        "book_subs",
        "inst",
        "last_top",
        "last_trade",
        "lot_dec",
        "lot_f",
        "name",
        "names",
        "tick_dec",
        "tick_f",
        "ticker_subs",
        "trade_subs",
    )

    def __init__(self, inst: Instrument) -> None:
        g = inst.grid
        self.inst = inst
        self.name = inst.market
        self.tick_f = float(inst.tick_size)
        self.tick_dec = g.tick_decimals
        self.lot_f = float(inst.lot_size)
        self.lot_dec = g.lot_decimals
        self.book_subs: dict[Session, int] = {}  # session -> snapshot depth (0 = all)
        self.ticker_subs: set[Session] = set()
        self.trade_subs: set[Session] = set()
        self.names: dict[Session, str] = {}  # sessions that subscribed by an alias: its market data carries it
        self.last_top: tuple[int | None, int, int | None, int] = (None, 0, None, 0)
        self.last_trade: int | None = None

    def subscribed(self, s: Session) -> bool:
        return s in self.book_subs or s in self.ticker_subs or s in self.trade_subs

    def px(self, ticks: int) -> float:
        """Ticks as the exact decimal price's nearest float (what a JSON number carries)."""
        return round(ticks * self.tick_f, self.tick_dec)

    def qty(self, lots: int) -> float:
        return round(lots * self.lot_f, self.lot_dec)

    def levels(self, levels: Iterable[tuple[int, int]]) -> list[tuple[float, float]]:
        px, qt = self.px, self.qty
        out = []
        for p, q in levels:
            out.append((px(p), qt(q)))
        return out


class Session:
    """One WebSocket connection."""

    _ids = 0

    def __init__(self, transport: Transport) -> None:
        Session._ids += 1
        self.id = Session._ids
        self.transport = transport
        self.key: ApiKey | None = None
        self.account = ""
        self.orders_on = True  # own order events ("orders" channel), on by default
        self.nsubs = 0
        self.placed: set[str] = set()  # live client order ids sent on this connection
        self.paused = False
        self.stale: set[str] = set()  # markets whose book stream was dropped while paused
        self.breach_second = 0
        self.breaches = 0
        self.closed = False

    def __hash__(self) -> int:
        return self.id

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.transport.send(data)


class _KeyLimits:
    __slots__ = ("cancels", "orders", "rest")

    def __init__(self, tier: Tier, now_ns: int) -> None:
        self.orders = TokenBucket(tier.orders_per_s, tier.orders_per_s, now_ns)
        self.cancels = TokenBucket(tier.cancels_per_s, tier.cancels_per_s, now_ns)
        self.rest = TokenBucket(tier.rest_per_min / 60.0, tier.rest_burst, now_ns)


class LoggedEngine(MatchingEngine):
    """The matching engine with every state-changing command appended to the venue's log."""

    log: CommandLog | None = None

    def submit(
        self,
        account: str,
        order_id: str,
        market: str,
        side: Side,
        qty: int,
        price: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        display_qty: int = 0,
        ts_ns: int = 0,
    ) -> Order | None:
        if self.log is not None:
            self.log.append("submit", account, order_id, market, side, qty, price, order_type, display_qty, ts_ns)
        return super().submit(account, order_id, market, side, qty, price, order_type, display_qty, ts_ns)

    def cancel(self, account: str, order_id: str, ts_ns: int = 0) -> bool:
        if self.log is not None:
            self.log.append("cancel", account, order_id, ts_ns)
        return super().cancel(account, order_id, ts_ns)

    def cancel_all(self, account: str, market: str | None = None, ts_ns: int = 0) -> int:
        if self.log is not None:
            self.log.append("cancel_all", account, market, ts_ns)
        return super().cancel_all(account, market, ts_ns)

    def amend(
        self, account: str, order_id: str, price: int | None = None, qty: int | None = None, ts_ns: int = 0
    ) -> bool:
        if self.log is not None:
            self.log.append("amend", account, order_id, price, qty, ts_ns)
        return super().amend(account, order_id, price, qty, ts_ns)


class Venue:
    def __init__(self, config: VenueConfig, state_path: str | None = None) -> None:
        self.config = config
        self.settings = config.venue
        self.engine = LoggedEngine(config.markets, config.engine)
        self.keys = KeyStore()
        self.views = {inst.market: MarketView(inst) for inst in config.markets}
        self.agents: dict[str, str] = {}  # agent_id -> account_id
        self._limits: dict[str, _KeyLimits] = {}
        self._account_sessions: dict[str, set[Session]] = {}
        self.sessions: set[Session] = set()  # every open connection, authenticated or not
        self._fills: dict[str, deque[dict[str, object]]] = {}
        #: the same fills as the engine's events (fronts render them in their own shapes)
        self._fill_log: dict[str, deque[Fill]] = {}
        self._done: dict[str, deque[OrderInfo]] = {}  # finished orders per account, oldest first
        self._orders: dict[tuple[str, str], OrderInfo] = {}  # live orders by (account, client order id)
        self._by_oid: dict[int, OrderInfo] = {}  # live orders by venue order id
        self._meta: dict[tuple[str, str], tuple[bool, bool]] = {}  # (fok, reduce_only) of an order in flight
        self._observers: list[VenueObserver] = []
        #: held while the venue publishes (a step, or a driver's run of steps): the market data
        #: each connection gets goes out in one write at the end; order events go at once
        #: (`_to_account`), after what was queued for that connection before them
        self.outbox = Outbox()
        self.rules = config.rules
        floor = text_to_cash(config.rules.min_notional)  # quote cash units
        # per market: the venue-wide rule or the market's own minimum, whichever is higher
        self._min_notional = {i.market: max(floor, text_to_cash(i.min_notional)) for i in config.markets}
        self._enc = pm.encoder.encode
        self._dec = pm.client_decoder.decode
        self.log: CommandLog | None = None
        self.replayed = 0
        self.replay_skipped: list[str] = []  # command-log records that could not be applied
        self.faults = 0  # exceptions raised while serving a message (answered, never a close)
        if state_path is not None:
            self.log = CommandLog(state_path, self.settings.state_sync)
            self._replay(self.log)
            self.engine.log = self.log

    def _replay(self, log: CommandLog) -> None:
        """Rebuild the venue from its command log (deterministic engine: exact state)."""
        commands = log.commands()
        for seq, (kind, a) in enumerate(commands, 1):
            try:
                self._apply_logged(kind, a)
            except Exception as exc:  # a record this venue cannot apply: say so, keep the rest
                self.replay_skipped.append(f"record {seq} ({kind}): {type(exc).__name__}: {str(exc)[:200]}")
            self.publish(0)  # no sessions yet: rebuilds fills and order history only
        self.replayed = len(commands)

    def _apply_logged(self, kind: str, a: list[Any]) -> None:
        e = self.engine
        if kind == "register":
            agent_id, account = a
            self.agents[agent_id] = account
            for asset, amount in self.config.sandbox.funds.items():
                e.deposit(account, asset, text_to_cash(amount))
        elif kind == "key":
            self.keys.restore(*a)
        elif kind == "delete_key":
            self.keys.delete(*a)
        elif kind == "submit":
            account, oid, market, side, qty, price, otype, display, ts = a
            e.submit(account, oid, market, Side(side), qty, price, OrderType(otype), display, ts)
        elif kind == "cancel":
            e.cancel(*a)
        elif kind == "cancel_all":
            e.cancel_all(*a)
        elif kind == "amend":
            e.amend(*a)
        else:
            raise ValueError(f"unknown record kind {kind!r}")

    def log_key(self, key: ApiKey) -> None:
        if self.log is not None:
            self.log.append(
                "key",
                key.key_id,
                key.account_id,
                key.digest.hex(),
                list(key.scopes),
                key.tier,
                key.label,
                key.cancel_on_disconnect,
                key.created_ns,
            )

    def delete_key(self, account_id: str, key_id: str) -> bool:
        """Revoke a key everywhere at once: REST and new handshakes refuse it, and every open
        WebSocket authenticated with it is closed now (1008 "api key revoked"); the key's
        cancel-on-disconnect setting then applies to that connection's orders."""
        if not self.keys.delete(account_id, key_id):
            return False
        if self.log is not None:
            self.log.append("delete_key", account_id, key_id)
        for s in list(self._account_sessions.get(account_id, ())):
            if s.key is not None and s.key.key_id == key_id:
                self._close(s, "api key revoked")
        return True

    # --- accounts and keys ---------------------------------------------------------------
    def register(self, agent_id: str, now_ns: int = 0, operator: bool = False) -> tuple[str, str, ApiKey]:
        """A funded sandbox account (one per agent id) and its first key: (key text, account, key).

        An agent id that exists is refused (`AgentExists`): registration needs no credentials, so
        handing out a key for an existing account would be an account takeover. Only the operator
        (the process that runs the venue, `operator=True`) gets a new key for an existing agent id."""
        account = self.agents.get(agent_id)
        if account is not None and not operator:
            raise AgentExists(f"agent id {agent_id!r} is taken; use that account's key (POST /api/v1/keys)")
        if account is None:
            account = self.agents[agent_id] = f"acc_{secrets.token_hex(5)}"
            for asset, amount in self.config.sandbox.funds.items():
                self.engine.deposit(account, asset, text_to_cash(amount))
            if self.log is not None:
                self.log.append("register", agent_id, account)
        text, key = self.keys.create(account, tier=self.config.sandbox.tier, now_ns=now_ns)
        self.log_key(key)
        return text, account, key

    def limits(self, key: ApiKey, now_ns: int) -> _KeyLimits:
        lim = self._limits.get(key.key_id)
        if lim is None:
            lim = self._limits[key.key_id] = _KeyLimits(self.config.tier(key.tier), now_ns)
        return lim

    def market(self, symbol: str) -> MarketView | None:
        view = self.views.get(symbol)
        if view is None:
            inst = find_instrument(self.config.markets, symbol)
            view = self.views.get(inst.market) if inst else None
        return view

    # --- sessions --------------------------------------------------------------------------
    def open_session(self, transport: Transport, key: ApiKey | None = None) -> Session:
        s = Session(transport)
        self.sessions.add(s)
        if key is not None:
            self._authenticate(s, key)
        return s

    def _authenticate(self, s: Session, key: ApiKey) -> bool:
        tier = self.config.tier(key.tier)
        if key.connections >= tier.connections:
            self._send(s, pm.Error("rate_limited", f"{tier.connections} connections per key already open"))
            self._close(s, "too many connections for this key")
            return False
        key.connections += 1
        s.key = key
        s.account = key.account_id
        self._account_sessions.setdefault(s.account, set()).add(s)
        self._send(s, pm.AuthOk(s.account, key.key_id))
        return True

    def close_session(self, s: Session, now_ns: int) -> None:
        """The connection is gone: unsubscribe, and cancel its orders if the key says so."""
        self.sessions.discard(s)
        if s.closed and s.key is None:
            return
        s.closed = True
        for view in self.views.values():
            view.book_subs.pop(s, None)
            view.ticker_subs.discard(s)
            view.trade_subs.discard(s)
            view.names.pop(s, None)
        key = s.key
        if key is None:
            return
        key.connections -= 1
        s.key = None
        self._account_sessions.get(s.account, set()).discard(s)
        if key.cancel_on_disconnect:
            live = [oid for oid in sorted(s.placed) if self.engine.order(s.account, oid) is not None]
            for oid in live:
                self.engine.cancel(s.account, oid, now_ns)
            if live:
                self.publish(now_ns)

    def on_drained(self, s: Session, now_ns: int) -> None:
        """The connection's write buffer drained: resend snapshots of dropped book streams."""
        s.paused = False
        for market in sorted(s.stale):
            view = self.views[market]
            if s in view.book_subs:
                self._send(s, self._snapshot(view, view.book_subs[s], now_ns, view.names.get(s)))
        s.stale.clear()

    def _send(self, s: Session, msg: msgspec.Struct) -> None:
        s.send(self._enc(msg))
        self._check_buffer(s)

    def _check_buffer(self, s: Session) -> None:
        if s.transport.buffered() > self.settings.max_buffer_bytes:
            self._close(s, "slow consumer: send buffer over limit")

    def _close(self, s: Session, reason: str, code: int = CLOSE_POLICY) -> None:
        if not s.closed:
            s.transport.close(code, reason)
            s.closed = True

    def shutdown(self) -> None:
        """Close every connection (1001 going away), e.g. before the process exits."""
        for s in list(self.sessions):
            self._close(s, "venue shutting down", 1001)

    # --- inbound ---------------------------------------------------------------------------
    def on_message(self, s: Session, raw: bytes, now_ns: int) -> None:
        """Handle one text frame. Bad input gets a specific error; nothing is half-applied.

        No input may take the connection down: an exception escaping the handling of one
        message is answered with an `internal_error` naming it (and logged, redacted), and the
        connection stays open, so a venue-side fault never triggers cancel-on-disconnect."""
        if s.closed:
            return
        try:
            self._on_message(s, raw, now_ns)
        except Exception as e:
            self.on_fault(s, e, now_ns)

    def oversize(self, s: Session, size: int) -> None:
        """A message over `max_frame_bytes` (one frame or reassembled fragments): error, then 1008."""
        limit = self.settings.max_frame_bytes
        self._send(s, pm.Error("bad_request", f"message of {size} bytes over the {limit}-byte limit"))
        self._close(s, f"message over {limit} bytes")

    def frame_error(self, s: Session, message: str) -> None:
        """A WebSocket framing mistake that is not fatal (answered, the connection stays)."""
        self._send(s, pm.Error("bad_request", message))

    def on_fault(self, s: Session, e: Exception, now_ns: int) -> None:
        """A venue-side exception while serving `s`: logged (redacted) and answered; never a close."""
        self.faults += 1
        log.error("fault serving session %d: %s", s.id, redact(repr(e)))
        self._send(s, pm.Error("internal_error", f"the venue failed on this message: {type(e).__name__}"))

    def _on_message(self, s: Session, raw: bytes, now_ns: int) -> None:
        if len(raw) > self.settings.max_frame_bytes:
            self.oversize(s, len(raw))
            return
        try:
            msg = self._dec(raw)
        except UnicodeDecodeError as e:
            self._send(s, pm.Error("bad_request", f"invalid UTF-8 at byte {e.start}: text frames must be UTF-8"))
            return
        except RecursionError:
            self._send(s, pm.Error("bad_request", "JSON nested too deeply"))
            return
        except msgspec.DecodeError as e:
            typ, oid = pm.peek(raw)
            if typ == "order" and oid is not None:
                self._send(s, pm.OrderReject(oid, "bad_request", str(e), now_ns))
            elif typ == "cancel" and oid is not None:
                self._send(s, pm.CancelReject(oid, "bad_request", str(e)))
            else:
                self._send(s, pm.Error("bad_request", str(e), typ))
            return
        t = type(msg)
        if s.key is None:
            if t is pm.Auth:
                assert isinstance(msg, pm.Auth)
                key = self.keys.authenticate(msg.api_key)
                if key is None:
                    self._send(s, pm.Error("unauthorized", "invalid API key"))
                    self._close(s, "unauthorized")
                else:
                    self._authenticate(s, key)
            elif t is pm.Ping:
                assert isinstance(msg, pm.Ping)
                self._send(s, pm.Pong(msg.id, now_ns))
            elif t is pm.NewOrder:
                assert isinstance(msg, pm.NewOrder)
                self._send(s, pm.OrderReject(msg.order_id, "unauthorized", "authenticate first", now_ns))
            else:
                self._send(s, pm.Error("unauthorized", "authenticate first (auth message or Bearer header)"))
            return
        if t is pm.NewOrder:
            assert isinstance(msg, pm.NewOrder)
            self._order(s, msg, now_ns)
        elif t is pm.Cancel:
            assert isinstance(msg, pm.Cancel)
            self._cancel(s, msg, now_ns)
        elif t is pm.CancelAll:
            assert isinstance(msg, pm.CancelAll)
            self._cancel_all(s, msg, now_ns)
        elif t is pm.Ping:
            assert isinstance(msg, pm.Ping)
            self._send(s, pm.Pong(msg.id, now_ns))
        elif t is pm.Subscribe or t is pm.Unsubscribe:
            assert isinstance(msg, (pm.Subscribe, pm.Unsubscribe))
            self._subscribe(s, msg, now_ns)
        elif t is pm.Auth and s.key is not None:
            # authenticated by the handshake's header and again by message (the article's client
            # does both): the same key is answered as the first time; another key is refused
            assert isinstance(msg, pm.Auth)
            again = self.keys.authenticate(msg.api_key)
            if again is not None and again.key_id == s.key.key_id:
                self._send(s, pm.AuthOk(s.account, again.key_id))
            else:
                self._send(s, pm.Error("bad_request", "already authenticated with another key"))
        else:
            self._send(s, pm.Error("bad_request", "already authenticated"))

    def _breach(self, s: Session, now_ns: int) -> None:
        """Count a rate-limit breach; repeated breaches close the connection (1008)."""
        second = now_ns // 1_000_000_000
        if second != s.breach_second:
            s.breach_second, s.breaches = second, 0
        s.breaches += 1
        assert s.key is not None
        if s.breaches > self.config.tier(s.key.tier).abuse_per_s:
            self._close(s, "repeated rate-limit breaches")

    # --- the one order-entry path (every front) -----------------------------------------------
    def add_observer(self, observer: VenueObserver) -> None:
        """Tell `observer` every account and market event from now on (venue/outcome.py)."""
        self._observers.append(observer)

    def remove_observer(self, observer: VenueObserver) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    def place(
        self,
        key: ApiKey,
        order_id: str,
        market: str,
        side: Side,
        qty: Number,
        price: Number | None = None,
        order_type: OrderType = OrderType.LIMIT,
        *,
        display_qty: Number | None = None,
        fok: bool = False,
        reduce_only: bool = False,
        now_ns: int,
        session: Session | None = None,
    ) -> Outcome:
        """Place an order for `key`'s account: scope, the key's order rate, the market (name or
        alias), the grid (price and quantities as decimal text or numbers, exact or refused),
        the venue's rules (`OrderRules`, reduce-only, fill-or-kill), then the engine; its events
        are published before this returns. `fok`: a limit (or market) order that fills whole on
        arrival or is refused (`fok_unfillable`), run as an IOC. `reduce_only`: refused unless it
        reduces the position and is no larger than it. `session`: the connection it came on (its
        rate-limit breaches are counted, cancel-on-disconnect covers the order)."""
        if not key.can("trade"):
            return Outcome(False, order_id, RejectCode.FORBIDDEN, "this key has no trade scope")
        bucket = self.limits(key, now_ns).orders
        if not bucket.take(now_ns):
            if session is not None:
                self._breach(session, now_ns)
            reason = f"over {bucket.per_second:g} orders/s for this key"
            return Outcome(False, order_id, RejectCode.RATE_LIMITED, reason)
        view = self.market(market)
        if view is None:
            return Outcome(False, order_id, RejectCode.UNKNOWN_MARKET, f"no market {market!r}")
        grid = view.inst.grid
        try:
            lots = grid.qty_to_lots(qty)
            ticks = None if order_type is OrderType.MARKET or price is None else grid.price_to_ticks(price)
            display = 0 if display_qty is None else grid.qty_to_lots(display_qty)
        except GridError as e:
            code = e.code if e.code in ("bad_price", "bad_qty") else "bad_request"
            return Outcome(False, order_id, code, str(e))
        account = key.account_id
        refused = self._rules(view, account, side, lots, ticks, order_type, reduce_only)
        if refused is None and fok and lots > 0:
            can = self.engine.fillable(account, view.name, side, ticks, lots)
            if can < lots:
                refused = (RejectCode.FOK_UNFILLABLE, f"fill-or-kill for {lots} lots: {can} would fill now")
        if refused is not None:
            return Outcome(False, order_id, refused[0], refused[1])
        if fok and order_type is not OrderType.MARKET:
            order_type = OrderType.IOC
        if session is not None:
            session.placed.add(order_id)
        if fok or reduce_only:
            self._meta[(account, order_id)] = (fok, reduce_only)
        engine = self.engine
        mark = len(engine.events)
        o = engine.submit(account, order_id, view.name, side, lots, ticks, order_type, display, now_ns)
        refusal = None
        if o is None:  # the engine's Rejected for this order is among this command's events
            refusal = next(ev for ev in engine.events[mark:] if type(ev) is Rejected and ev.order_id == order_id)
        self.publish(now_ns)
        if fok or reduce_only:
            self._meta.pop((account, order_id), None)
        if o is None:
            assert isinstance(refusal, Rejected)
            return Outcome(False, order_id, refusal.code, refusal.reason, True, market=view.name)
        info = self._orders.get((account, order_id)) or self._find_done(account, None, o.oid)
        assert info is not None
        return self._outcome(info)

    def cancel(
        self,
        key: ApiKey,
        order_id: str | None = None,
        venue_order_id: int | None = None,
        *,
        now_ns: int,
        session: Session | None = None,
    ) -> Outcome:
        """Cancel one open order of `key`'s account, by client order id or venue order id:
        scope, the key's cancel rate, then the engine. `Outcome.cancelled` is the lots it took
        off the book; an order that is not open is `unknown_order`."""
        name = order_id if order_id is not None else str(venue_order_id)
        if not key.can("trade"):
            return Outcome(False, name, RejectCode.FORBIDDEN, "this key has no trade scope")
        bucket = self.limits(key, now_ns).cancels
        if not bucket.take(now_ns):
            if session is not None:
                self._breach(session, now_ns)
            return Outcome(False, name, RejectCode.RATE_LIMITED, f"over {bucket.per_second:g} cancels/s")
        account = key.account_id
        info = self._live(account, order_id, venue_order_id)
        if info is None:
            if order_id is not None:  # the engine says so to the account's sessions too
                self.engine.cancel(account, order_id, now_ns)
                self.publish(now_ns)
            return Outcome(False, name, RejectCode.UNKNOWN_ORDER, "no open order with this id", order_id is not None)
        before = info.remaining
        self.engine.cancel(account, info.order_id, now_ns)
        self.publish(now_ns)
        return self._outcome(info, cancelled=before)

    def cancel_all(
        self, key: ApiKey, market: str | None = None, *, now_ns: int, session: Session | None = None
    ) -> CancelAllOutcome:
        """Cancel every open order of `key`'s account (in one market or all). Never rate
        limited: it is the safety valve."""
        if not key.can("trade"):
            return CancelAllOutcome(False, market, (), RejectCode.FORBIDDEN, "this key has no trade scope")
        name = None
        if market is not None:
            view = self.market(market)
            if view is None:
                return CancelAllOutcome(False, market, (), RejectCode.UNKNOWN_MARKET, f"no market {market!r}")
            name = view.name
        account = key.account_id
        infos = [self._orders.get((account, o.order_id)) for o in self.engine.open_orders(account, name)]
        self.engine.cancel_all(account, name, now_ns)
        self.publish(now_ns)
        return CancelAllOutcome(True, name, tuple(sorted((i for i in infos if i is not None), key=lambda i: i.oid)))

    def amend(
        self,
        key: ApiKey,
        order_id: str | None = None,
        venue_order_id: int | None = None,
        *,
        price: Number | None = None,
        qty: Number | None = None,
        now_ns: int,
        session: Session | None = None,
    ) -> Outcome:
        """Change an open order's price and/or total quantity (filled part included), keeping
        its ids: scope, the key's order rate, the grid, the venue's rules, then the engine. A
        smaller quantity at the same price keeps queue priority; any other change loses it
        (and may trade at once if the new price crosses)."""
        name = order_id if order_id is not None else str(venue_order_id)
        if not key.can("trade"):
            return Outcome(False, name, RejectCode.FORBIDDEN, "this key has no trade scope")
        bucket = self.limits(key, now_ns).orders
        if not bucket.take(now_ns):
            if session is not None:
                self._breach(session, now_ns)
            return Outcome(False, name, RejectCode.RATE_LIMITED, f"over {bucket.per_second:g} orders/s for this key")
        account = key.account_id
        info = self._live(account, order_id, venue_order_id)
        if info is None:
            return Outcome(False, name, RejectCode.UNKNOWN_ORDER, "no open order with this id")
        view = self.views[info.market]
        grid = view.inst.grid
        try:
            ticks = None if price is None else grid.price_to_ticks(price)
            lots = None if qty is None else grid.qty_to_lots(qty)
        except GridError as e:
            code = e.code if e.code in ("bad_price", "bad_qty") else "bad_request"
            return Outcome(False, info.order_id, code, str(e), market=view.name)
        new_lots = info.qty if lots is None else lots
        refused = self._rules(
            view,
            account,
            info.side,
            new_lots,
            info.price if ticks is None else ticks,
            info.order_type,
            info.reduce_only,
        )
        if refused is not None:
            return Outcome(False, info.order_id, refused[0], refused[1], market=view.name)
        engine = self.engine
        mark = len(engine.events)
        engine.amend(account, info.order_id, ticks, lots, now_ns)
        refusal = next((e for e in engine.events[mark:] if type(e) is AmendRejected), None)
        self.publish(now_ns)
        if refusal is not None:
            return Outcome(False, info.order_id, refusal.code, refusal.reason, True, market=view.name)
        return self._outcome(info)

    def _rules(
        self,
        view: MarketView,
        account: str,
        side: Side,
        lots: int,
        ticks: int | None,
        order_type: OrderType,
        reduce_only: bool,
    ) -> tuple[str, str] | None:
        """The venue's own order checks (`OrderRules`, reduce-only): (code, reason) or None."""
        m = self.engine.markets[view.name]
        if reduce_only:
            acct = self.engine.accounts.get(account)
            pos = acct.positions.get(view.name) if acct is not None else None
            size = pos.size if pos is not None else 0
            if size == 0 or (size > 0) == (side is Side.BUY):
                return RejectCode.REDUCE_ONLY, f"reduce-only {side.value} would not reduce a position of {size} lots"
            if lots > abs(size):
                return RejectCode.REDUCE_ONLY, f"reduce-only for {lots} lots exceeds the position of {abs(size)} lots"
        rules = self.rules
        if not rules.price_band_bps and not self._min_notional[view.name]:
            return None
        b, _, a, _ = self._top(view)
        mark = mark_price(view.last_trade, b, a)
        band = rules.price_band_bps
        if band and ticks is not None and mark is not None and order_type is not OrderType.MARKET:
            if side is Side.BUY and ticks * 10_000 > mark * (10_000 + band):
                return RejectCode.PRICE_BAND, f"buy at {ticks} ticks over the mark {mark} + {band} bps"
            if side is Side.SELL and ticks * 10_000 < mark * (10_000 - band):
                return RejectCode.PRICE_BAND, f"sell at {ticks} ticks under the mark {mark} - {band} bps"
        floor = self._min_notional[view.name]
        ref = ticks if ticks is not None and order_type is not OrderType.MARKET else mark
        if floor and not reduce_only and lots > 0 and ref is not None:
            notional = m.math.quote_notional(ref, lots)
            if notional < floor:
                return (
                    RejectCode.MIN_NOTIONAL,
                    f"notional {notional / _CASH:g} {view.inst.quote} under the minimum {self.min_notional(view.name)}",
                )
        return None

    def _live(self, account: str, order_id: str | None, venue_order_id: int | None) -> OrderInfo | None:
        if order_id is not None:
            return self._orders.get((account, order_id))
        info = self._by_oid.get(venue_order_id) if venue_order_id is not None else None
        return info if info is not None and info.account == account else None

    def _find_done(self, account: str, order_id: str | None, venue_order_id: int | None) -> OrderInfo | None:
        for info in reversed(self._done.get(account, ())):
            if (order_id is not None and info.order_id == order_id) or info.oid == venue_order_id:
                return info
        return None

    def live_order(
        self, account: str, order_id: str | None = None, venue_order_id: int | None = None
    ) -> OrderInfo | None:
        """An open order of `account`, by client order id or venue order id."""
        return self._live(account, order_id, venue_order_id)

    def done_orders(self, account: str) -> list[OrderInfo]:
        """The account's last `orders_kept` finished orders, oldest first."""
        return list(self._done.get(account, ()))

    def find_order(
        self, account: str, order_id: str | None = None, venue_order_id: int | None = None
    ) -> OrderInfo | None:
        """An order of `account`, open or among its last `orders_kept` finished ones, by client
        order id (the newest with that id) or venue order id."""
        return self._live(account, order_id, venue_order_id) or self._find_done(account, order_id, venue_order_id)

    def open_order_infos(self, account: str, market: str | None = None) -> list[OrderInfo]:
        """The account's open orders (in one market or all), oldest first."""
        out = [i for i in self._orders.values() if i.account == account and (market is None or i.market == market)]
        out.sort(key=lambda i: i.oid)
        return out

    @staticmethod
    def _outcome(info: OrderInfo, cancelled: int = 0) -> Outcome:
        return Outcome(
            True,
            info.order_id,
            "",
            "",
            True,
            info.oid,
            info.market,
            info.status,
            info.filled,
            info.remaining,
            info.filled_value,
            info.fees,
            tuple(info.fills),
            info,
            cancelled,
        )

    # --- our protocol's order messages ---------------------------------------------------------
    def _order(self, s: Session, msg: pm.NewOrder, now_ns: int) -> None:
        key = s.key
        assert key is not None
        out = self.place(
            key,
            msg.order_id,
            msg.market,
            msg.side,
            msg.qty,
            msg.price,
            msg.order_type,
            display_qty=msg.display_qty,
            now_ns=now_ns,
            session=s,
        )
        if not out.published:
            self._send(s, pm.OrderReject(msg.order_id, out.code, out.reason, now_ns))

    def _cancel(self, s: Session, msg: pm.Cancel, now_ns: int) -> None:
        key = s.key
        assert key is not None
        out = self.cancel(key, msg.order_id, now_ns=now_ns, session=s)
        if not out.published:
            self._send(s, pm.CancelReject(msg.order_id, out.code, out.reason))

    def _cancel_all(self, s: Session, msg: pm.CancelAll, now_ns: int) -> None:
        key = s.key
        assert key is not None
        out = self.cancel_all(key, msg.market, now_ns=now_ns, session=s)
        if not out.ok:
            self._send(s, pm.Error(out.code, out.reason, "cancel_all"))
            return
        self._send(s, pm.CancelAllAck(out.market, len(out.cancelled), now_ns))

    def _subscribe(self, s: Session, msg: pm.Subscribe | pm.Unsubscribe, now_ns: int) -> None:
        """Subscribe or unsubscribe (channel, market) pairs. A market may be named by an alias;
        the session's market data then carries that name. An unknown market is answered with
        one `unknown_market` error naming it, and the known ones are (un)subscribed all the same."""
        channels = list(msg.channels or []) + ([msg.channel] if msg.channel is not None else [])
        markets = list(msg.markets or []) + ([msg.market] if msg.market is not None else [])
        if not channels:
            self._send(s, pm.Error("bad_request", "give channel or channels"))
            return
        bad = [c for c in channels if c not in pm.CHANNELS]
        if bad:
            self._send(s, pm.Error("bad_request", f"unknown channel(s) {bad}; one of {list(pm.CHANNELS)}"))
            return
        market_channels = [c for c in channels if c != "orders"]
        if market_channels and not markets:
            self._send(s, pm.Error("bad_request", f"give market or markets for {market_channels}"))
            return
        views: dict[MarketView, str] = {}  # each market once, under the first name given for it
        unknown = []
        for name in markets:
            view = self.market(name)
            if view is None:
                unknown.append(name)
            elif view not in views:
                views[view] = name
        sub = isinstance(msg, pm.Subscribe)
        if unknown:
            done = "the others are " + ("subscribed" if sub else "unsubscribed") if views else "nothing done"
            known = ", ".join(v.market for v in self.config.markets)
            why = f"no market {', '.join(map(repr, unknown))} ({done}); markets: {known}"
            self._send(s, pm.Error("unknown_market", why, "subscribe" if sub else "unsubscribe"))
        if "orders" in channels:
            s.orders_on = sub
            self._send(s, pm.Subscribed("orders", "*") if sub else pm.Unsubscribed("orders", "*"))
        pairs = [(c, v) for c in market_channels for v in views]
        if sub:
            assert isinstance(msg, pm.Subscribe)
            new = [(c, v) for c, v in pairs if s not in self._subs(c, v)]
            limit = self.config.tier(s.key.tier if s.key else "default").subscriptions
            if s.nsubs + len(new) > limit:
                self._send(s, pm.Error("rate_limited", f"{limit} subscriptions per connection"))
                return
            for v, name in views.items() if market_channels else ():  # one name per session and market
                if not v.subscribed(s) and name != v.name:  # (the first it subscribed by)
                    v.names[s] = name
            for c, v in pairs:  # already subscribed: acknowledged again, nothing more
                if (c, v) not in new:
                    self._send(s, pm.Subscribed(c, v.names.get(s, v.name)))
            for c, v in new:
                shown = v.names.get(s, v.name)
                s.nsubs += 1
                self._send(s, pm.Subscribed(c, shown))
                if c == "orderbook":
                    v.book_subs[s] = msg.depth
                    self._send(s, self._snapshot(v, msg.depth, now_ns, shown))
                elif c == "ticker":
                    v.ticker_subs.add(s)
                    ticker = self._ticker(v, now_ns, shown)
                    if ticker is not None:  # a side is empty: the first ticker comes when both exist
                        self._send(s, ticker)
                else:
                    v.trade_subs.add(s)
        else:
            for c, v in pairs:
                subs = self._subs(c, v)
                shown = v.names.get(s, v.name)
                if s in subs:
                    s.nsubs -= 1
                    if isinstance(subs, dict):
                        del subs[s]
                    else:
                        subs.discard(s)
                if not v.subscribed(s):
                    v.names.pop(s, None)
                self._send(s, pm.Unsubscribed(c, shown))

    @staticmethod
    def _subs(channel: str, v: MarketView) -> dict[Session, int] | set[Session]:
        return v.book_subs if channel == "orderbook" else v.ticker_subs if channel == "ticker" else v.trade_subs

    def _snapshot(self, v: MarketView, depth: int, now_ns: int, name: str | None = None) -> pm.BookSnapshot:
        bids, asks = self.engine.l2(v.name, depth or None)
        seq = self.engine.markets[v.name].book_seq
        return pm.BookSnapshot(name or v.name, seq, v.levels(bids), v.levels(asks), now_ns)

    def _ticker(self, v: MarketView, now_ns: int, name: str | None = None) -> pm.Ticker | None:
        """The top of the book, or None while a side is empty: a ticker always carries a bid
        and an ask a client can add (the article's agent takes their mid)."""
        b, bq, a, aq = self._top(v)
        if b is None or a is None:
            return None
        return pm.Ticker(name or v.name, v.px(b), v.qty(bq), v.px(a), v.qty(aq), now_ns)

    def _top(self, v: MarketView) -> tuple[int | None, int, int | None, int]:
        m = self.engine.markets[v.name]
        bl, al = m.bids.best(), m.asks.best()
        return (
            bl.price if bl else None,
            bl.visible if bl else 0,
            al.price if al else None,
            al.visible if al else 0,
        )

    # --- outbound ---------------------------------------------------------------------------
    def publish(self, now_ns: int) -> None:
        """Route the engine's events: own-order events to the account's sessions, book deltas,
        trades and changed tickers to subscribers, and everything to the observers; keep each
        order's record (`OrderInfo`) up to date. Drivers (simulation, replay) call this after
        acting on the engine directly."""
        self.outbox.hold()  # market data to each connection in one write; order events at once
        try:
            self._route(now_ns)
        finally:
            self.outbox.release()

    def _route(self, now_ns: int) -> None:
        enc = self._enc
        obs = self._observers
        orders = self._orders
        touched: list[MarketView] = []
        named: dict[str, bytes] | None = None  # per message: its encodings under aliases
        for ev in self.engine.drain():
            t = type(ev)
            if t is BookDelta:
                assert isinstance(ev, BookDelta)
                v = self.views[ev.market]
                touched.append(v)
                if v.book_subs:
                    upd = pm.BookUpdate(v.name, ev.book_seq, v.levels(ev.bids), v.levels(ev.asks), ev.ts_ns)
                    data = enc(upd)
                    named = None
                    for s in list(v.book_subs):
                        if s.paused or v.name in s.stale:  # conflate: a snapshot follows the drain
                            s.stale.add(v.name)
                            continue
                        if v.names and s in v.names:  # subscribed by an alias: its name, encoded once
                            named = named if named is not None else {}
                            s.send(self._named(named, v.names[s], upd))
                        else:
                            s.send(data)
                        self._check_buffer(s)
                if obs:
                    self._tell_market(ev)
            elif t is Fill:
                assert isinstance(ev, Fill)
                v = self.views[ev.market]
                fill = pm.FillMsg(
                    ev.order_id,
                    ev.seq,
                    v.qty(ev.qty),
                    v.px(ev.price),
                    ev.fee / _CASH,
                    ev.liquidity,
                    v.qty(ev.remaining),
                    v.name,
                    ev.side,
                    ev.ts_ns,
                )
                self._to_account(ev.account, enc(fill))
                self._remember_fill(ev.account, fill)
                log = self._fill_log.get(ev.account)
                if log is None:
                    log = self._fill_log[ev.account] = deque(maxlen=self.settings.fills_kept)
                log.append(ev)
                info = orders.get((ev.account, ev.order_id))
                if info is not None:
                    info.filled += ev.qty
                    info.filled_value += ev.price * ev.qty
                    info.fees += ev.fee
                    info.fills.append(ev)
                    info.remaining = ev.remaining
                    info.updated_ns = ev.ts_ns
                    info.status = OrderStatus.PARTIALLY_FILLED if ev.remaining else OrderStatus.FILLED
                    if not ev.remaining:
                        info.reason = "filled"
                if obs:
                    self._tell_account(ev, info)
                if not ev.remaining:
                    self._finish(ev.account, ev.order_id)
            elif t is Trade:
                assert isinstance(ev, Trade)
                v = self.views[ev.market]
                v.last_trade = ev.price
                if v.trade_subs:
                    trade = pm.TradeMsg(v.name, v.px(ev.price), v.qty(ev.qty), ev.side, ev.trade_id, ev.ts_ns)
                    data = enc(trade)
                    named = None
                    for s in list(v.trade_subs):
                        if v.names and s in v.names:
                            named = named if named is not None else {}
                            s.send(self._named(named, v.names[s], trade))
                        else:
                            s.send(data)
                        self._check_buffer(s)
                if obs:
                    self._tell_market(ev)
            elif t is Accepted:
                assert isinstance(ev, Accepted)
                k = (ev.account, ev.order_id)
                meta = self._meta.get(k)
                info = OrderInfo(ev, *meta) if meta is not None else OrderInfo(ev)
                orders[k] = info
                self._by_oid[ev.venue_order_id] = info
                self._to_account(ev.account, enc(pm.OrderAck(ev.order_id, ev.venue_order_id, ev.ts_ns)))
                if obs:
                    self._tell_account(ev, info)
            elif t is Cancelled:
                assert isinstance(ev, Cancelled)
                v = self.views[ev.market]
                self._to_account(ev.account, enc(pm.CancelAck(ev.order_id, v.qty(ev.qty), ev.reason, ev.ts_ns)))
                info = orders.get((ev.account, ev.order_id))
                if info is not None:
                    info.cancelled += ev.qty
                    info.remaining = 0
                    info.status = OrderStatus.CANCELLED
                    info.reason = "fok" if info.fok and ev.reason == "ioc" else ev.reason
                    info.updated_ns = ev.ts_ns
                if obs:
                    self._tell_account(ev, info)
                self._finish(ev.account, ev.order_id)
            elif t is Rejected:
                assert isinstance(ev, Rejected)
                self._to_account(ev.account, enc(pm.OrderReject(ev.order_id, ev.code, ev.reason, ev.ts_ns)))
                self._forget_placed(ev.account, ev.order_id)
                if obs:
                    self._tell_account(ev, None)
            elif t is CancelRejected:
                assert isinstance(ev, CancelRejected)
                self._to_account(ev.account, enc(pm.CancelReject(ev.order_id, ev.code, ev.reason)))
            elif t is Amended:
                assert isinstance(ev, Amended)
                info = orders.get((ev.account, ev.order_id))
                if info is not None:
                    if ev.order_qty:  # an amend: the order changed
                        info.price, info.qty = ev.price, ev.order_qty
                    else:  # a reduce: lots cancelled in place
                        info.cancelled += ev.qty
                    info.remaining = ev.remaining
                    info.updated_ns = ev.ts_ns
                if obs:
                    self._tell_account(ev, info)
        for v in dict.fromkeys(touched):
            top = self._top(v)
            if top != v.last_top:
                v.last_top = top
                ticker = self._ticker(v, now_ns) if v.ticker_subs else None
                if ticker is not None:  # None: a side is empty, no ticker until both exist
                    data = enc(ticker)
                    named = None
                    for s in list(v.ticker_subs):
                        if not s.paused:
                            if v.names and s in v.names:
                                named = named if named is not None else {}
                                s.send(self._named(named, v.names[s], ticker))
                            else:
                                s.send(data)
                            self._check_buffer(s)
                if obs:
                    b, bq, a, aq = top
                    self._tell_market(TopOfBook(now_ns, v.name, self.engine.markets[v.name].book_seq, b, bq, a, aq))

    _publish = publish  # the name the backtest's drivers use

    def _tell_account(self, ev: AccountEvent, info: OrderInfo | None) -> None:
        for o in self._observers:
            try:
                o.on_account(ev, info)
            except Exception as e:  # an observer's bug never stops the venue's publishing
                log.error("observer %r failed on %s: %s", o, type(ev).__name__, redact(repr(e)))

    def _tell_market(self, ev: MarketEvent) -> None:
        for o in self._observers:
            try:
                o.on_market(ev)
            except Exception as e:
                log.error("observer %r failed on %s: %s", o, type(ev).__name__, redact(repr(e)))

    def _named(self, cache: dict[str, bytes], name: str, msg: pm.BookUpdate | pm.TradeMsg | pm.Ticker) -> bytes:
        """`msg` under the market name `name` (an alias a session subscribed by), encoded once."""
        data = cache.get(name)
        if data is None:
            data = cache[name] = self._enc(msgspec.structs.replace(msg, market=name))
        return data

    def _to_account(self, account: str, data: bytes) -> None:
        """An order event goes out at once, even while the outbox holds market data: the frames
        queued for that connection before it first, so its order on the wire is kept."""
        for s in list(self._account_sessions.get(account, ())):
            if s.orders_on and not s.closed:
                s.transport.send_at_once(data)
                self._check_buffer(s)

    def _remember_fill(self, account: str, fill: pm.FillMsg) -> None:
        q = self._fills.get(account)
        if q is None:
            q = self._fills[account] = deque(maxlen=self.settings.fills_kept)
        q.append(msgspec.to_builtins(fill))

    def _forget_placed(self, account: str, order_id: str) -> None:
        """A connection remembers only its live orders (for cancel-on-disconnect): bounded memory."""
        for s in self._account_sessions.get(account, ()):
            s.placed.discard(order_id)

    def _finish(self, account: str, order_id: str) -> None:
        self._forget_placed(account, order_id)
        info = self._orders.pop((account, order_id), None)
        if info is None:
            return
        self._by_oid.pop(info.oid, None)
        q = self._done.get(account)
        if q is None:
            q = self._done[account] = deque(maxlen=self.settings.orders_kept)
        q.append(info)

    # --- queries (REST) ---------------------------------------------------------------------
    def order_record(self, o: Order | OrderInfo) -> dict[str, object]:
        v = self.views[o.market]
        status = (
            "filled"
            if o.filled == o.qty
            else "cancelled"
            if o.cancelled
            else "partially_filled"
            if o.filled
            else "open"
        )
        return {
            "order_id": o.order_id,
            "venue_order_id": o.oid,
            "market": o.market,
            "side": o.side.value,
            "type": o.order_type.value,
            "price": v.px(o.price),
            "qty": v.qty(o.qty),
            "filled_qty": v.qty(o.filled),
            "remaining_qty": v.qty(o.remaining),
            "status": status,
            "ts_ns": o.ts_ns,
        }

    def open_orders(self, account: str) -> list[dict[str, object]]:
        return [self.order_record(o) for o in sorted(self.engine.open_orders(account), key=lambda o: o.oid)]

    def finished_orders(self, account: str) -> list[dict[str, object]]:
        return [self.order_record(o) for o in self._done.get(account, ())]

    def account_fills(self, account: str, market: str | None = None) -> list[Fill]:
        """The account's last `fills_kept` fills (of `market`), oldest first: independent of how
        many finished orders are kept (a quoter finishes far more orders than it fills)."""
        return [f for f in self._fill_log.get(account, ()) if market is None or f.market == market]

    def fills(self, account: str, since_ns: int = 0) -> list[dict[str, object]]:
        return [f for f in self._fills.get(account, ()) if int(f["ts_ns"]) >= since_ns]  # type: ignore[call-overload]

    def account_state(self, account: str, since_ns: int = 0) -> dict[str, object]:
        """Open orders and fills of one account read at one instant (nothing runs in between:
        one thread, no awaits), so a client can reconcile against a consistent snapshot."""
        return {
            "account_id": account,
            "event_seq": self.engine.seq,
            "open_orders": self.open_orders(account),
            "fills": self.fills(account, since_ns),
        }

    def key_limits(self, key: ApiKey) -> dict[str, object]:
        """The rate limits this key trades under (clients size their own throttles from it)."""
        return {"tier": key.tier, **msgspec.structs.asdict(self.config.tier(key.tier))}

    def balances(self, account: str) -> dict[str, dict[str, float]]:
        acct = self.engine.accounts.get(account)
        if acct is None:
            return {}
        return {
            asset: {
                "total": bal / _CASH,
                "held": acct.holds.get(asset, 0) / _CASH,
                "available": (bal - acct.holds.get(asset, 0)) / _CASH,
            }
            for asset, bal in sorted(acct.balances.items())
        }

    def positions(self, account: str) -> list[dict[str, object]]:
        acct = self.engine.accounts.get(account)
        if acct is None:
            return []
        out = []
        for market, pos in sorted(acct.positions.items()):
            v = self.views[market]
            math = self.engine.markets[market].math
            b, _, a, _ = self._top(v)
            mark = mark_price(v.last_trade, b, a)
            avg = pos.avg_price(math)
            out.append(
                {
                    "market": market,
                    "size": v.qty(pos.size),
                    "avg_price": None if avg is None else round(avg * v.tick_f, v.tick_dec + 4),
                    "mark_price": None if mark is None else v.px(mark),
                    "realized_pnl": pos.realized / _CASH,
                    "unrealized_pnl": 0.0 if mark is None else pos.unrealized(mark, math) / _CASH,
                    "currency": math.settle,
                }
            )
        return out

    def book(self, view: MarketView, depth: int, now_ns: int) -> dict[str, object]:
        return msgspec.to_builtins(self._snapshot(view, depth, now_ns))  # type: ignore[no-any-return]

    def min_notional(self, market: str) -> str:
        """The market's minimum order value in its quote currency as decimal text ("0": none)."""
        return cash_to_text(self._min_notional[market])

    def markets(self) -> list[dict[str, object]]:
        return [
            {
                "market": i.market,
                "base": i.base,
                "quote": i.quote,
                "kind": i.kind.value,
                "tick_size": float(i.tick_size),
                "lot_size": float(i.lot_size),
                "maker_fee": float(i.maker_fee),
                "taker_fee": float(i.taker_fee),
                "aliases": list(i.aliases),
                "contract_size": i.contract_size,
                "inverse": i.inverse,
                "settle": i.settle_asset,
                "min_notional": self.min_notional(i.market),
            }
            for i in self.config.markets
        ]
