"""The webhook baseline: a Flask endpoint that only checks LINE's signature.

Served by gunicorn with the Procfile's settings beside the real app, it is what
`/callback` costs with no work behind it (bench/webhook_load.py).
"""

from __future__ import annotations

import os

from flask import Flask, request
from linebot.v3.webhook import SignatureValidator


def create_app() -> Flask:
    """The bare endpoint, with the channel secret from the environment."""
    app = Flask(__name__)
    validator = SignatureValidator(os.environ["LINE_CHANNEL_SECRET"])

    @app.post("/callback")
    def callback():
        body = request.get_data(as_text=True)
        if not validator.validate(body, request.headers.get("X-Line-Signature", "")):
            return "invalid signature", 400
        return "OK", 200

    @app.get("/healthz")
    def healthz():
        return "ok", 200

    return app
