"""Orders (受注), their deliveries, monthly amounts and the buyer's forecasts."""
