"""Multi-tenancy: workspaces, memberships and roles, the request's tenant, and the isolation layer."""
