"""The Notes dock and notes import/export."""
