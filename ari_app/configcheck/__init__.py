"""Checking YAML configuration files, reporting every problem as ``FILE:LINE: field.path: message``.

- :mod:`~ari_app.configcheck.problems`: :class:`Problem` and :class:`ConfigError`, and the
  wording helpers for field paths and "did you mean" hints.
- :mod:`~ari_app.configcheck.yamlnodes`: reading a file's text and composing it into YAML nodes
  that keep their lines.
- :mod:`~ari_app.configcheck.reader`: :class:`Reader`, :class:`Fields`, :class:`Keys` and
  :class:`Unique`, which read typed values off the nodes and collect the problems.

The registry (config/hotlines.yaml) and the seats file (config/seats.yaml) are read with it.
"""
