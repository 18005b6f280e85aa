"""Market side: readers of recorded captures (feeds/); simulated participants arrive later."""
