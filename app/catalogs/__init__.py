"""Lists a workspace keeps for itself: capabilities, difficulty levels, goals, lost reasons."""
