"""The render process: a Qt-free child that opens PDFs, draws pages into shared memory and
extracts their text, spoken to over a small binary protocol (the GUI holds only its client)."""
