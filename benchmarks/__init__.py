"""Speed and quality benchmarks: each module is a script with ``main(argv) -> dict`` that prints a
table of figures measured against a baseline in the same run (``--full`` for the real sizes)."""
