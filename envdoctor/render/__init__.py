"""Renderers: terminal report (rich) and the JSON envelope."""
