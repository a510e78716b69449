"""The community site: comment threads, sign-in, sync."""
