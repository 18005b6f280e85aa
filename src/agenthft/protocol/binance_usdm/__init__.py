"""Binance USDⓈ-M futures' wire protocol, shared by the venue's Binance front
(`venue/fronts/binance_usdm/`) and the Binance connector: request signing (`signing`), the
error code table and its map to agenthft's reject codes (`errors`), exchangeInfo filters <->
Instruments (`filters`) and the wire shapes as msgspec Structs (`wire`)."""
