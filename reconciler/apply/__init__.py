"""The executor: actions carried out against tmux and processes, with the re-checks before
acting.
"""
