"""The leader: which pane is the person's lead conversation, its identity, records and API
errors.
"""
