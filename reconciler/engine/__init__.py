"""The loop: one pass (load, observe, plan, apply, report), its triggers, the lock and events."""
