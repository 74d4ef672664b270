"""End-to-end fixtures (see e2e_support)."""

from e2e_support import start_lab

__all__ = ["start_lab"]
