"""Multi-tenancy: workspaces, memberships, roles, the request's tenant, the isolation layer."""
