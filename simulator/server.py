"""HTTP face of the simulator: LINE's Messaging API paths plus a control API and console."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from simulator.platform import Platform

# (method, Flask rule) -> endpoint name used for faults, limits and the request log.
API_ROUTES = {
    ("POST", "/v2/bot/message/reply"): "reply",
    ("POST", "/v2/bot/message/push"): "push",
    ("POST", "/v2/bot/message/multicast"): "multicast",
    ("GET", "/v2/bot/profile/<user_id>"): "profile",
    ("GET", "/v2/bot/message/quota"): "quota",
    ("GET", "/v2/bot/message/quota/consumption"): "quota_consumption",
    ("GET", "/v2/bot/info"): "bot_info",
}


def create_server_app(sim) -> Flask:
    """The Flask app served by a running simulator."""
    from simulator import console  # noqa: PLC0415 - console imports this module's users

    app = Flask(__name__)
    app.extensions["simulator"] = sim
    for (method, rule), endpoint in API_ROUTES.items():
        app.add_url_rule(rule, endpoint, _api_view(sim.platform, endpoint), methods=[method])
    app.add_url_rule(
        "/v2/<path:rest>", "not_simulated", _not_simulated, methods=["GET", "POST", "PUT", "DELETE"]
    )
    app.register_blueprint(console.bp)
    return app


def _api_view(platform: Platform, endpoint: str):
    def view(**_params):
        reply = platform.call(
            endpoint, request.method, request.path, dict(request.headers), request.get_data()
        )
        response = jsonify(reply.body)
        response.status_code = reply.status
        for key, value in reply.headers.items():
            response.headers[key] = value
        return response

    return view


def _not_simulated(rest: str) -> Response:
    return jsonify({"message": f"/v2/{rest} is not simulated"}), 404
