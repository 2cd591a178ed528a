"""The import/export screens: upload → preview or problems → confirm; exports; access.

No assertions on wording (the Japanese catalogue is merged separately): status codes, database
state, where problems are reported (row and column), and the files themselves.
"""

from __future__ import annotations

import io
import os
import re
import time
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import delete

from app.buyers.models import Buyer
from app.catalogs.models import Capability
from app.deals.models import Deal, DealCapability, DealStage
from app.extensions import db
from app.facilities.models import Facility, FacilityCapability, FacilityKind, FacilityStatus
from app.imports import service
from tenants.audit import AuditEvent
from tenants.isolation import tenant_scope
from tests.imports.conftest import (
    BASE,
    confirm,
    count,
    error_cells,
    rows,
    upload,
    upload_ok,
)

FACILITIES_CSV = (
    "事業所名,種別,都道府県,市区町村,利用者数,平均工賃,参加開始日,PC作業経験,能力,状態\n"
    'さくら作業所,就労継続支援B型,静岡県,浜松市,12,"18,000円",令和7年4月1日,はい,組立、梱包:2,\n'
    "㈱髙橋製作所,協力企業,22,磐田市,30,0,2024/10/01,いいえ,検品,休止中\n"
)


def xlsx(table: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in table:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the page ----------------------------------------------------------------------------------


def test_index_for_members_and_readers(client, world):
    client.login_as(world.coordinator)
    page = client.get(f"{BASE}/")
    assert page.status_code == 200
    for kind in ("facilities", "buyers", "deals"):
        assert f'action="{BASE}/{kind}/upload"' in page.text
        assert f"{BASE}/export/{kind}.csv-sjis" in page.text
    assert 'id="facilities-file"' in page.text

    client.login_as(world.viewer)
    page = client.get(f"{BASE}/")
    assert page.status_code == 200
    assert "/upload" not in page.text  # readers export only
    assert f"{BASE}/export/deals.xlsx" in page.text


def test_outsider_sees_nothing(app, client, world):
    client.login_as(world.outsider)
    assert client.get(f"{BASE}/").status_code == 404
    assert client.get(f"{BASE}/export/facilities.csv").status_code == 404
    assert upload(client, "facilities", FACILITIES_CSV.encode()).status_code == 404
    assert client.get(f"{BASE}/facilities/{'0' * 32}").status_code == 404
    assert confirm(client, "facilities", "0" * 32).status_code == 404


def test_readers_cannot_import(app, client, catalogue):
    client.login_as(catalogue.coordinator)
    token = upload_ok(client, "facilities", FACILITIES_CSV.encode())
    client.login_as(catalogue.viewer)
    assert upload(client, "facilities", FACILITIES_CSV.encode()).status_code == 403
    assert client.get(f"{BASE}/facilities/{token}").status_code == 403
    assert client.get(f"{BASE}/facilities/{token}/errors.csv").status_code == 403
    assert confirm(client, "facilities", token).status_code == 403
    assert count(app, catalogue.alpha.id, Facility) == 0


def test_unknown_kind_or_format_is_404(client, world):
    client.login_as(world.admin)
    assert client.get(f"{BASE}/export/invoices.csv").status_code == 404
    assert client.get(f"{BASE}/export/facilities.pdf").status_code == 404
    assert upload(client, "invoices", b"a\n1\n").status_code == 404


# --- upload ------------------------------------------------------------------------------------


def test_upload_without_a_file(app, client, world):
    client.login_as(world.admin)
    response = client.post(f"{BASE}/facilities/upload", data={})
    assert response.status_code == 422
    assert 'id="facilities-file-error"' in response.text
    assert 'id="buyers-file-error"' not in response.text


def test_a_png_renamed_csv_is_refused_at_upload(app, client, world):
    client.login_as(world.admin)
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
    response = upload(client, "buyers", png, "companies.csv")
    assert response.status_code == 422
    assert 'id="buyers-file-error"' in response.text
    assert not (Path(app.instance_path) / "imports" / str(world.alpha.id)).exists()


def test_files_over_10_mb_are_refused_with_a_message(client, world):
    client.login_as(world.admin)
    big = b"a,b\n" * (3 * 1024 * 1024)  # 12 MB
    # Big bodies go through a temporary file: the client closes it with the response, but only
    # when it follows redirects (a werkzeug quirk).
    with upload(client, "buyers", big, follow_redirects=True) as response:
        assert response.status_code == 422
        assert 'id="buyers-file-error"' in response.text


def test_files_over_the_server_limit_get_a_page_not_a_500(client, world):
    client.login_as(world.admin)
    huge = b"a,b\n" * (6 * 1024 * 1024)  # 24 MB, more than the server reads at all
    with upload(client, "buyers", huge, follow_redirects=True) as response:
        assert response.status_code == 413
        assert "10 MB" in response.text


def test_upload_is_kept_on_disk_per_workspace(app, client, world):
    client.login_as(world.admin)
    token = upload_ok(client, "buyers", "企業名\nA社\n".encode())
    folder = Path(app.instance_path) / "imports" / str(world.alpha.id)
    assert sorted(p.name for p in folder.iterdir()) == [f"{token}.json", f"{token}.upload"]
    with client.session_transaction() as cookie:
        assert token not in str(dict(cookie))


# --- preview and confirm -----------------------------------------------------------------------


def test_facilities_preview_then_confirm(app, client, catalogue):
    client.login_as(catalogue.coordinator)
    token = upload_ok(client, "facilities", FACILITIES_CSV.encode("cp932"))
    page = client.get(f"{BASE}/facilities/{token}")
    assert page.status_code == 200
    assert 'id="preview"' in page.text
    assert "㈱髙橋製作所" in page.text  # read as CP932, the characters intact
    assert f'action="{BASE}/facilities/{token}/confirm"' in page.text
    assert count(app, catalogue.alpha.id, Facility) == 0  # the preview writes nothing

    response = confirm(client, "facilities", token)
    assert response.status_code == 303
    sakura, takahashi = rows(app, catalogue.alpha.id, Facility)
    assert sakura.name == "さくら作業所"
    assert sakura.kind is FacilityKind.TYPE_B
    assert sakura.status is FacilityStatus.PARTICIPATING
    assert sakura.prefecture_code == "22"
    assert sakura.workers == 12
    assert sakura.avg_monthly_wage == 18_000
    assert sakura.participating_since == date(2025, 4, 1)
    assert sakura.pc_experience is True
    assert takahashi.name == "㈱髙橋製作所"
    assert takahashi.status is FacilityStatus.PAUSED
    links = {
        (link.facility_id, link.capability_id, link.proficiency)
        for link in rows(app, catalogue.alpha.id, FacilityCapability)
    }
    assert links == {(1, 1, 1), (1, 2, 2), (2, 3, 1)}
    # Audited like any write, by the person who confirmed.
    events = rows(app, catalogue.alpha.id, AuditEvent)
    created = [e for e in events if e.object_type == "facilities"]
    assert len(created) == 2
    assert {e.actor_user_id for e in created} == {catalogue.coordinator.id}
    # The upload is gone: confirming again finds nothing.
    assert confirm(client, "facilities", token).status_code == 410
    assert client.get(f"{BASE}/facilities/{token}").status_code == 410


def test_import_updates_by_name_and_leaves_other_columns(app, client, catalogue):
    client.login_as(catalogue.admin)
    assert confirm(client, "facilities", upload_ok(client, "facilities", FACILITIES_CSV.encode()))
    update = "事業所名,種別,利用者数,能力\nさくら作業所,B型,15,検品:3\n新規作業所,その他,,\n"
    token = upload_ok(client, "facilities", update.encode())
    page = client.get(f"{BASE}/facilities/{token}")
    assert re.search(r"badge-coordinator\">[^<]+</span></td>\s*<td>さくら作業所", page.text)
    assert confirm(client, "facilities", token).status_code == 303
    sakura, _takahashi, new = rows(app, catalogue.alpha.id, Facility)
    assert sakura.workers == 15
    assert sakura.municipality == "浜松市"  # not in the file: unchanged
    assert sakura.avg_monthly_wage == 18_000
    assert new.name == "新規作業所"
    assert new.workers == 0
    links = {
        (link.facility_id, link.capability_id, link.proficiency)
        for link in rows(app, catalogue.alpha.id, FacilityCapability)
    }
    assert links == {(1, 3, 3), (2, 3, 1)}  # sakura's capabilities replaced


def test_rows_with_errors_import_nothing(app, client, catalogue):
    client.login_as(catalogue.admin)
    bad = (
        "事業所名,種別,利用者数,能力,参加開始日\n"
        "良い行,B型,3,組立,2025-04-01\n"
        "悪い行,B型,たくさん,溶接,2025-02-30\n"
        ",A型,1,,\n"
    )
    token = upload_ok(client, "facilities", bad.encode())
    page = client.get(f"{BASE}/facilities/{token}")
    assert page.status_code == 200
    assert error_cells(page.text) == [
        (3, "利用者数"),
        (3, "参加開始日"),
        (3, "能力"),
        (4, "事業所名"),
    ]
    assert f"{BASE}/facilities/{token}/confirm" not in page.text
    # Confirming anyway (a stale page, a crafted request) still writes nothing.
    response = confirm(client, "facilities", token)
    assert response.status_code == 422
    assert error_cells(response.text)
    assert count(app, catalogue.alpha.id, Facility) == 0
    assert count(app, catalogue.alpha.id, FacilityCapability) == 0

    problems = client.get(f"{BASE}/facilities/{token}/errors.csv")
    assert problems.status_code == 200
    assert problems.headers["Content-Type"].startswith("text/csv")
    assert problems.data.startswith(b"\xef\xbb\xbf")
    lines = problems.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 5
    assert lines[1].startswith("3,利用者数,たくさん,")


def test_the_workspace_changing_between_preview_and_confirm(app, client, catalogue):
    client.login_as(catalogue.admin)
    token = upload_ok(client, "facilities", "事業所名,種別,能力\nA,B型,組立\n".encode())
    assert 'id="preview"' in client.get(f"{BASE}/facilities/{token}").text
    with app.app_context(), db.new_session() as s, tenant_scope(s, catalogue.alpha.id):
        s.execute(delete(FacilityCapability))
        s.execute(delete(Capability))
        s.commit()
    response = confirm(client, "facilities", token)
    assert response.status_code == 422
    assert error_cells(response.text) == [(2, "能力")]
    assert count(app, catalogue.alpha.id, Facility) == 0
    # The upload is kept for another try.
    assert client.get(f"{BASE}/facilities/{token}").status_code == 200


def test_missing_columns_are_a_file_problem(app, client, world):
    client.login_as(world.admin)
    token = upload_ok(client, "facilities", "住所,電話\nどこか,0000\n".encode())
    page = client.get(f"{BASE}/facilities/{token}")
    assert page.status_code == 200
    assert "事業所名、種別" in page.text
    assert 'id="preview"' not in page.text
    assert confirm(client, "facilities", token).status_code == 422
    assert count(app, world.alpha.id, Facility) == 0


def test_unknown_encoding_and_the_override(app, client, world):
    client.login_as(world.admin)
    data = "企業名,備考\nアイウ株式会社,ｶﾀｶﾅ\n".encode("cp932")
    token = upload_ok(client, "buyers", data)
    page = client.get(f"{BASE}/buyers/{token}")
    assert "アイウ株式会社" in page.text
    assert '<select id="read-as" name="encoding">' in page.text
    forced = client.get(f"{BASE}/buyers/{token}?encoding=utf-8")
    assert forced.status_code == 200
    assert 'id="preview"' not in forced.text
    assert 'class="form-errors"' in forced.text
    # The confirmation uses the encoding chosen on the page.
    assert confirm(client, "buyers", token, encoding="utf-8").status_code == 422
    assert count(app, world.alpha.id, Buyer) == 0
    assert confirm(client, "buyers", token, encoding="cp932").status_code == 303
    assert [b.name for b in rows(app, world.alpha.id, Buyer)] == ["アイウ株式会社"]


def test_tokens_are_personal_and_expire(app, client, world):
    client.login_as(world.admin)
    token = upload_ok(client, "buyers", "企業名\nA社\n".encode())
    assert client.get(f"{BASE}/deals/{token}").status_code == 410  # another kind
    client.login_as(world.coordinator)
    assert client.get(f"{BASE}/buyers/{token}").status_code == 410  # someone else's
    assert confirm(client, "buyers", token).status_code == 410
    client.login_as(world.admin)
    assert client.get(f"{BASE}/buyers/{'0' * 32}").status_code == 410
    assert client.get(f"{BASE}/buyers/not-a-token").status_code == 410
    assert client.get(f"{BASE}/buyers/..%2F..%2Fsecret_key").status_code in (404, 410)

    folder = Path(app.instance_path) / "imports" / str(world.alpha.id)
    store = service.UploadStore(folder.parent, world.alpha.id, now=time.time() + 3601)
    assert store.load(token, "buyers", world.admin.id) is None
    assert not any(folder.iterdir())  # the expired upload was deleted
    assert count(app, world.alpha.id, Buyer) == 0


def test_old_uploads_are_purged_on_the_next_upload(app, client, world):
    client.login_as(world.admin)
    token = upload_ok(client, "buyers", "企業名\nA社\n".encode())
    folder = Path(app.instance_path) / "imports" / str(world.alpha.id)
    old = time.time() - 7200
    for path in folder.iterdir():
        os.utime(path, (old, old))
    upload_ok(client, "buyers", "企業名\nB社\n".encode())
    assert not any(p.name.startswith(token) for p in folder.iterdir())


def test_xlsx_import(app, client, catalogue):
    client.login_as(catalogue.admin)
    data = xlsx(
        [
            ["案件名", "発注企業", "段階", "商談金額", "商談開始日", "受注・失注日", "必要な能力"],
            [
                "部品の組立",
                "株式会社サンプル",
                "受注",
                2400000,
                date(2025, 4, 10),
                "令和7年6月1日",
                "組立",
            ],
            ["封入", "株式会社サンプル", "ヒアリング", "1,200,000円", "2025/05/01", None, None],
        ]
    )
    token = upload_ok(client, "deals", data, "deals.xlsx")
    page = client.get(f"{BASE}/deals/{token}")
    assert 'id="preview"' in page.text
    assert '<select id="read-as"' not in page.text  # no encoding question for Excel
    assert confirm(client, "deals", token).status_code == 303
    won, hearing = rows(app, catalogue.alpha.id, Deal)
    assert (won.stage, won.amount, won.opened_on, won.closed_on) == (
        DealStage.WON,
        2_400_000,
        date(2025, 4, 10),
        date(2025, 6, 1),
    )
    assert (hearing.stage, hearing.amount, hearing.closed_on) == (
        DealStage.HEARING,
        1_200_000,
        None,
    )
    assert [
        (c.deal_id, c.capability_id) for c in rows(app, catalogue.alpha.id, DealCapability)
    ] == [(1, 1)]


def test_deal_needs_an_existing_buyer(app, client, catalogue):
    client.login_as(catalogue.admin)
    data = "案件名,発注企業,商談開始日\n新件,まだない会社,2025-04-01\n".encode()
    token = upload_ok(client, "deals", data)
    page = client.get(f"{BASE}/deals/{token}")
    assert error_cells(page.text) == [(2, "発注企業")]
    assert confirm(client, "deals", token).status_code == 422
    assert count(app, catalogue.alpha.id, Deal) == 0


# --- exports -----------------------------------------------------------------------------------


def test_readers_export(client, world):
    client.login_as(world.viewer)
    for fmt in ("csv", "csv-sjis", "xlsx"):
        response = client.get(f"{BASE}/export/buyers.{fmt}")
        assert response.status_code == 200, fmt
        assert "attachment" in response.headers["Content-Disposition"]


def test_csv_exports_utf8_bom_and_cp932(app, client, catalogue):
    with app.app_context(), db.new_session() as s, tenant_scope(s, catalogue.alpha.id):
        s.add(Buyer(name="㈱髙橋製作所", notes="波ダッシュ〜と絵文字😀"))
        s.add(Buyer(name="アーカイブ済み", archived_at=service_now()))
        s.commit()
    client.login_as(catalogue.viewer)
    utf8 = client.get(f"{BASE}/export/buyers.csv")
    assert utf8.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert utf8.data.startswith(b"\xef\xbb\xbf")
    text = utf8.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("企業名,フリガナ,業種")
    assert "㈱髙橋製作所" in text
    assert "波ダッシュ〜と絵文字😀" in text
    assert "アーカイブ済み" not in text

    sjis = client.get(f"{BASE}/export/buyers.csv-sjis")
    assert "Shift_JIS" in sjis.headers["Content-Type"]
    decoded = sjis.data.decode("cp932")
    assert "㈱髙橋製作所" in decoded
    assert "波ダッシュ～と絵文字?" in decoded  # 〜 → its CP932 twin; the emoji replaced

    archived = client.get(f"{BASE}/export/buyers.csv?archived=1").data.decode("utf-8-sig")
    assert "アーカイブ済み" in archived


def service_now():
    from app.db import utcnow

    return utcnow()


def test_a_failure_while_writing_leaves_nothing_and_keeps_the_upload(
    app, client, catalogue, monkeypatch
):
    client.login_as(catalogue.admin)
    token = upload_ok(client, "facilities", FACILITIES_CSV.encode())
    real_apply = service.apply

    def apply_then_fail(*args, **kwargs):
        real_apply(*args, **kwargs)  # rows flushed, not committed
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "apply", apply_then_fail)
    response = confirm(client, "facilities", token)
    assert response.status_code == 303
    progress = client.get(response.headers["Location"])
    assert progress.status_code == 200 and "flash-error" in progress.text
    assert count(app, catalogue.alpha.id, Facility) == 0
    assert count(app, catalogue.alpha.id, FacilityCapability) == 0
    monkeypatch.setattr(service, "apply", real_apply)
    assert confirm(client, "facilities", token).status_code == 303
    assert count(app, catalogue.alpha.id, Facility) == 2
