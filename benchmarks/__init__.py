"""Performance benchmarks for Casebook: pack install throughput and library search latency
(``benchmarks.run``), and the window's start-up, PDF opening, page drawing and memory
(``benchmarks.gui``).

Not part of the test run. See ``benchmarks/README.md``; run with
``.venv/bin/python -m benchmarks.run`` or ``.venv/bin/python -m benchmarks.gui`` from the
repository root.
"""
