"""Partnership agreements and contracts (連携協定・契約) with their action plans and scope."""
