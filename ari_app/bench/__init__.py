"""``scripts/bench``: the Stasis path against a pure-dialplan app_queue path, on one machine, in one run.

The pure parts (percentiles, the ramp's decision, SIPp output parsing, CPU arithmetic) are in
``stats``, ``parse`` and ``cpu``; the sandbox and the SIPp processes in ``stack`` and ``load``;
the ramp in ``run``; JSON, table and plot in ``output``.
"""
