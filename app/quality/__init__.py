"""Quality: plans, inspections, nonconformances, technical support, manuals, traceability."""
