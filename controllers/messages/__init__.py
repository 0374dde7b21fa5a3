"""Messages: delivery of what `send` and `report` queued, open work, stalls and approvals."""
