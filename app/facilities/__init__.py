"""Participating facilities (事業所): profiles, capabilities, capacity and wages."""
