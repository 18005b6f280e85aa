"""The venue's outcomes, records and events in Binance's JSON shapes (protocol/binance_usdm/wire)."""

from __future__ import annotations

from decimal import Decimal, localcontext

from agenthft.matching import BookDelta, Cancelled, Fill, Trade
from agenthft.model import Instrument, InstrumentKind, Liquidity, OrderStatus, OrderType, Side
from agenthft.model.money import CASH_DECIMALS
from agenthft.protocol.binance_usdm import wire
from agenthft.protocol.binance_usdm.filters import binance_symbol
from agenthft.venue.outcome import AccountEvent, OrderInfo

CASH = Decimal(10) ** -CASH_DECIMALS


def _fixed(units: int, decimals: int) -> str:
    """units x 10**-decimals as text with exactly `decimals` places."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    s = str(abs(units)).rjust(decimals + 1, "0")
    return f"{sign}{s[:-decimals]}.{s[-decimals:]}"


def cash_text(units: int, places: int = 8) -> str:
    """Cash units (10**-12) as text with `places` decimals (rounded half even)."""
    return f"{(Decimal(units) * CASH):.{places}f}"


class Symbol:
    """One market as the Binance front names and formats it."""

    __slots__ = ("inst", "lot_dec", "lot_units", "lower", "market", "mult", "name", "tick_dec", "tick_units")

    def __init__(self, inst: Instrument) -> None:
        g = inst.grid
        self.inst = inst
        self.market = inst.market
        self.name = binance_symbol(inst)
        self.lower = self.name.lower()
        self.tick_dec, self.tick_units = g.tick_decimals, g.tick_units
        self.lot_dec, self.lot_units = g.lot_decimals, g.lot_units
        self.mult = Decimal(inst.contract_size)

    def px(self, ticks: int) -> str:
        return _fixed(ticks * self.tick_units, self.tick_dec)

    def qty(self, lots: int) -> str:
        return _fixed(lots * self.lot_units, self.lot_dec)

    def avg(self, value: int, lots: int) -> str:
        """Average price of fills worth `value` ticks x lots over `lots`, 5 decimals past the tick."""
        if not lots:
            return _fixed(0, self.tick_dec)
        with localcontext() as ctx:
            ctx.prec = 50
            price = Decimal(value * self.tick_units) / lots * Decimal(10) ** -self.tick_dec
            return f"{price:.{self.tick_dec + 5}f}"

    def quote(self, value: int) -> str:
        """ticks x lots as quote currency (price x quantity x contract size)."""
        with localcontext() as ctx:
            ctx.prec = 50
            q = Decimal(value * self.tick_units * self.lot_units) * Decimal(10) ** -(self.tick_dec + self.lot_dec)
            return f"{q * self.mult:.{self.tick_dec + self.lot_dec}f}"

    def levels(self, levels: list[tuple[int, int]]) -> list[tuple[str, str]]:
        px, qty = self.px, self.qty
        return [(px(p), qty(q)) for p, q in levels]


def usdm_symbols(instruments: list[Instrument]) -> dict[str, Symbol]:
    """The markets a USDⓈ-M front lists (linear perpetuals), by venue market name."""
    out = {}
    for inst in instruments:
        if inst.kind is InstrumentKind.PERP and not inst.inverse:
            out[inst.market] = Symbol(inst)
    return out


def status(info: OrderInfo) -> str:
    if info.status is OrderStatus.CANCELLED:
        return "EXPIRED" if info.expired else "CANCELED"
    if info.status is OrderStatus.OPEN:
        return "NEW"
    return info.status.value.upper()


def order_type(info: OrderInfo) -> str:
    return "MARKET" if info.order_type is OrderType.MARKET else "LIMIT"


def time_in_force(info: OrderInfo) -> str:
    t = info.order_type
    if info.fok:
        return "FOK"
    if t is OrderType.IOC:
        return "IOC"
    if t is OrderType.POST_ONLY:
        return "GTX"
    return "GTC"


def order(info: OrderInfo, sym: Symbol, *, query: bool = False) -> wire.Order:
    """The order's REST / WebSocket API shape. Queries carry `time`, order entry `cumQty`."""
    executed = sym.qty(info.filled)
    otype = order_type(info)
    return wire.Order(
        orderId=info.oid,
        symbol=sym.name,
        status=status(info),
        clientOrderId=info.order_id,
        price="0" if info.order_type is OrderType.MARKET else sym.px(info.price),
        avgPrice=sym.avg(info.filled_value, info.filled),
        origQty=sym.qty(info.qty),
        executedQty=executed,
        cumQuote=sym.quote(info.filled_value),
        timeInForce=time_in_force(info),
        type=otype,
        reduceOnly=info.reduce_only,
        closePosition=False,
        side=info.side.value.upper(),
        positionSide="BOTH",
        stopPrice="0",
        workingType="CONTRACT_PRICE",
        priceProtect=False,
        origType=otype,
        priceMatch="NONE",
        selfTradePreventionMode="NONE",
        goodTillDate=0,
        updateTime=info.updated_ns // 1_000_000,
        cumQty=None if query else executed,
        time=info.ts_ns // 1_000_000 if query else None,
    )


_EXEC = {"Accepted": "NEW", "Fill": "TRADE", "Amended": "AMENDMENT"}
_EXPIRY_REASON = {"ioc": "2", "fok": "2", "market": "9", "self_trade": "1"}


def order_update(ev: AccountEvent, info: OrderInfo, sym: Symbol, now_ms: int) -> wire.OrderTradeUpdate:
    """ORDER_TRADE_UPDATE for one of the order's events (NEW, TRADE, CANCELED, EXPIRED,
    AMENDMENT), with the order's state right after it."""
    fill = ev if isinstance(ev, Fill) else None
    x = status(info) if isinstance(ev, Cancelled) else _EXEC[type(ev).__name__]
    st = status(info)  # the record as it is right after this event (observers run in order)
    filled, value = info.filled, info.filled_value
    otype = order_type(info)
    o = wire.OrderUpdate(
        s=sym.name,
        c=info.order_id,
        S=info.side.value.upper(),
        o=otype,
        f=time_in_force(info),
        q=sym.qty(info.qty),
        p="0" if info.order_type is OrderType.MARKET else sym.px(info.price),
        ap=sym.avg(value, filled),
        sp="0",
        x=x,
        X=st,
        i=info.oid,
        l=sym.qty(fill.qty) if fill else "0",
        z=sym.qty(filled),
        L=sym.px(fill.price) if fill else "0",
        T=ev.ts_ns // 1_000_000,
        t=fill.trade_id if fill else 0,
        b="0",
        a="0",
        m=fill.liquidity is Liquidity.MAKER if fill else False,
        R=info.reduce_only,
        wt="CONTRACT_PRICE",
        ot=otype,
        ps="BOTH",
        cp=False,
        rp="0",
        pP=False,
        si=0,
        ss=0,
        V="NONE",
        pm="NONE",
        gtd=0,
        er=_EXPIRY_REASON.get(info.reason, "0") if x == "EXPIRED" else "0",
        N=sym.inst.settle_asset if fill else None,
        n=cash_text(fill.fee) if fill else None,
    )
    return wire.OrderTradeUpdate(E=now_ms, T=ev.ts_ns // 1_000_000, o=o)


def depth_update(ev: BookDelta, sym: Symbol, now_ms: int) -> wire.DepthUpdate:
    """A diff depth event: one book delta, `U` = `u` = its book sequence, `pu` the one before."""
    t = ev.ts_ns // 1_000_000
    return wire.DepthUpdate(
        now_ms, t, sym.name, ev.book_seq, ev.book_seq, ev.book_seq - 1, sym.levels(ev.bids), sym.levels(ev.asks)
    )


def trade(ev: Trade, sym: Symbol, now_ms: int) -> wire.TradeEvent:
    return wire.TradeEvent(
        now_ms,
        ev.ts_ns // 1_000_000,
        sym.name,
        ev.trade_id,
        sym.px(ev.price),
        sym.qty(ev.qty),
        "MARKET",
        ev.side is Side.SELL,
    )


def agg_trade(ev: Trade, sym: Symbol, now_ms: int) -> wire.AggTrade:
    q = sym.qty(ev.qty)
    t = ev.trade_id
    return wire.AggTrade(now_ms, sym.name, t, sym.px(ev.price), q, q, t, t, ev.ts_ns // 1_000_000, ev.side is Side.SELL)
