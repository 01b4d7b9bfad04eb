"""Call flows run by the Stasis app, one coroutine per call."""
