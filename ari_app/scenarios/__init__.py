"""`hotline scenario`: the SIP scenario catalogue (tests/scenarios/) run against a live hotline.

``model`` says what a scenario is, ``loader`` reads one folder's ``expect.yaml`` (problems with file,
line and field path), ``checker`` compares what was observed with what was expected (pure),
``sipp`` and ``rtp`` are the SIPp peers and the caller's ear, ``runner`` drives one run,
``report`` prints the summary table and writes JUnit XML, ``command`` is the CLI.
"""
