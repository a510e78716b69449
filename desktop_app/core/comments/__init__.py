"""Comments for the community site: the outbox of comments written here, the site's
threads kept for offline reading, and delivery to the site exactly once."""
