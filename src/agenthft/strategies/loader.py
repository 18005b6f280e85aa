"""Find a strategy by name, `module:Class` or `file.py:Class`, and build it from typed parameters.

A strategy declares its parameters as a msgspec Struct (or a dataclass) in its `Params` class
attribute: names, types, defaults and, through `Annotated[..., msgspec.Meta(description=...)]`,
their documentation. `--param k=v` strings and `--params FILE.toml` values are converted to those
types (msgspec, non-strict: "3" becomes 3), unknown or missing names are errors naming the
parameter, and `Strategy.from_params` builds the instance. The shipped strategies use the same
mechanism, so `agenthft strategies` lists theirs and a user's the same way.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_type_hints

import msgspec

from agenthft.strategies.base import Strategy
from agenthft.strategies.bbo_quoter import BboQuoter
from agenthft.strategies.latency_arb import LatencyArb
from agenthft.strategies.market_maker import MarketMaker
from agenthft.strategies.nbbo_arb import NbboArb
from agenthft.strategies.quoter import Quoter

#: Shipped strategies, by the name `agenthft run NAME` takes.
BUILTIN: dict[str, type[Strategy]] = {
    "quoter": Quoter,
    "latency-arb": LatencyArb,
    "bbo-quoter": BboQuoter,
    "nbbo-arb": NbboArb,
    "market-maker": MarketMaker,
}


class StrategyError(ValueError):
    """A strategy that cannot be found or parameters that do not fit it: a one-line message."""


def load_class(spec: str) -> type[Strategy]:
    """`quoter`, `package.module:Class` or `path/to/file.py:Class` -> the Strategy subclass."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    if ":" not in spec:
        raise StrategyError(f"unknown strategy {spec!r}: use one of {sorted(BUILTIN)}, MODULE:CLASS or FILE.py:CLASS")
    where, _, name = spec.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise StrategyError(f"no strategy file {where!r}")
        mod_name = f"agenthft_user_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise StrategyError(f"cannot import {where!r} as Python")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as e:
            raise StrategyError(f"importing {where} failed: {type(e).__name__}: {e}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise StrategyError(f"cannot import module {where!r}: {e}") from None
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise StrategyError(f"{where} has no Strategy subclass named {name!r}")
    return cls


def parse_param_args(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise StrategyError(f"--param takes NAME=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def read_params_file(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise StrategyError(f"no params file {path!r}") from None
    except tomllib.TOMLDecodeError as e:
        raise StrategyError(f"params file {path}: {e}") from None


def build(cls: type[Strategy], values: dict[str, Any]) -> Strategy:
    """Instantiate `cls` from `values` (strings from the command line or TOML values)."""
    params_type = getattr(cls, "Params", None)
    if params_type is None:
        if values:
            raise StrategyError(f"{cls.__name__} takes no parameters (it declares no Params), got {sorted(values)}")
        return cls()
    known = {p.name for p in describe(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise StrategyError(f"{cls.__name__} has no parameter {unknown[0]!r}; it takes {sorted(known)}")
    lists = {name for name, t in get_type_hints(params_type).items() if _is_list(t)}
    values = {k: _split(v) if k in lists and isinstance(v, str) else v for k, v in values.items()}
    try:
        params = msgspec.convert(values, params_type, strict=False)
    except msgspec.ValidationError as e:
        raise StrategyError(f"{cls.__name__} parameters: {e}") from None
    try:
        strategy = cls.from_params(params)
    except (ValueError, TypeError) as e:
        raise StrategyError(f"{cls.__name__}: {e}") from None
    # what it was built from: the control plane rebuilds it with some of them changed
    strategy._control_params = msgspec.to_builtins(params)  # type: ignore[attr-defined]
    return strategy


def _is_list(t: Any) -> bool:
    return getattr(t, "__origin__", t) in (list, tuple)


def _split(text: str) -> list[str]:
    """A list parameter from the command line: `a,b` (or JSON, `["a", "b"]`)."""
    if text.lstrip().startswith("["):
        try:
            out = msgspec.json.decode(text)
        except msgspec.DecodeError:
            raise StrategyError(f"not a JSON list: {text!r} (or give a,b)") from None
        return out if isinstance(out, list) else [text]
    return [x.strip() for x in text.split(",") if x.strip()]


class ParamInfo(msgspec.Struct, frozen=True):
    name: str
    type: str
    default: str  # "(required)" when there is none
    description: str


def describe(cls: type[Strategy]) -> list[ParamInfo]:
    """The strategy's parameters: name, type, default, description."""
    params_type = getattr(cls, "Params", None)
    if params_type is None:
        return []
    out = []
    if isinstance(params_type, type) and issubclass(params_type, msgspec.Struct):
        info = msgspec.inspect.type_info(params_type)
        assert isinstance(info, msgspec.inspect.StructType)
        for f in info.fields:
            default = (
                "(required)"
                if f.required
                else repr(f.default if f.default is not msgspec.NODEFAULT else f.default_factory())
            )
            out.append(ParamInfo(f.name, _type_name(f.type), default, _description(params_type, f.name)))
    elif dataclasses.is_dataclass(params_type):
        hints = get_type_hints(params_type, include_extras=True)
        for df in dataclasses.fields(params_type):
            if df.default is not dataclasses.MISSING:
                default = repr(df.default)
            elif df.default_factory is not dataclasses.MISSING:
                default = repr(df.default_factory())
            else:
                default = "(required)"
            out.append(ParamInfo(df.name, _hint_name(hints.get(df.name)), default, str(df.metadata.get("doc", ""))))
    return out


def _description(struct: type, name: str) -> str:
    hints = get_type_hints(struct, include_extras=True)
    for meta in getattr(hints.get(name), "__metadata__", ()):
        if isinstance(meta, msgspec.Meta) and meta.description:
            return meta.description
    return ""


def _type_name(t: msgspec.inspect.Type) -> str:
    if isinstance(t, msgspec.inspect.Metadata):  # Annotated[...]: the type under the metadata
        return _type_name(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        return " | ".join(_type_name(x) for x in t.types)
    return type(t).__name__.removesuffix("Type").lower()


def _hint_name(hint: Any) -> str:
    if hint is None:
        return "?"
    base = getattr(hint, "__origin__", hint)
    return getattr(base, "__name__", str(base))
