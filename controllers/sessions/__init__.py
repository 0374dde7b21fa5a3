"""Provider sessions: capture each agent's conversation id and resume it, and first-run dialogs."""
