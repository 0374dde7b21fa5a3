"""Observation: the one tmux call and the one process scan of a pass, and what a pane shows."""
