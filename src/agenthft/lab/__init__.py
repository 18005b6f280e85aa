"""Shells that measure the core: the detectors scored against the simulator's labels
(`signal_eval`) and run over real captures (`signal_scan`). They run simulations, read files and
time themselves, so they live here, not in the core's `signals` package."""
