"""The integer scales of money, fees and rates (what one unit of each `int` is)."""

#: Money is held in integer units of 10**-CASH_DECIMALS of its currency.
CASH_DECIMALS = 12
#: Fees are fractions of notional in integer parts per 10**FEE_DECIMALS (1e-8), so 0.0002 -> 20_000.
FEE_DECIMALS = 8
#: Funding rates are fractions of notional in integer parts per 10**RATE_DECIMALS (Binance
#: prints 8 decimals, Hyperliquid up to 10).
RATE_DECIMALS = 12
#: Decimals shown for money in JSON and on screen (a satoshi; finer than any stablecoin's cent).
DISPLAY_DECIMALS = 8
