"""Performance benchmarks for Casebook: pack install throughput and library search latency.

Not part of the test run. See ``benchmarks/README.md``; run with
``.venv/bin/python -m benchmarks.run`` from the repository root.
"""
