"""The parts of a simulated venue that the backtest and paper trading share: the L2 exchange
model (queue-ahead fills against an aggregate book, `l2exchange`) and the latency models of the
order, response and feed legs (`latency`)."""
