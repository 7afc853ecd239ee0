"""Developer tools, not part of the running platform: the demo, the synthetic data generator, the benchmark.

Nothing under ``dtks`` outside this package imports from it, except the CLI's
``generate`` and ``demo`` commands, which import it when they run.
"""
