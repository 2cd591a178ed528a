"""Plans, subscription state and Stripe billing of workspaces."""
