"""A student's learning record: watch progress and resume, favourites, notes, weekly summary."""
