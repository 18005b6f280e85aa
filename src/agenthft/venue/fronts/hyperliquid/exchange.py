"""`/exchange` (and a WebSocket `post` of type action): verify, then act through the venue's
one order-entry path.

A request is `{"action", "nonce", "signature", "vaultAddress"?, "expiresAfter"?}`. In order:
the action's kind; `expiresAfter` not passed; the signer recovered (an L1 action hashed exactly
as received, with the mainnet source "a" and the testnet source "b" both tried: the official SDK
signs "b" against any URL but mainnet's, ccxt "a" unless in sandbox mode) and resolved to an
account (a user, or an agent to its master); its nonce; the account's request budget; then the
action. A refusal of the whole request is `{"status": "err", "response": <text>}` (HTTP 200);
one order's refusal is `{"error": <text>}` in its place in `statuses`.
"""

from __future__ import annotations

import itertools
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import msgspec

from agenthft.model import OrderStatus, OrderType, Side
from agenthft.model.rejects import RejectCode
from agenthft.protocol.hyperliquid import errors, rules, signing, wire
from agenthft.venue.fronts.hyperliquid.coins import Coin
from agenthft.venue.fronts.hyperliquid.wallets import Signer
from agenthft.venue.outcome import OrderInfo, Outcome

if TYPE_CHECKING:
    from agenthft.venue.fronts.hyperliquid.state import FrontState

L1 = frozenset(
    {"order", "cancel", "cancelByCloid", "modify", "batchModify", "scheduleCancel", "updateLeverage"}
    | {"updateIsolatedMargin", "setReferrer", "noop", "createSubAccount", "twapOrder", "twapCancel"}
    | {"reserveRequestWeight", "subAccountTransfer", "vaultTransfer", "topUpIsolatedOnlyMargin"}
)
TIF = {"Gtc": OrderType.LIMIT, "Alo": OrderType.POST_ONLY, "Ioc": OrderType.IOC, "FrontendMarket": OrderType.IOC}
TIF_OF = {OrderType.LIMIT: "Gtc", OrderType.POST_ONLY: "Alo", OrderType.IOC: "Ioc", OrderType.MARKET: "Ioc"}
SCHEDULE_MIN_MS = 5_000
SCHEDULE_TRIGGERS_PER_DAY = 10
OK_DEFAULT = {"status": "ok", "response": {"type": "default"}}
_ids = itertools.count(1)


class Undeserializable(ValueError):
    """A body Hyperliquid could not read (HTTP 422, text/plain)."""


class Refused(Exception):
    """The whole request refused: `{"status": "err", "response": text}`."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def err(text: str) -> dict[str, Any]:
    return {"status": "err", "response": text}


def _weight(action: dict[str, Any]) -> int:
    n = len(action.get("orders") or action.get("cancels") or action.get("modifies") or [None])
    return n


def ip_weight(body: Any) -> int:
    """An exchange request's IP weight: 1 + floor(batch length / 40)."""
    action = body.get("action") if isinstance(body, dict) else None
    return 1 + (_weight(action) // 40 if isinstance(action, dict) else 0)


def handle(front: FrontState, body: Any, now_ns: int) -> dict[str, Any]:
    """One `/exchange` body -> its JSON answer (Undeserializable for a body it cannot read)."""
    try:
        env = msgspec.convert(body, wire.Envelope)
    except msgspec.ValidationError as e:
        raise Undeserializable(str(e)) from None
    action = env.action
    kind = action.get("type")
    if not isinstance(kind, str) or (kind not in L1 and kind not in signing.USER_SIGNED):
        raise Undeserializable(f"unknown action type {kind!r}")
    now_ms = now_ns // 1_000_000
    try:
        if env.expiresAfter is not None and env.expiresAfter < now_ms:
            raise Refused(errors.EXPIRED)
        if env.vaultAddress:
            raise Refused(f"Vault or sub-account {env.vaultAddress} does not exist on this venue.")
        who = _signer(front, env, kind, now_ms)
        bad_nonce = front.wallets.check_nonce(who.address, env.nonce, now_ms)
        if bad_nonce is not None:
            raise Refused(bad_nonce)
        over = front.budget.spend(who.record.account_id, _weight(action), kind in ("cancel", "cancelByCloid"), now_ns)
        if over is not None:
            raise Refused(over)
        return _act(front, who, kind, action, env.nonce, now_ns)
    except Refused as e:
        return err(e.text)
    except msgspec.ValidationError as e:
        raise Undeserializable(str(e)) from None


def _signer(front: FrontState, env: wire.Envelope, kind: str, now_ms: int) -> Signer:
    try:
        if kind in signing.USER_SIGNED:
            address = signing.recover_user(env.action, env.signature)
            who = front.wallets.resolve(address, now_ms)
            if who is None or who.agent:  # an API wallet signs L1 actions only: it holds nothing
                raise Refused(errors.MUST_DEPOSIT.format(address))
            return who
        first = ""
        for mainnet in (front.mainnet, not front.mainnet):
            address = signing.recover_l1(env.action, env.signature, env.nonce, mainnet, None, env.expiresAfter)
            who = front.wallets.resolve(address, now_ms)
            if who is not None:
                return who
            first = first or address
        raise Refused("L1 error: " + errors.text_of(RejectCode.UNAUTHORIZED, first))
    except signing.BadSignature:
        raise Refused(errors.UNABLE_TO_RECOVER) from None


def _act(front: FrontState, who: Signer, kind: str, action: dict[str, Any], nonce: int, now_ns: int) -> dict[str, Any]:
    if kind == "order":
        a = wire.convert(action, wire.OrderAction)
        statuses = [place(front, who, o, now_ns) for o in a.orders]
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
    if kind == "cancel":
        c = wire.convert(action, wire.CancelAction)
        out = [cancel(front, who, x.a, x.o, now_ns) for x in c.cancels]
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": out}}}
    if kind == "cancelByCloid":
        cc = wire.convert(action, wire.CancelCloidAction)
        out = [cancel(front, who, x.asset, x.cloid, now_ns) for x in cc.cancels]
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": out}}}
    if kind == "batchModify":
        b = wire.convert(action, wire.BatchModifyAction)
        statuses = [modify(front, who, m.oid, m.order, now_ns) for m in b.modifies]
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
    if kind == "modify":
        m = wire.convert(action, wire.ModifyOne)
        status = modify(front, who, m.oid, m.order, now_ns)
        return err(status["error"]) if "error" in status else OK_DEFAULT
    if kind == "scheduleCancel":
        s = wire.convert(action, wire.ScheduleCancelAction)
        return schedule_cancel(front, who, s.time, now_ns)
    if kind == "updateLeverage":
        u = wire.convert(action, wire.UpdateLeverageAction)
        coin = front.coins.by_asset.get(u.asset)
        if coin is None or coin.spot:
            return err(errors.text_of(RejectCode.UNKNOWN_MARKET, u.asset))
        if not 1 <= u.leverage <= front.max_leverage:
            return err(f"Invalid leverage value: {u.leverage} (1..{front.max_leverage})")
        front.leverage[(who.record.account_id, coin.market)] = (u.leverage, u.isCross)
        return OK_DEFAULT
    if kind == "approveAgent":
        ag = wire.convert(action, wire.ApproveAgentAction)
        if ag.nonce != nonce:
            return err("Nonce mismatch.")
        try:
            agent = signing.checksum(ag.agentAddress)
        except ValueError:
            return err(f"Invalid agent address {ag.agentAddress!r}")
        problem = front.wallets.approve(who.user, agent, ag.agentName or "", now_ns // 1_000_000)
        return err(problem) if problem is not None else OK_DEFAULT
    if kind in ("approveBuilderFee", "setReferrer", "noop", "reserveRequestWeight"):
        return OK_DEFAULT  # accepted, nothing to do here (a builder fee is never charged)
    if kind in signing.USER_SIGNED:  # transfers and withdrawals: the master's own, refused here
        return err("Transfers and withdrawals are not available on this venue.")
    return err(f"Action {kind} is not supported by this venue.")


# --- orders ---------------------------------------------------------------------------------------
def _error(front: FrontState, coin: Coin, out: Outcome) -> dict[str, Any]:
    """One order's refusal, in Hyperliquid's words."""
    code = out.code
    if code == RejectCode.BAD_PRICE:  # the text passed the rule: off the venue's own grid
        return {"error": errors.TICK_TEXT}
    if code == RejectCode.POST_ONLY_WOULD_CROSS:
        m = front.venue.engine.markets[coin.market]
        b, a = m.bids.best_price(), m.asks.best_price()
        return {"error": errors.text_of(code, f"{coin.px(b) if b else '0'}@{coin.px(a) if a else '0'}")}
    if code == RejectCode.MIN_NOTIONAL:
        least = front.venue.min_notional(coin.market)
        return {"error": errors.text_of(code, f"{least} {coin.inst.quote}" if coin.spot else f"${least}")}
    if code == RejectCode.RATE_LIMITED:
        return {"error": errors.text_of(code, out.reason)}
    if code == RejectCode.UNKNOWN_MARKET:
        return {"error": errors.text_of(code, coin.asset)}
    return {"error": errors.text_of(code, out.reason)}


def _check(coin: Coin | None, o: wire.OrderWire) -> tuple[OrderType, str] | dict[str, Any]:
    """The order's type and its client order id, or its refusal (the rule's checks)."""
    if coin is None:
        return {"error": errors.text_of(RejectCode.UNKNOWN_MARKET, o.a)}
    if o.t.limit is None:
        return {"error": "Trigger orders are not supported by this venue."}
    otype = TIF.get(o.t.limit.tif)
    if otype is None:
        return {"error": f"Invalid TIF: {o.t.limit.tif!r}"}
    try:
        size = Decimal(o.s)
    except (InvalidOperation, ValueError):
        return {"error": errors.text_of(RejectCode.BAD_QTY)}
    if not size.is_finite() or size < 0 or not rules.size_decimals_ok(o.s, coin.sz_decimals):
        return {"error": errors.text_of(RejectCode.BAD_QTY)}
    if size == 0:
        return {"error": errors.ZERO_SIZE_TEXT}
    if not rules.price_text_ok(o.p, coin.sz_decimals, coin.spot):
        return {"error": errors.text_of(RejectCode.BAD_PRICE)}
    if o.c is not None and not wire.is_cloid(o.c):
        return {"error": f"Invalid cloid {o.c!r}: 0x and 32 hex digits"}
    return otype, (o.c.lower() if o.c is not None else f"hl-{next(_ids)}")


def _status(coin: Coin, info: OrderInfo) -> dict[str, Any]:
    """An accepted order's status (read right after the request: the record keeps changing)."""
    ids: dict[str, Any] = {"oid": info.oid}
    if wire.is_cloid(info.order_id):
        ids["cloid"] = info.order_id
    if info.status is OrderStatus.FILLED or (info.order_type is OrderType.IOC and info.filled):
        return {"filled": {"totalSz": coin.sz(info.filled), "avgPx": coin.avg(info.filled_value, info.filled), **ids}}
    return {"resting": ids}


def place(front: FrontState, who: Signer, o: wire.OrderWire, now_ns: int) -> dict[str, Any]:
    """One order through the venue's one order-entry path: its status in `statuses`."""
    coin = front.coins.by_asset.get(o.a)
    checked = _check(coin, o)
    if isinstance(checked, dict):
        return checked
    assert coin is not None
    otype, order_id = checked
    side = Side.BUY if o.b else Side.SELL
    out = front.venue.place(who.record, order_id, coin.market, side, o.s, o.p, otype, reduce_only=o.r, now_ns=now_ns)
    if not out.ok or out.order is None:
        return _error(front, coin, out)
    if otype is OrderType.IOC and not out.filled:  # Hyperliquid rejects an IOC that found nothing
        return {"error": errors.IOC_NOT_FILLED_TEXT}
    return _status(coin, out.order)


def _live(front: FrontState, who: Signer, ref: int | str) -> OrderInfo | None:
    account = who.record.account_id
    if isinstance(ref, str):
        return front.venue.live_order(account, ref.lower()) if wire.is_cloid(ref) else None
    return front.venue.live_order(account, None, ref)


def cancel(front: FrontState, who: Signer, asset: int, ref: int | str, now_ns: int) -> Any:
    """One cancel (by oid or cloid): "success", or its refusal."""
    coin = front.coins.by_asset.get(asset)
    info = _live(front, who, ref)
    if coin is None or info is None or info.market != coin.market:
        return {"error": errors.text_of(RejectCode.UNKNOWN_ORDER)}
    out = front.venue.cancel(who.record, info.order_id, now_ns=now_ns)
    if not out.ok:
        return {"error": errors.text_of(out.code, out.reason)}
    return "success"


def modify(front: FrontState, who: Signer, ref: int | str, o: wire.OrderWire, now_ns: int) -> dict[str, Any]:
    """Change a resting order's price and size in place (the venue's amend: it keeps its oid).
    `s` is the new open size, what is left to fill; side, time in force and reduce-only stay."""
    info = _live(front, who, ref)
    if info is None:
        return {"error": "Cannot modify canceled or filled order"}
    coin = front.coins.by_asset.get(o.a)
    checked = _check(coin, o)
    if isinstance(checked, dict):
        return checked
    assert coin is not None
    otype, _ = checked
    if coin.market != info.market or (Side.BUY if o.b else Side.SELL) is not info.side:
        return {"error": "Modify cannot change the order's asset or side."}
    if otype is not info.order_type or o.r != info.reduce_only:
        return {"error": "Modify cannot change the order's time in force or reduce-only flag here."}
    g = coin.inst.grid
    try:
        ticks, open_lots = g.price_to_ticks(o.p), g.qty_to_lots(o.s)
    except ValueError:
        return {"error": errors.TICK_TEXT}
    total = info.filled + open_lots
    if ticks == info.price and total == info.qty:  # nothing to change: as it rests
        return _status(coin, info)
    out = front.venue.amend(who.record, info.order_id, price=o.p, qty=g.lots_to_qty(total), now_ns=now_ns)
    if not out.ok:
        return _error(front, coin, out)
    return _status(coin, info)


def schedule_cancel(front: FrontState, who: Signer, time_ms: int | None, now_ns: int) -> dict[str, Any]:
    """The dead man's switch: at `time_ms` every open order of the account is cancelled (status
    scheduledCancel); no time unsets it. At least 5 s ahead; 10 triggers per UTC day; the
    venue's `schedule_cancel_min_volume` of traded notional first, as Hyperliquid asks."""
    account = who.record.account_id
    if time_ms is None:
        front.schedules.pop(account, None)
        return OK_DEFAULT
    now_ms = now_ns // 1_000_000
    if time_ms < now_ms + SCHEDULE_MIN_MS:
        return err("Scheduled cancel time too early, must be at least 5 seconds after current time.")
    need, traded = front.schedule_min_volume, front.budget.volume(account)
    if traded < need:
        return err(
            f"Cannot set scheduled cancel time until enough volume traded. Required: ${need}. Traded: ${traded}."
        )
    if front.triggers_today(account, now_ms) >= SCHEDULE_TRIGGERS_PER_DAY:
        return err(f"Scheduled cancel triggered {SCHEDULE_TRIGGERS_PER_DAY} times today: no more until 00:00 UTC.")
    front.arm_schedule(who.record, time_ms)
    return OK_DEFAULT
