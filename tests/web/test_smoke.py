def test_login_and_dashboard(client, world):
    response = client.post(
        "/login", data={"email": "admin@example.jp", "password": "correct horse battery"}
    )
    assert response.status_code == 303, response.text
    response = client.get(response.headers["Location"])
    assert response.status_code == 200
    assert "アルファ市" in response.text
    assert client.get("/t/alpha/members").status_code == 200
    assert client.get("/t/beta/").status_code == 404
