"""GET /healthz for load balancers and operators."""

from bot import __version__, create_app


def test_healthy_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "version": __version__}


def test_503_when_the_database_is_unreachable(config):
    app = create_app(
        {**config, "MONGODB_URI": "mongodb://127.0.0.1:9/", "MONGODB_TIMEOUT_MS": "200"}
    )

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert response.json["version"] == __version__
