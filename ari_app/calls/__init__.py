"""Calls in the Stasis app: one session and one task per call, fed by the event reader."""
