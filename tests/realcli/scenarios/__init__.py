"""Screen-capture scenarios, one module per CLI: `capture(mock) -> [states saved]`."""
