import re, html
def text(h):
    h = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", h, flags=re.S)
    main = h.split('<main', 1)[1] if '<main' in h else h
    t = re.sub(r"<[^>]+>", " ", main)
    return re.sub(r"\s+", " ", html.unescape(t))

def test_smoke(client, qshop):
    s = qshop.shop
    c = client.login_as(s.buyer_a)
    for url in ["/t/alpha/portal/quality", "/t/alpha/portal/lots/1", "/t/alpha/portal/nonconformances/1", "/t/alpha/portal/support/new"]:
        print("=====", url); print(text(c.get(url).text)[:2500])
    c = client.login_as(s.facility_x)
    for url in ["/t/alpha/facility/manuals", "/t/alpha/facility/manuals/1", "/t/alpha/facility/lots", "/t/alpha/facility/lots/1", "/t/alpha/facility/quality"]:
        print("=====", url); print(text(c.get(url).text)[:2500])
