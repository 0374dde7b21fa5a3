"""What lives under `.team/` besides the spec: the message store and how old the status is."""
