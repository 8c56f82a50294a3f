"""The demo merchant and its generated history."""
