"""Real money needs saying so, keys never come from argv, and a key file must be private."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenthft.cli import main
from agenthft.cli.errors import Exit
from agenthft.connectors.binance_usdm import credentials
from agenthft.connectors.credentials import CredentialError

ROOT = Path(__file__).resolve().parents[3]


def err_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    return err[-1]


def test_mainnet_without_live_is_refused_before_anything_is_sent(capsys, monkeypatch):
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    assert main(["run", "quoter", "--venue", "binance-usdm", "--market", "BTCUSDT"]) == Exit.USAGE
    line = err_line(capsys)
    assert "real money" in line and "--live" in line and "testnet" in line


def test_live_needs_a_risk_file_with_every_money_limit_on(capsys, tmp_path: Path):
    assert main(["run", "quoter", "--venue", "binance-usdm", "--live"]) == Exit.USAGE
    assert "--risk" in err_line(capsys)
    partial = tmp_path / "risk.toml"
    partial.write_text('position_limit = "100"\nmax_order_notional = "50"\ndaily_loss_limit = "20"\n')
    assert main(["run", "quoter", "--venue", "binance-usdm", "--live", "--risk", str(partial)]) == Exit.USAGE
    assert "total_position_limit" in err_line(capsys)


def test_a_key_file_others_can_read_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    f = tmp_path / "keys.toml"
    f.write_text('api_key = "k"\napi_secret = "s"\n')
    f.chmod(0o644)
    with pytest.raises(CredentialError, match="chmod 600"):
        credentials(f)
    f.chmod(0o600)
    key, signer = credentials(f)
    assert key == "k" and signer is not None and "s" not in repr(signer)


def test_credentials_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BINANCE_API_KEY", "k2")
    monkeypatch.setenv("BINANCE_API_SECRET", "s2")
    key, signer = credentials()
    assert key == "k2" and signer is not None and signer.kind == "hmac"
    monkeypatch.delenv("BINANCE_API_SECRET")
    with pytest.raises(CredentialError, match="BINANCE_API_SECRET"):
        credentials()


def test_an_unknown_venue_names_the_ones_that_exist(capsys):
    assert main(["run", "quoter", "--venue", "kraken-futures"]) == Exit.USAGE
    assert "binance-usdm-testnet" in err_line(capsys)


def test_hyperliquid_mainnet_needs_live_and_the_testnet_and_a_local_venue_do_not(capsys, monkeypatch):
    from agenthft.connectors.registry import kind_of

    monkeypatch.delenv("HYPERLIQUID_PRIVATE_KEY", raising=False)
    assert [kind_of(s) for s in ("hyperliquid", "hyperliquid-testnet", "hyperliquid@http://127.0.0.1:1")] == [
        "hyperliquid"
    ] * 3
    assert main(["run", "quoter", "--venue", "hyperliquid", "--market", "BTC"]) == Exit.USAGE
    line = err_line(capsys)
    assert "real money" in line and "--live" in line and "hyperliquid-testnet" in line
    assert main(["run", "quoter", "--venue", "hyperliquid", "--live"]) == Exit.USAGE
    assert "--risk" in err_line(capsys)
