"""Detection: baseline deviations, policy (authorization, dangerous commands, zones) and
reconnaissance, turned into aggregated alerts."""
