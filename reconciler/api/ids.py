"""Distinct types for the identifiers that flow through a pass.

A pane id (`%3`), a window id (`@2`) and an agent id (`impl`) are all strings; `NewType`
keeps one from standing in for another in typed code.
"""

from __future__ import annotations

from typing import NewType

AgentId = NewType("AgentId", str)
TeamId = NewType("TeamId", str)
PaneId = NewType("PaneId", str)
WindowId = NewType("WindowId", str)
