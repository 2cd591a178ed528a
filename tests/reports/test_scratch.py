from pathlib import Path


def test_page(client, world, samples):
    client.login_as(world.admin)
    r = client.get("/t/alpha/reports/?fy=2026")
    Path("/tmp/scratch/report.html").write_text(r.text)
    assert r.status_code == 200
