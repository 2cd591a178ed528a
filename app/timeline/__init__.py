"""The shared timeline of a deal or an order: notes, decisions and changes, who and when."""
