"""The engine's one error: a scenario that validates but cannot be evaluated."""

from __future__ import annotations

from typing import Any


class EngineError(ValueError):
    """A scenario that validates but cannot be evaluated; ``field`` names the culprit."""

    def __init__(self, field: str, value: Any, message: str):
        super().__init__(message)
        self.field, self.value, self.message = field, value, message
