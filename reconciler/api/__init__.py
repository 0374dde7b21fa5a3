"""Pure data every layer shares: the spec and status models, conditions, actions, ids,
errors, time.
"""
