"""The `team-agent` command line: the group, its shared plumbing, output, and one module per
kind of verb.
"""
