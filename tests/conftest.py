"""Shared test settings: hypothesis runs without per-example deadlines (CI machines are shared and noisy)."""

from hypothesis import settings

settings.register_profile("framing-lens", deadline=None)
settings.load_profile("framing-lens")
