"""What buyers' and facilities' own people see: the buyer portal and the facility portal."""
