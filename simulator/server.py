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
    # Served on the api-data host by LINE; Configuration(host=…) sends them here too.
    ("GET", "/v2/bot/message/<message_id>/content"): "message_content",
    ("POST", "/v2/bot/richmenu/<rich_menu_id>/content"): "richmenu_image_upload",
    ("GET", "/v2/bot/richmenu/<rich_menu_id>/content"): "richmenu_image_download",
    # Rich menus, their aliases, the default menu and per-user links.
    ("POST", "/v2/bot/richmenu"): "richmenu_create",
    ("POST", "/v2/bot/richmenu/validate"): "richmenu_validate",
    ("GET", "/v2/bot/richmenu/list"): "richmenu_list",
    ("GET", "/v2/bot/richmenu/<rich_menu_id>"): "richmenu_get",
    ("DELETE", "/v2/bot/richmenu/<rich_menu_id>"): "richmenu_delete",
    ("POST", "/v2/bot/user/all/richmenu/<rich_menu_id>"): "richmenu_default_set",
    ("GET", "/v2/bot/user/all/richmenu"): "richmenu_default_get",
    ("DELETE", "/v2/bot/user/all/richmenu"): "richmenu_default_cancel",
    ("POST", "/v2/bot/richmenu/alias"): "richmenu_alias_create",
    ("GET", "/v2/bot/richmenu/alias/list"): "richmenu_alias_list",
    ("GET", "/v2/bot/richmenu/alias/<alias_id>"): "richmenu_alias_get",
    ("POST", "/v2/bot/richmenu/alias/<alias_id>"): "richmenu_alias_update",
    ("DELETE", "/v2/bot/richmenu/alias/<alias_id>"): "richmenu_alias_delete",
    ("GET", "/v2/bot/user/<user_id>/richmenu"): "richmenu_user_get",
    ("POST", "/v2/bot/user/<user_id>/richmenu/<rich_menu_id>"): "richmenu_user_link",
    ("DELETE", "/v2/bot/user/<user_id>/richmenu"): "richmenu_user_unlink",
    ("POST", "/v2/bot/richmenu/bulk/link"): "richmenu_bulk_link",
    ("POST", "/v2/bot/richmenu/bulk/unlink"): "richmenu_bulk_unlink",
}


def create_server_app(sim) -> Flask:
    """The Flask app served by a running simulator."""
    from simulator import console  # noqa: PLC0415 - console imports this module's users

    app = Flask(__name__)
    app.extensions["simulator"] = sim
    for (method, rule), endpoint in API_ROUTES.items():
        app.add_url_rule(rule, endpoint, _api_view(sim, endpoint), methods=[method])
    app.add_url_rule(
        "/v2/<path:rest>", "not_simulated", _not_simulated, methods=["GET", "POST", "PUT", "DELETE"]
    )
    app.register_blueprint(console.bp)
    return app


def _api_view(sim, endpoint: str):
    def view(**_params):
        # The access token says which channel is calling, as on LINE's servers.
        platform: Platform = sim.platform_for(request.headers.get("Authorization", ""))
        reply = platform.call(
            endpoint, request.method, request.path, dict(request.headers), request.get_data()
        )
        response = Response(reply.raw) if reply.raw is not None else jsonify(reply.body)
        response.status_code = reply.status
        for key, value in reply.headers.items():
            response.headers[key] = value
        return response

    return view


def _not_simulated(rest: str) -> Response:
    return jsonify({"message": f"/v2/{rest} is not simulated"}), 404
