"""Asterisk Manager Interface (AMI) through panoramisk: the few actions the hotline sends."""
