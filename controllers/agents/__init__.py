"""The agents controller: one tmux window per declared agent, restarted with backoff."""
