"""Reading a document: its tab, the find bar, the contents panel and the two views."""
