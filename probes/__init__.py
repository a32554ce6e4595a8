"""probes: live measurement of OpenAI-compatible endpoints (see the README's Probes section)."""
