"""Library search across everything installed and the notes."""
