"""Tests of the web layer: pages, shell, translations."""
