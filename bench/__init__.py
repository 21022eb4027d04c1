"""Performance figures for booksync (`make bench` -> bench/results.json).

Speed and size goals live here rather than in timed tests (design.md, "Tests"): a figure is
measured, compared with its goal and reported; `python -m bench.run --strict` fails when one
misses.
"""
