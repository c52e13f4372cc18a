"""Comparison methods, one module each (``run(cfg, ctx) -> result``).

They are registered in one table, ``gpta.registry.METHODS``, which names each module so that it is
imported only when its method runs.
"""
