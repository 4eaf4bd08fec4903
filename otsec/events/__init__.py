"""The shared vocabulary of otsec's stages: anomaly names and event records."""
