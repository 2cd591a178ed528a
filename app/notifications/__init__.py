"""In-app notifications to a facility or a member, mailed where an address is set."""
