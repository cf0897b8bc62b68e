"""Evaluation: metrics, significance, the eval harness and reports."""
