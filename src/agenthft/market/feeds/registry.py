"""One registry of capture formats: how each is detected (from content), how its files are
grouped (chained markets, companion files paired by content), verified (`agenthft replay`) and
read as rows (`load_events`: backtest, sweep, venue replay). `docs/feeds.md`'s format table is
generated from it (`formats_table`) and kept in sync by a test.

A *companion* format is never read alone: it is grouped with files of its main format
(cryptofeed's HTTP captures with the WebSocket capture they pair with, a LOBSTER book file
with its message file), wherever it is named; a main file brings its companions from beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from agenthft.market.events import CaptureFormatError, Events
from agenthft.market.feeds import files as fio
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.rowcheck import verify_rows
from agenthft.model import Instrument


class ReadOptions(msgspec.Struct, frozen=True):
    """What the caller says about the data: instruments (an instrument file) and the unit of the
    local timestamps where the data cannot tell (`--ts-unit`)."""

    instruments: dict[str, Instrument] | None = None
    ts_unit: str | None = None


class Head:
    """The first bytes and lines of a file, decompressed (gzip or zstd, by content)."""

    __slots__ = ("compression", "lines", "magic", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.compression = fio.compression(path)
        with fio.open_bytes(path) as f:
            self.magic = f.read(4)
        self.lines = fio.head_lines(path, 8) if self.magic[:3] != b"DBN" and self.magic != b"PAR1" else []

    @property
    def first(self) -> bytes:
        for line in self.lines:
            if line.strip() and not line.startswith(b"configuration:"):
                return line
        return b""


Group = Callable[[list[Path], list[Path], ReadOptions], list[list[Path]]]


def one_each(mains: list[Path], companions: list[Path], opts: ReadOptions) -> list[list[Path]]:
    return [[p] for p in mains]


@dataclass(frozen=True)
class CaptureFormat:
    """A capture format. `events` None: verified by `agenthft replay`, not read as rows."""

    name: str
    detect: Callable[[Head], bool]
    verify: Callable[[list[Path], ReadOptions], list[ReplayReport]] | None
    events: Callable[[list[Path], ReadOptions], Events] | None
    group: Group = one_each
    companion_of: str | None = None
    # for the docs table
    input: str = ""
    detected_by: str = ""
    timestamps: str = ""
    contracts: str = ""
    verified: str = ""
    inferred: str = ""
    aliases: tuple[str, ...] = field(default=())


# --- detection -------------------------------------------------------------------------------


def _agenthft(h: Head) -> bool:
    if h.magic != b"PAR1":
        return False
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(h.path).metadata or {}
    except (OSError, ValueError):
        return False
    return b"agenthft.events" in meta


def _ws_url(h: Head, *hosts: bytes) -> bool:
    first = h.first
    if not first.startswith((b"wss://", b"ws://")):
        return False
    url = first.split(b" ", 1)[0].lower()
    return any(x in url for x in hosts)


def _stamped_json(h: Head) -> bool:
    first = h.first
    sp = first.find(b" ")
    return sp > 0 and _number(first[:sp]) and first[sp + 1 :].lstrip().startswith(b"{")


def _number(b: bytes) -> bool:
    try:
        float(b)
    except ValueError:
        return False
    return True


def _binance(h: Head) -> bool:
    body = b"".join(h.lines)
    return _stamped_json(h) and (b'"stream"' in body or b'"lastUpdateId"' in body)


def _hyperliquid(h: Head) -> bool:
    body = b"".join(h.lines)
    channels = (b'"l2Book"', b'"trades"', b'"activeAssetCtx"')
    first = h.first.lstrip()
    return (
        (_stamped_json(h) or first.startswith(b'{"channel"'))
        and b'"channel"' in body
        and any(c in body for c in channels)
    )


def _tardis(h: Head) -> bool:
    return h.first.startswith(b"exchange,symbol,timestamp,local_timestamp")


def _lobster(h: Head) -> bool:
    from agenthft.market.feeds import lobster

    return lobster.is_message_head([h.first]) if h.first else False


def _lobster_book(h: Head) -> bool:
    from agenthft.market.feeds import lobster

    return lobster.is_book_head([h.first]) if h.first else False


def _cf_binance_ws(h: Head) -> bool:
    from agenthft.market.feeds import cryptofeed_binance

    return cryptofeed_binance.is_ws_head(h.lines)


def _cf_binance_http(h: Head) -> bool:
    from agenthft.market.feeds import cryptofeed_binance

    return cryptofeed_binance.is_http_head(h.lines)


# --- per format: verify and events --------------------------------------------------------------


def _binance_group(mains: list[Path], companions: list[Path], opts: ReadOptions) -> list[list[Path]]:
    from agenthft.market.feeds import binance

    return binance.chain_files(mains, opts.ts_unit)


def _binance_verify(files: list[Path], opts: ReadOptions) -> list[ReplayReport]:
    from agenthft.market.feeds import binance

    return [binance.verify(files, instruments=opts.instruments, ts_unit=opts.ts_unit)]


def _binance_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import binance

    return binance.events(files, opts.instruments, opts.ts_unit)


def _cf_group(mains: list[Path], companions: list[Path], opts: ReadOptions) -> list[list[Path]]:
    from agenthft.market.feeds import cryptofeed_binance

    return cryptofeed_binance.group(mains, companions, opts.ts_unit)


def _cf_verify(files: list[Path], opts: ReadOptions) -> list[ReplayReport]:
    from agenthft.market.feeds import cryptofeed_binance

    return cryptofeed_binance.verify(files, opts.instruments, opts.ts_unit)


def _cf_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import cryptofeed_binance

    return cryptofeed_binance.events(files, opts.instruments, opts.ts_unit)


def _okx_verify(files: list[Path], opts: ReadOptions) -> list[ReplayReport]:
    from agenthft.market.feeds import okx

    return [okx.verify(p, opts.instruments, ts_unit=opts.ts_unit) for p in files]


def _okx_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import okx

    return okx.events(files, opts.instruments, opts.ts_unit)


def _kraken_verify(files: list[Path], opts: ReadOptions) -> list[ReplayReport]:
    from agenthft.market.feeds import kraken

    return [kraken.verify(p, ts_unit=opts.ts_unit) for p in files]


def _kraken_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import kraken

    return kraken.events(files, opts.instruments, opts.ts_unit)


def _lobster_group(mains: list[Path], companions: list[Path], opts: ReadOptions) -> list[list[Path]]:
    from agenthft.market.feeds import lobster

    return lobster.group(mains, companions)


def _lobster_verify(files: list[Path], opts: ReadOptions) -> list[ReplayReport]:
    from agenthft.market.feeds import lobster

    message, *book = files
    if not book:
        raise CaptureFormatError(
            f"{message}: a LOBSTER message file with no orderbook file beside it that agrees with it: nothing to "
            "verify the book against (name its orderbook file)"
        )
    return [lobster.verify(message, book[0]), lobster.verify_engine(message, book[0])]


def _lobster_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import lobster

    return lobster.events(files, opts.instruments, opts.ts_unit)


def _rows_verify(fmt: str) -> Callable[[list[Path], ReadOptions], list[ReplayReport]]:
    def verify(files: list[Path], opts: ReadOptions) -> list[ReplayReport]:
        started = time.perf_counter()
        return [verify_rows(fmt, files, read_group(fmt, files, opts), started)]

    return verify


def _tardis_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import tardis

    return tardis.events(files, opts.instruments, opts.ts_unit)


def _databento_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import databento

    return databento.events(files, opts.instruments, opts.ts_unit)


def _hyperliquid_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import hyperliquid

    return hyperliquid.events(files, opts.instruments, opts.ts_unit)


def _recorded_events(files: list[Path], opts: ReadOptions) -> Events:
    from agenthft.market.feeds import recorded

    return recorded.events(files, opts.instruments)


CONTRACT_NOTE = "instrument file (`--instrument`) overrides"

REGISTRY: tuple[CaptureFormat, ...] = (
    CaptureFormat(
        "databento",
        lambda h: h.magic[:3] == b"DBN",
        _rows_verify("databento"),
        _databento_events,
        input="Databento DBN, plain or zstd (`.dbn.zst`): MBO, MBP-1, MBP-10, TBBO, trades",
        detected_by="`DBN` magic after decompression",
        timestamps="ns (`ts_recv`, by the format)",
        contracts="linear, 1 per lot (the multiplier is not in these schemas); " + CONTRACT_NOTE,
        verified="book never crossed after a message (crossing counted, not failed: auctions); per instrument, "
        "`sequence` never goes back outside F_SNAPSHOT records (skips counted: the channel's sequence is shared)",
        inferred="tick and lot: the largest steps every price and size share",
    ),
    CaptureFormat(
        "agenthft",
        _agenthft,
        _rows_verify("agenthft"),
        _recorded_events,
        input="`agenthft record` Parquet",
        detected_by="Parquet with `agenthft.events` metadata",
        timestamps="ns (our rows)",
        contracts="as recorded (the venue's instruments)",
        verified="book never crossed after a message",
        inferred="nothing: already normalised rows",
    ),
    CaptureFormat(
        "tardis",
        _tardis,
        _rows_verify("tardis"),
        _tardis_events,
        input="Tardis.dev CSV (gzip or not): `incremental_book_L2`, `book_snapshot_N`, `trades`",
        detected_by="header `exchange,symbol,timestamp,local_timestamp`",
        timestamps="µs (Tardis's format; checked by magnitude)",
        contracts="linear, 1 per lot (not in the CSV); " + CONTRACT_NOTE,
        verified="book never crossed after a message",
        inferred="tick and lot: the largest steps every price and amount in the file share",
    ),
    CaptureFormat(
        "okx",
        lambda h: _ws_url(h, b"okx", b"okex"),
        _okx_verify,
        _okx_events,
        input="cryptofeed raw capture, OKX v5 `books` + `trades`",
        detected_by="first line opens a `wss://` OKX URL",
        timestamps="float seconds (cryptofeed's; checked by magnitude)",
        contracts="from the id: `-USD-SWAP`/`-USD-<date>` inverse, 100 USD (BTC) / 10 USD per contract (OKX); "
        "other swaps linear, contract value assumed 1 (stated); spot; " + CONTRACT_NOTE,
        verified="CRC32 checksum of the top 25 levels, every message",
        inferred="tick and lot: the largest steps every book and trade value shares (whole file)",
    ),
    CaptureFormat(
        "kraken",
        lambda h: _ws_url(h, b"kraken"),
        _kraken_verify,
        _kraken_events,
        input="cryptofeed raw capture, Kraken WS v1 `book` + `trade`",
        detected_by="first line opens a `wss://` Kraken URL",
        timestamps="float seconds (cryptofeed's; checked by magnitude)",
        contracts="spot",
        verified="CRC32 checksum of the top 10 levels (book trimmed to the subscribed depth)",
        inferred="rows: tick and lot from every price and volume of the pair in the file; the checksum: the "
        "precision Kraken prints",
    ),
    CaptureFormat(
        "cryptofeed-binance",
        _cf_binance_ws,
        _cf_verify,
        _cf_events,
        _cf_group,
        input="cryptofeed raw capture of Binance (`EXCHANGE.ws.C.N`, many symbols on one connection)",
        detected_by='first line opens a Binance `wss://` URL (or a rotated part: `<ts>: {"stream"...}`)',
        timestamps="float seconds (cryptofeed's; checked by magnitude)",
        contracts="as `binance`, per symbol",
        verified="per symbol, bookTicker `u` = rebuilt top",
        inferred="as `binance`; REST snapshots from the HTTP captures paired by content",
    ),
    CaptureFormat(
        "cryptofeed-binance-http",
        _cf_binance_http,
        None,
        None,
        companion_of="cryptofeed-binance",
        input="cryptofeed's HTTP capture beside it (`EXCHANGE.http.C.N`): the REST depth snapshots",
        detected_by="`<https url> -> <ts>: <body>` lines of a Binance host",
        timestamps="float seconds (cryptofeed's; checked by magnitude)",
        contracts="-",
        verified="read with the WebSocket capture it pairs with (same market, symbols, times)",
        inferred="which WebSocket capture it belongs to, by content",
    ),
    CaptureFormat(
        "binance",
        _binance,
        _binance_verify,
        _binance_events,
        _binance_group,
        input="hftbacktest collector: `<local time> <combined-stream JSON>` (gzip, zstd or plain)",
        detected_by="`<number> {json}` lines with `stream` / `lastUpdateId`",
        timestamps="per file: s/ms/µs/ns by magnitude and the messages' `E` (ns in the current collector, "
        "µs in its older format)",
        contracts="spot; USD-M linear; a futures pair quoted in USD is COIN-M inverse, 100 USD (BTC) / 10 USD per "
        "contract (Binance's rule), settled in the base; " + CONTRACT_NOTE,
        verified="bookTicker with the same `u` as an applied depth update = rebuilt top",
        inferred="symbol, spot/futures sequencing (`pu`), contract (`ps`); tick and lot from every price and size "
        "in every file of the market; funding from `@markPrice`",
    ),
    CaptureFormat(
        "hyperliquid",
        _hyperliquid,
        _rows_verify("hyperliquid"),
        _hyperliquid_events,
        input="Hyperliquid WebSocket `l2Book`, `trades`, `activeAssetCtx` lines, optionally `<local time> ` first",
        detected_by='`{"channel": "l2Book"|"trades"|"activeAssetCtx"` lines',
        timestamps="the prefix: s/ms/µs/ns by magnitude and the messages' `time`; none: the exchange's ms",
        contracts="linear perps, 1 per lot; " + CONTRACT_NOTE,
        verified="book never crossed after a message",
        inferred="tick and lot from every price and size; funding from `activeAssetCtx` (hourly) when present",
    ),
    CaptureFormat(
        "lobster",
        _lobster,
        _lobster_verify,
        _lobster_events,
        _lobster_group,
        input="LOBSTER message CSV (+ its orderbook CSV, paired by content)",
        detected_by="6 numeric columns",
        timestamps="seconds after midnight (the format's; no date in the data)",
        contracts="shares (equities)",
        verified="every 10-level book row, and price-time priority through the matching engine",
        inferred="tick and lot from every price and size; market named from the file name (no symbol in the data)",
    ),
    CaptureFormat(
        "lobster-book",
        _lobster_book,
        None,
        None,
        companion_of="lobster",
        input="LOBSTER orderbook CSV",
        detected_by="4 x levels integer columns",
        timestamps="-",
        contracts="-",
        verified="read with the message file it pairs with (row count, adds shown in the rows)",
        inferred="which message file it belongs to, by content",
    ),
)

FORMATS: dict[str, CaptureFormat] = {f.name: f for f in REGISTRY}
#: formats a user may name (`--venue-format`): every main format
MAIN_FORMATS = tuple(f.name for f in REGISTRY if f.companion_of is None)
ROW_FORMATS = tuple(f.name for f in REGISTRY if f.events is not None)


def detect_format(path: str | Path) -> str:
    """The capture format of `path`, from its content (never its name)."""
    p = Path(path)
    try:
        head = Head(p)
    except (OSError, EOFError) as e:
        raise CaptureFormatError(f"{p}: cannot read it ({e})") from None
    except Exception as e:  # a damaged zstd frame raises zstandard's own error
        raise CaptureFormatError(f"{p}: cannot decompress it ({e})") from None
    if not head.magic:
        if head.compression:
            raise CaptureFormatError(f"{p}: {head.compression}-compressed, but it decompresses to nothing (damaged?)")
        raise CaptureFormatError(f"{p}: the file is empty")
    for fmt in REGISTRY:
        if fmt.detect(head):
            return fmt.name
    raise CaptureFormatError(_why_not(head))


def _why_not(h: Head) -> str:
    p = h.path
    if h.compression == "zstd" and not h.lines:
        return f"{p}: zstd-compressed, but neither a DBN file nor text lines"
    if h.magic == b"PAR1":
        return f"{p}: a Parquet file, but not an `agenthft record` recording (no row metadata)"
    first = h.first
    if first.startswith((b"wss://", b"ws://")):
        url = first.split(b" ", 1)[0].decode(errors="replace")
        return (
            f"{p}: a cryptofeed capture of {url}, which has no reader (readers: okx, kraken, binance cryptofeed "
            "captures)"
        )
    if first.startswith((b"http://", b"https://")):
        url = first.split(b" ", 1)[0].decode(errors="replace")
        return f"{p}: a cryptofeed HTTP capture of {url}, which has no reader (Binance REST snapshots are read)"
    if _stamped_json(h):
        return f"{p}: '<timestamp> <json>' lines, but not Binance combined streams ('stream' / 'lastUpdateId')"
    return (
        f"{p}: not a capture this version reads; expected hftbacktest Binance '<ns> <json>' lines (gzip or not), "
        "a cryptofeed OKX, Kraken or Binance raw capture, a LOBSTER message CSV, a Tardis.dev CSV, a Databento DBN "
        "file, Hyperliquid l2Book/trades JSON lines or an `agenthft record` Parquet file"
    )


def groups(
    paths: Sequence[str | Path], opts: ReadOptions | None = None, fmt: str | None = None
) -> list[tuple[str, list[Path]]]:
    """(format, files) to read together, by content: each file's format detected (or `fmt` for
    every main file), companions grouped with the files they pair with, Binance files chained
    per market."""
    opts = opts or ReadOptions()
    if fmt is not None and fmt not in MAIN_FORMATS:
        raise CaptureFormatError(f"unknown venue format {fmt!r}; one of {', '.join(MAIN_FORMATS)}")
    mains: dict[str, list[Path]] = {}
    companions: dict[str, list[Path]] = {}
    unique: dict[Path, Path] = {}  # one file named twice (or as a relative and a resolved path) is read once
    for p in map(Path, paths):
        unique.setdefault(p.resolve(), p)
    for p in unique.values():
        found = detect_format(p)
        owner = FORMATS[found].companion_of
        if owner is not None:
            companions.setdefault(owner, []).append(p)
            mains.setdefault(owner, [])
        else:
            mains.setdefault(fmt or found, []).append(p)
    out: list[tuple[str, list[Path]]] = []
    for name, files in mains.items():
        out += [(name, g) for g in FORMATS[name].group(files, companions.get(name, []), opts)]
    return out


def verify_group(fmt: str, files: list[Path], opts: ReadOptions) -> list[ReplayReport]:
    verify = FORMATS[fmt].verify
    if verify is None:
        raise CaptureFormatError(f"{files[0]}: {fmt} files are read only beside their main files")
    return verify(files, opts)


def read_group(fmt: str, files: list[Path], opts: ReadOptions) -> Events:
    reader = FORMATS[fmt].events
    if reader is None:
        raise CaptureFormatError(
            f"{files[0]}: {fmt} captures are verified by `agenthft replay` but not decoded to rows "
            f"(row readers: {', '.join(ROW_FORMATS)})"
        )
    return reader(files, opts)


def formats_table() -> str:
    """The docs table of every format (docs/feeds.md), from the registry."""
    cols = ("format", "input", "detected by", "local timestamps", "contracts", "verified", "inferred")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for f in REGISTRY:
        name = f"`{f.name}`" + (f" (with `{f.companion_of}`)" if f.companion_of else "")
        row = (name, f.input, f.detected_by, f.timestamps, f.contracts, f.verified, f.inferred)
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in row) + " |")
    return "\n".join(lines) + "\n"
