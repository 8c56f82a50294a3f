"""Membership and privacy: profile fields, consent, erasure, the member's export."""
