"""Figure modules. `python -m bench.run` imports every module here (names starting with an
underscore excepted) and calls its `measure() -> list[bench.figure.Figure]`.

A module measures one thing, may take a while, and must not reach the network except a package
registry it needs to build something; when it cannot measure, it returns figures with an
`error` (or raises `bench.figure.BenchError` with a message the reader can act on).
"""
