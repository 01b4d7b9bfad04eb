"""Prometheus metrics at ``GET /metrics`` (:mod:`.routes`).

Counted where they happen (:mod:`.instruments`): calls by hotline and route (when a call record is
made), the answer latency, and, from the structured log stream (one observer, no extra code in the
flows), ratings, return-visit attempts and database errors. Read at each scrape
(:mod:`.live`): callers waiting and the longest wait, agents by state, ARI (re)connects, active calls.
"""
