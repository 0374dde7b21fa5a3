"""The first program in every agent pane, and how team-agent runs its own modules in a child
Python.
"""
