"""Derivatives with their working: the step engine and several-variable calculus."""
