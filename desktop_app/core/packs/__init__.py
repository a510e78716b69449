"""Content packs, format 1: reading, verifying, building and installing them."""
