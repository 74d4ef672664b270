"""Shipped YAML playbooks."""
