"""Member and invite codes people can read aloud and type without mistakes."""

import secrets

# No 0/O, 1/I/L, so nothing can be misread at the counter.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MEMBER_CODE_LENGTH = 6
INVITE_CODE_LENGTH = 8


def new_code(length: int = MEMBER_CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def clean(text: str) -> str:
    """What a person typed, as a code: upper case, no spaces or dashes."""
    return "".join(c for c in text.upper() if c.isalnum())


def looks_like_code(text: str, length: int = MEMBER_CODE_LENGTH) -> bool:
    code = clean(text)
    return len(code) == length and all(c in ALPHABET for c in code)
