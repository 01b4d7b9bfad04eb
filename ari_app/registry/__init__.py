"""The hotline registry: config/hotlines.yaml as a validated model, and the decisions it drives."""
