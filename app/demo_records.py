"""Realistic records for the demo workspace: catalogues, facilities, buyers, agreements, deals,
orders with deliveries and monthly forecasts, and timelines.

Deterministic (one ``random.Random(SEED)``, a fixed "today") and idempotent: a workspace that
already has facilities is left alone. Everything goes through the ORM inside the workspace's
tenant scope, in a handful of flushes, so the audit log and the isolation rules see it all.
The data is Japanese because it is what a coordinator would type; it is not UI text.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.agreements.models import (
    ActionItem,
    ActionStatus,
    Agreement,
    AgreementGoal,
    AgreementKind,
)
from app.buyers.models import Buyer
from app.catalogs.models import (
    DEFAULT_CAPABILITIES,
    DEFAULT_DIFFICULTY,
    DEFAULT_LOST_REASONS,
    Capability,
    DifficultyLevel,
    LostReason,
    PlanGoal,
)
from app.deals.models import Deal, DealCapability, DealStage, PricingBasis
from app.facilities.models import (
    Facility,
    FacilityCapability,
    FacilityKind,
    FacilityStatus,
    FacilityWage,
)
from app.jp import JST
from app.matching.models import Assignment, WorkSpec, WorkSpecCapability
from app.orders.models import Delivery, DeliveryStatus, Order, OrderMonth, OrderStatus
from app.timeline.models import EntryKind, TimelineEntry
from tenants.isolation import tenant_scope
from tenants.models import Membership

SEED = 2026
# The demo is written as of this day; data never moves with the clock, so it stays the same.
DEMO_TODAY = date(2026, 11, 21)
HOURLY_RATE = 1_800  # yen of an order's amount per hour of assigned work (report demo)
LAST_ACTUAL_MONTH = date(2026, 10, 1)  # months up to here have actual amounts
FORECAST_MONTHS_AHEAD = 3  # forecast-only months after LAST_ACTUAL_MONTH
PREVIOUS_FY = 2025  # April 2025 – March 2026
CURRENT_FY = 2026  # April 2026 – March 2027
WAGE_YEARS = (2023, 2024, 2025)  # fiscal years of wage history (the last one is the latest)
PREFECTURE = "22"  # 静岡県

# --- catalogues -----------------------------------------------------------------------------

CAPABILITY_DESCRIPTIONS = {
    "組立": "部品の組付け・サブアッセンブリ。治具を使う作業を含む。",
    "梱包": "箱詰め・袋詰め・シール貼り・シュリンク包装。",
    "検品": "外観検査・数量確認・寸法測定。",
    "切削": "旋盤・フライス等による金属・樹脂の加工、バリ取り。",
    "溶接": "TIG・半自動溶接、スポット溶接。",
    "縫製": "布製品の縫製・補修・刺繍。",
    "データ入力": "紙帳票・アンケートの入力、スキャン、画像加工。",
    "清掃": "施設・客室・車両の清掃。",
    "農作業": "除草・収穫補助・選果。",
    "印刷": "チラシ・名刺・封筒のオンデマンド印刷と断裁。",
    "封入・発送": "DMの封入・封緘・宛名ラベル貼り・発送。",
}

PLAN_GOALS = (
    ("1-3-1", "障害のある人が働き続けられるまち"),
    ("1-3-2", "福祉事業所の工賃向上と障害のある人の経済的自立"),
    ("4-2-1", "地域企業と福祉が支え合うものづくりのまち"),
    ("4-4-3", "農福連携による茶業・農業の担い手の確保"),
    ("6-1-2", "企業・団体との協働によるまちづくり"),
)

# --- places in 静岡県 ---------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    area_code: str
    latitude: float
    longitude: float
    towns: tuple[tuple[str, str], ...]  # (town, postal code)


PLACES: dict[str, Place] = {
    "静岡市": Place("054", 34.9756, 138.3828, (
        ("葵区瀬名", "420-0911"), ("駿河区中田", "422-8041"),
        ("清水区草薙", "424-0886"), ("葵区城東町", "420-0846"),
    )),
    "浜松市": Place("053", 34.7108, 137.7261, (
        ("中央区佐鳴台", "432-8021"), ("中央区高丘東", "433-8101"),
        ("浜名区小松", "434-0041"), ("中央区富塚町", "432-8002"),
    )),
    "沼津市": Place("055", 35.0956, 138.8636, (("大岡", "410-0022"), ("東椎路", "410-0302"))),
    "富士市": Place("0545", 35.1614, 138.6764, (("今泉", "417-0001"), ("天間", "419-0205"))),
    "富士宮市": Place("0544", 35.2221, 138.6216, (("宮原", "418-0005"), ("淀川町", "418-0021"))),
    "三島市": Place("055", 35.1186, 138.9186, (("大場", "411-0803"), ("加屋町", "411-0854"))),
    "磐田市": Place("0538", 34.7178, 137.8515, (("見付", "438-0086"), ("富丘", "438-0016"))),
    "掛川市": Place("0537", 34.7687, 137.9983, (("大池", "436-0079"), ("下俣", "436-0042"))),
    "藤枝市": Place("054", 34.8676, 138.2577, (("青木", "426-0025"), ("岡部町内谷", "421-1131"))),
    "焼津市": Place("054", 34.8669, 138.3236, (("小川", "425-0035"), ("大覚寺", "425-0054"))),
    "島田市": Place("0547", 34.8363, 138.1764, (("御仮屋町", "427-0043"), ("金谷", "428-0021"))),
    "袋井市": Place("0538", 34.7505, 137.9249, (("高尾", "437-0023"), ("上山梨", "437-0215"))),
    "御殿場市": Place("0550", 35.3086, 138.9347, (("萩原", "412-0042"), ("川島田", "412-0045"))),
    "伊東市": Place("0557", 34.9658, 139.1019, (("宇佐美", "414-0001"), ("川奈", "414-0044"))),
    "湖西市": Place("053", 34.7186, 137.5317, (("鷲津", "431-0431"), ("新居町浜名", "431-0302"))),
    "牧之原市": Place("0548", 34.7400, 138.2247, (("静波", "421-0422"), ("細江", "421-0421"))),
    "菊川市": Place("0537", 34.7578, 138.0842, (("堀之内", "439-0006"), ("加茂", "439-0031"))),
    "裾野市": Place("055", 35.1739, 138.9067, (("伊豆島田", "410-1102"), ("佐野", "410-1117"))),
    "伊豆の国市": Place("055", 35.0275, 138.9289, (("四日町", "410-2122"), ("長岡", "410-2211"))),
}  # fmt: skip

SURNAMES = (
    "鈴木", "望月", "杉山", "渡辺", "山本", "佐野", "池田", "伊藤", "加藤", "小林",
    "石川", "村松", "大石", "中村", "青木", "松下", "土屋", "河合", "増田", "藤田",
)  # fmt: skip
GIVEN_NAMES = (
    "浩二", "由美", "健太", "直子", "大輔", "恵子", "翔", "真理子", "誠", "彩",
    "和也", "美穂", "隆", "裕子", "拓也", "智子", "亮", "幸子", "悟", "千尋",
)  # fmt: skip

# --- facilities ---------------------------------------------------------------------------

B, A, LIFE, MFR = (
    FacilityKind.TYPE_B,
    FacilityKind.TYPE_A,
    FacilityKind.LIFE_CARE,
    FacilityKind.MANUFACTURER,
)
PAUSED, LEFT = FacilityStatus.PAUSED, FacilityStatus.LEFT

# (name, kind, municipality, "capability:proficiency ...", status or None)
FACILITIES: tuple[tuple[str, FacilityKind, str, str, FacilityStatus | None], ...] = (
    ("社会福祉法人みどり会 みどり作業所", B, "静岡市", "組立:2 梱包:3 検品:2", None),
    ("社会福祉法人富士の郷 ふじのさと工房", B, "富士市", "梱包:3 封入・発送:2", None),
    ("特定非営利活動法人ひまわり ひまわり工房", B, "浜松市", "組立:2 検品:2", None),
    ("社会福祉法人あおい福祉会 あおい授産所", B, "静岡市", "封入・発送:3 梱包:2 印刷:1", None),
    ("特定非営利活動法人そよかぜ ワークショップそよかぜ", B, "沼津市", "梱包:2 清掃:2", None),
    ("社会福祉法人遠州厚生会 はまなワークセンター", B, "浜松市", "組立:3 検品:3 切削:1", None),
    ("一般社団法人つばさ つばさ作業所", B, "磐田市", "組立:2 梱包:2", None),
    ("社会福祉法人大井川福祉会 かわせみ作業所", B, "島田市", "農作業:3 梱包:2", None),
    ("特定非営利活動法人さくらんぼ さくらんぼの家", B, "藤枝市", "梱包:2 封入・発送:2", None),
    ("社会福祉法人焼津社会福祉事業団 やいづワークス", B, "焼津市", "梱包:3 検品:2", None),
    ("社会福祉法人掛川いずみ会 いずみ園", B, "掛川市", "組立:2 検品:2", None),
    ("特定非営利活動法人こもれび こもれび舎", B, "富士宮市", "縫製:2 梱包:1", None),
    ("社会福祉法人三島あゆみ会 あゆみ工房", B, "三島市", "データ入力:2 封入・発送:2", None),
    ("特定非営利活動法人ふくろう 工房ふくろう", B, "袋井市", "組立:1 梱包:2", None),
    ("社会福祉法人御殿場なかよし会 なかよし作業所", B, "御殿場市", "清掃:2 梱包:2", None),
    ("特定非営利活動法人しおさい しおさい工房", B, "伊東市", "梱包:2 清掃:2", PAUSED),
    ("社会福祉法人湖西福祉会 はまゆう作業所", B, "湖西市", "組立:2 梱包:1", LEFT),
    ("特定非営利活動法人ちゃばたけ 茶ばたけファーム", B, "牧之原市", "農作業:3 梱包:2", None),
    ("社会福祉法人菊川清和会 せいわ作業所", B, "菊川市", "縫製:2 検品:2", None),
    ("特定非営利活動法人わかば わかばワークス", B, "裾野市", "組立:2 検品:1", PAUSED),
    ("社会福祉法人駿河会 するがの里", B, "静岡市", "梱包:2 封入・発送:3", None),
    ("特定非営利活動法人みかんの木 みかんの木", B, "静岡市", "農作業:2 梱包:2", None),
    ("一般社団法人ほしぞら ほしぞら印刷工房", B, "浜松市", "印刷:3 封入・発送:2", None),
    ("特定非営利活動法人ぬくもり ぬくもり縫製室", B, "藤枝市", "縫製:3", None),
    ("株式会社ワークサポート静岡 ワークサポート静岡", A, "静岡市", "データ入力:3 検品:2", None),
    ("株式会社はまかぜ はまかぜワークス浜松", A, "浜松市", "組立:3 検品:3", None),
    ("株式会社ディーアシスト ディーアシスト沼津", A, "沼津市", "データ入力:3 印刷:2", None),
    ("株式会社ふじワークス ふじワークス富士工場", A, "富士市", "組立:3 切削:2 検品:2", None),
    ("一般社団法人いっぽ いっぽ製作所", A, "磐田市", "組立:2 梱包:2 検品:2", None),
    ("株式会社グリーンファーム伊豆 グリーンファーム伊豆", A, "伊豆の国市", "農作業:3", None),
    ("株式会社クリーンパートナーズ クリーンパートナーズ焼津", A, "焼津市", "清掃:3", None),
    ("社会福祉法人みどり会 みどり生活介護センター", LIFE, "静岡市", "梱包:1", None),
    ("社会福祉法人遠州厚生会 はまな生活介護事業所", LIFE, "浜松市", "梱包:1 封入・発送:1", None),
    ("社会福祉法人三島あゆみ会 あゆみ生活介護", LIFE, "三島市", "封入・発送:1", LEFT),
    ("社会福祉法人掛川いずみ会 いずみデイセンター", LIFE, "掛川市", "梱包:1", PAUSED),
    ("有限会社鈴木製作所", MFR, "浜松市", "切削:3 溶接:3 検品:2", None),
    ("株式会社望月精工", MFR, "静岡市", "切削:3 検品:3", None),
    ("有限会社杉山溶接工業", MFR, "富士市", "溶接:3 組立:2", None),
    ("株式会社遠藤紙工", MFR, "沼津市", "梱包:3 印刷:2", None),
    ("株式会社富士山縫製", MFR, "富士宮市", "縫製:3 検品:2", None),
)

EQUIPMENT = {
    "組立": "作業台・組立治具",
    "梱包": "卓上シーラー・計量器",
    "検品": "検査台・拡大鏡・ノギス",
    "切削": "NC旋盤・マシニングセンタ",
    "溶接": "TIG溶接機・半自動溶接機",
    "縫製": "工業用ミシン・刺繍機",
    "データ入力": "PC・ドキュメントスキャナ",
    "清掃": "業務用掃除機・高圧洗浄機",
    "農作業": "軽トラック・刈払機",
    "印刷": "オンデマンド印刷機・断裁機",
    "封入・発送": "封入封緘機・ラベルプリンタ",
}
GENERAL_CAPABILITIES = ("梱包", "検品", "封入・発送", "清掃")
FACILITY_NOTES = (
    "午前中の作業が中心。送迎の関係で納品は15時まで。",
    "繁忙期（12月・3月）は事前に作業量の相談が必要。",
    "作業手順書があれば新しい作業にも対応しやすい。",
    "職員2名が品質チェックを担当。",
    "",
    "",
)

# --- buyers -------------------------------------------------------------------------------

# (name, kana, industry, municipality, domain label, job keys, notes)
BUYERS: tuple[tuple[str, str, str, str, str, tuple[str, ...], str], ...] = (
    ("株式会社東海精機", "トウカイセイキ", "製造業", "浜松市", "tokai-seiki",
     ("subassy", "harness", "deburr", "onsite", "welding"),
     "包括連携協定の締結先。窓口は総務部CSR推進室。"),
    ("富士見印刷株式会社", "フジミインサツ", "印刷業", "静岡市", "fujimi-print",
     ("print", "dm", "kitting"), "繁忙期は年度末。短納期の相談が多い。"),
    ("株式会社駿河フーズ", "スルガフーズ", "食品", "静岡市", "suruga-foods",
     ("sweets", "seafood", "kitting", "mikan"), "包括連携協定の締結先。"),
    ("遠州ロジスティクス株式会社", "エンシュウロジスティクス", "物流", "磐田市", "enshu-logi",
     ("picking", "kitting", "onsite", "cleaning"), ""),
    ("株式会社はままつ楽器工業", "ハママツガッキコウギョウ", "製造業", "浜松市", "hamamatsu-gakki",
     ("piano", "deburr", "cutting"), "技術者の巡回指導に協力的。"),
    ("株式会社伊豆みやげ本舗", "イズミヤゲホンポ", "小売", "伊東市", "izu-miyage",
     ("sweets", "kitting", "towel"), "観光シーズン（夏・年末年始）に発注が集中。"),
    ("株式会社しずおかデジタル", "シズオカデジタル", "IT", "静岡市", "shizuoka-digital",
     ("entry", "scan", "ec"), ""),
    ("焼津水産加工株式会社", "ヤイヅスイサンカコウ", "食品", "焼津市", "yaizu-suisan",
     ("seafood", "sweets", "cleaning"), "衛生管理基準（HACCP）の説明が必要。"),
    ("株式会社富士テクノ", "フジテクノ", "製造業", "富士市", "fuji-techno",
     ("cutting", "welding", "deburr", "onsite"), ""),
    ("株式会社大井川製茶", "オオイガワセイチャ", "食品", "島田市", "oigawa-tea",
     ("teabag", "teafarm", "sweets"), "一番茶の時期（4〜5月）は農作業の依頼あり。"),
    ("沼津パッケージ株式会社", "ヌマヅパッケージ", "製造業", "沼津市", "numazu-pkg",
     ("stationery", "kitting", "print"), ""),
    ("株式会社ふじのくに商事", "フジノクニショウジ", "卸売", "静岡市", "fujinokuni-shoji",
     ("kitting", "towel", "sweets"), "包括連携協定の締結先。具体的な取組は未定。"),
    ("株式会社三保電子", "ミホデンシ", "製造業", "静岡市", "miho-denshi",
     ("pcb", "harness", "subassy"), ""),
    ("掛川オートパーツ株式会社", "カケガワオートパーツ", "製造業", "掛川市", "kakegawa-auto",
     ("subassy", "harness", "deburr", "onsite"), "品質基準が厳しい。抜取検査結果を毎ロット報告。"),
    ("株式会社浜名湖リゾートサービス", "ハマナコリゾートサービス", "宿泊・観光", "湖西市",
     "hamanako-resort", ("linen", "cleaning", "towel"), ""),
    ("株式会社ヤマブキ通販", "ヤマブキツウハン", "小売", "藤枝市", "yamabuki",
     ("picking", "ec", "dm"), ""),
    ("富士宮ケミカル株式会社", "フジノミヤケミカル", "製造業", "富士宮市", "fujinomiya-chem",
     ("kitting", "cleaning", "onsite"), "2026年3月に県外へ生産拠点を移転。取引終了。"),
    ("株式会社駿河湾ホテルズ", "スルガワンホテルズ", "宿泊・観光", "沼津市", "surugawan-hotels",
     ("linen", "cleaning", "carwash"), ""),
    ("三島メディカル株式会社", "ミシマメディカル", "医療機器", "三島市", "mishima-medical",
     ("medical", "pcb"), "トレーサビリティ（ロットごとの作業記録）を要求。"),
    ("株式会社アオイ文具", "アオイブング", "製造業", "静岡市", "aoi-bungu",
     ("stationery", "kitting"), ""),
    ("御殿場アウトドア用品株式会社", "ゴテンバアウトドアヨウヒン", "小売", "御殿場市",
     "gotemba-outdoor", ("bags", "picking", "uniform"), ""),
    ("株式会社清水港運輸", "シミズコウウンユ", "物流", "静岡市", "shimizu-unyu",
     ("carwash", "cleaning", "picking"), ""),
    ("菊川テキスタイル株式会社", "キクガワテキスタイル", "繊維", "菊川市", "kikugawa-textile",
     ("towel", "uniform", "bags"), ""),
    ("株式会社袋井データサービス", "フクロイデータサービス", "IT", "袋井市", "fukuroi-data",
     ("scan", "entry"), ""),
    ("株式会社静岡ビジネスサポート", "シズオカビジネスサポート", "サービス業", "静岡市",
     "shizuoka-bs", ("dm", "scan", "cleaning"), ""),
)  # fmt: skip
ARCHIVED_BUYER = 16  # 富士宮ケミカル: left the region, only an old lost deal
VAGUE_BUYER = 11  # ふじのくに商事: the vague comprehensive agreement


@dataclass(frozen=True)
class Job:
    title: str
    capabilities: tuple[str, ...]
    difficulty: int
    basis: PricingBasis
    unit_price: int  # yen per unit
    unit: str
    recurring: bool
    description: str


HOURLY, PIECE = PricingBasis.HOURLY, PricingBasis.PER_PIECE

JOBS: dict[str, Job] = {
    "subassy": Job("ブレーキ部品のサブアッセンブリ", ("組立", "検品"), 3, PIECE, 45, "個", True,
                   "治具を用いたブラケットとブッシュの組付け。全数外観検査のうえ通い箱で納品。"),
    "harness": Job("ワイヤーハーネスの結束・端子挿入", ("組立",), 2, PIECE, 30, "本", True,
                   "図面に沿って電線を結束し、端子を挿入する。導通検査は顧客側で実施。"),
    "cutting": Job("アルミ部品の切削加工", ("切削", "検品"), 4, PIECE, 380, "個", True,
                   "NC旋盤による外径加工。公差±0.02mm、全数寸法測定。"),
    "deburr": Job("樹脂成形品のバリ取り", ("切削", "検品"), 2, PIECE, 12, "個", True,
                  "成形品のパーティングラインのバリをカッターで除去し、限度見本で確認。"),
    "welding": Job("鋼製ブラケットの溶接", ("溶接",), 4, PIECE, 650, "個", False,
                   "半自動溶接による架台用ブラケットの製作。溶接技能者の作業が前提。"),
    "piano": Job("楽器部品の研磨・組立", ("組立", "検品"), 3, PIECE, 120, "個", True,
                 "木製部品の研磨と小部品の組付け。仕上がりは見本と照合。"),
    "sweets": Job("贈答用菓子の箱詰め・シール貼り", ("梱包",), 1, PIECE, 18, "箱", True,
                  "個包装の菓子を化粧箱に詰め、封緘シールを貼る。賞味期限の印字確認あり。"),
    "teabag": Job("緑茶ティーバッグの袋詰め", ("梱包", "検品"), 1, PIECE, 8, "袋", True,
                  "ティーバッグ10個をアルミ袋に詰めてシール。異物混入防止のため作業着指定。"),
    "seafood": Job("水産加工品のラベル貼り・検品", ("検品", "梱包"), 2, PIECE, 10, "個", True,
                   "冷蔵品の表示ラベル貼付と外観確認。衛生管理の手順を遵守。"),
    "dm": Job("ダイレクトメールの封入・発送", ("封入・発送",), 1, PIECE, 9, "通", True,
              "案内状とチラシを封入・封緘し、宛名ラベルを貼って差出し。"),
    "print": Job("チラシ・名刺の印刷", ("印刷",), 2, PIECE, 6, "枚", True,
                 "入稿データからのオンデマンド印刷と断裁。色見本との照合を行う。"),
    "scan": Job("紙書類のスキャン・データ化", ("データ入力",), 2, PIECE, 25, "枚", False,
                "保管文書をスキャンしPDF化、ファイル名を規則に沿って付与。"),
    "entry": Job("アンケート・伝票のデータ入力", ("データ入力",), 2, PIECE, 40, "件", True,
                 "手書きアンケートを指定様式に入力。ダブル入力で照合。"),
    "ec": Job("EC商品ページの登録・画像加工", ("データ入力",), 3, PIECE, 350, "件", True,
              "商品画像の切り抜き・サイズ調整と商品情報の登録。"),
    "cleaning": Job("事業所・共用部の定期清掃", ("清掃",), 1, HOURLY, 1300, "時間", True,
                    "事務所・休憩室・トイレの定期清掃。チェックリストで完了報告。"),
    "linen": Job("客室備品のセット・リネンたたみ", ("清掃", "梱包"), 1, HOURLY, 1200, "時間", True,
                 "アメニティのセット組みとリネンのたたみ。"),
    "carwash": Job("社用車の洗車・車内清掃", ("清掃",), 1, PIECE, 1500, "台", True,
                   "営業車の外装洗車と車内清掃。"),
    "teafarm": Job("茶園の除草・収穫補助", ("農作業",), 2, HOURLY, 1150, "時間", True,
                   "茶園の畝間の除草と一番茶・二番茶の収穫補助。"),
    "mikan": Job("みかんの選果・箱詰め", ("農作業", "梱包"), 1, PIECE, 60, "箱", False,
                 "収穫したみかんを等級別に選果し、贈答用に箱詰め。"),
    "bags": Job("ノベルティ用布バッグの縫製", ("縫製",), 2, PIECE, 280, "枚", False,
                "支給生地から布バッグを縫製。持ち手の縫い付け強度を確認。"),
    "uniform": Job("作業着の補修・名入れ刺繍", ("縫製",), 3, PIECE, 450, "着", True,
                   "作業着のほつれ補修と社名・氏名の刺繍。"),
    "pcb": Job("電子基板の外観検査", ("検品",), 3, PIECE, 20, "枚", True,
               "実装済み基板のはんだ不良・部品欠品を拡大鏡で検査。"),
    "kitting": Job("販促品のキッティング・袋詰め", ("梱包", "封入・発送"), 1, PIECE, 15, "セット",
                   False, "販促品とチラシをセットにして袋詰め。"),
    "picking": Job("通販商品のピッキング・発送", ("梱包", "封入・発送"), 2, PIECE, 90, "件",
                   True, "出荷指示に沿ってピッキングし、梱包・送り状貼付。"),
    "stationery": Job("文具セットの組立・箱詰め", ("組立", "梱包"), 1, PIECE, 22, "セット", True,
                      "文具数点をトレーに組み、化粧箱に詰める。"),
    "medical": Job("医療機器部品の洗浄・検品", ("検品", "清掃"), 3, PIECE, 55, "個", True,
                   "樹脂部品の洗浄と外観検査。ロットごとに作業記録を提出。"),
    "onsite": Job("工場構内での部品仕分け（構内作業）", ("検品",), 4, HOURLY, 1400, "時間",
                  True, "顧客工場の構内で部品を仕分ける。事業所外での作業・付き添いが必要。"),
    "towel": Job("タオルの検品・たたみ・袋詰め", ("検品", "梱包"), 1, PIECE, 14, "枚", True,
                 "タオルのほつれ・汚れを検品し、たたんで袋詰め。"),
}  # fmt: skip

# --- deals --------------------------------------------------------------------------------

STAGE_NAMES = {
    DealStage.LEAD: "リード",
    DealStage.HEARING: "ヒアリング",
    DealStage.TRIAL: "見学・トライアル",
    DealStage.QUOTE: "見積",
    DealStage.WON: "受注",
    DealStage.LOST: "失注",
}
PIPELINE = (DealStage.LEAD, DealStage.HEARING, DealStage.TRIAL, DealStage.QUOTE)

CUSTOMER, TOO_HARD, LOW_PRICE, OTHER = DEFAULT_LOST_REASONS
LOST_COMMENTS = {
    LOW_PRICE: (
        "月額約10万円の規模で、分担すると1事業所あたりの工賃向上に繋がらないため辞退。",
        "単価の見直しを打診したが合意に至らず。年間200万円規模に届かないため見送り。",
        "時間単価が最低賃金水準を下回る提示だったため辞退。出来高単価での再提案は保留。",
    ),
    TOO_HARD: (
        "顧客工場の構内での作業が必要で、移動・付き添いの体制が組めないため辞退。",
        "公差が厳しく、参加事業所の設備では安定した品質を確保できないため見送り。",
        "溶接技能者の常駐が前提で、対応できる協力企業の能力が不足。",
    ),
    CUSTOMER: (
        "顧客側の生産計画見直しにより案件自体が白紙となった。",
        "顧客の担当者異動に伴い、外注方針が見直しとなった。",
        "顧客の生産拠点移転により案件が中止となった。",
    ),
    OTHER: (
        "納期が短く、品質確認の時間を確保できないため辞退。",
        "他の外注先に決定（価格面）。",
    ),
}
LEAD_SOURCES = (
    "市の企業訪問で担当者と面談し、外注ニーズを聞き取り。",
    "「ふじのくに産業フェア」の出展ブースで名刺交換。",
    "包括連携協定先からの紹介。",
    "ウェブサイトの問い合わせフォームから相談。",
    "商工会議所の交流会で紹介を受けた。",
)
TRIAL_RESULTS = (
    "作業手順は問題なし。検品基準の明文化が必要。",
    "初回の良品率は92%。治具の改善で対応予定。",
    "顧客担当者が現場を確認し、品質に満足との評価。",
    "作業速度が想定の7割。習熟期間を見込んだ単価設定が必要。",
)
DUE_CHANGE_REASONS = ("顧客の仕様変更のため", "部材の入荷遅れのため", "顧客の生産調整のため")
NEXT_ACTIONS = {
    DealStage.LEAD: ("初回訪問のアポイント調整", "会社案内と参加事業所一覧を送付"),
    DealStage.HEARING: ("作業サンプルの受領", "必要工程と月間数量の確認", "図面・仕様書の受領"),
    DealStage.TRIAL: ("トライアル結果の報告", "見学日程の調整", "トライアル用の作業手順書作成"),
    DealStage.QUOTE: ("見積書の提出", "見積回答の確認", "単価の再交渉"),
}


@dataclass
class Staff:
    membership_id: int
    user_id: int


@dataclass
class DealPlan:
    fiscal_year: int
    outcome: DealStage
    lost_reason: str | None = None
    buyer: int | None = None  # index into BUYERS
    opened_on: date = DEMO_TODAY
    closed_on: date | None = None
    job: str = ""
    owner: Staff | None = None
    reached: DealStage = DealStage.LEAD  # for lost deals: the last stage before losing
    no_order: bool = False


def load_demo_records(session: Session, tenant_id: int, owner_user_ids: Sequence[int]) -> bool:
    """Fill the workspace with demo records unless it already has facilities.

    ``owner_user_ids``: the staff who own deals and write timeline entries (members of the
    workspace). Returns whether anything was created.
    """
    with tenant_scope(session, tenant_id):
        if session.scalar(select(Facility.id).limit(1)) is not None:
            return False
        rows = session.execute(
            select(Membership.user_id, Membership.id).where(Membership.user_id.in_(owner_user_ids))
        )
        memberships = {user_id: membership_id for user_id, membership_id in rows}
        staff = [Staff(memberships[u], u) for u in owner_user_ids if u in memberships]
        rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
        _DemoBuilder(session, rng, staff).build()
    return True


# --- small helpers --------------------------------------------------------------------------


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, months: int) -> date:
    """The first day of the month ``months`` after d's month."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """First days of every month from first's month to last's month, inclusive."""
    months = []
    current = month_start(first)
    while current <= month_start(last):
        months.append(current)
        current = add_months(current, 1)
    return months


def at(d: date, hour_jst: int = 10, minute: int = 0) -> datetime:
    """A timezone-aware UTC datetime for a JST office hour of a day."""
    return datetime(d.year, d.month, d.day, hour_jst, minute, tzinfo=JST).astimezone(UTC)


def round_to(value: float, step: int) -> int:
    return max(step, round(value / step) * step)


class _DemoBuilder:
    def __init__(self, session: Session, rng: random.Random, staff: list[Staff]) -> None:
        self.session = session
        self.rng = rng
        self.staff = staff
        self.capabilities: dict[str, Capability] = {}
        self.lost_reasons: dict[str, LostReason] = {}
        self.goals: list[PlanGoal] = []
        self.facilities: list[Facility] = []
        self.facility_skills: list[dict[str, int]] = []
        self.buyers: list[Buyer] = []
        self.buyer_contacts: list[str] = []
        self.agreements: dict[int, Agreement] = {}  # buyer index -> agreement
        self.overdue_lots = 0
        self.rejected_lots = 0
        self.teams: dict[int, list[Facility]] = {}  # id(order) -> the facilities sharing it

    # -- orchestration --

    def build(self) -> None:
        new: list[object] = []
        new += self._catalogues()
        new += self._facilities()
        new += self._buyers()
        self.session.add_all(new)
        self.session.flush()  # ids for catalogues, facilities and buyers

        later: list[object] = []
        later += self._facility_details()
        agreements = self._agreements()
        plans = self._deal_plans()
        deals = [self._deal(plan) for plan in plans]
        self.session.add_all([*later, *agreements, *deals])
        self.session.flush()  # ids for agreements and deals

        linked: list[object] = []
        linked += self._agreement_details()
        orders: list[tuple[Order, Deal, Job]] = []
        for deal, plan in zip(deals, plans, strict=True):
            job = JOBS[plan.job]
            linked += [
                DealCapability(deal_id=deal.id, capability_id=self.capabilities[name].id)
                for name in job.capabilities
            ]
            if deal.stage == DealStage.WON and not plan.no_order:
                orders.append((self._order(deal, plan), deal, job))
        self._cancel_one([order for order, _, _ in orders])
        self.session.add_all([*linked, *(order for order, _, _ in orders)])
        self.session.flush()  # ids for orders

        last: list[object] = []
        for deal, plan in zip(deals, plans, strict=True):
            last += self._deal_timeline(deal, plan)
        for order, deal, job in orders:
            last += self._order_details(order, deal, job)
        self.session.add_all(last)
        self.session.flush()
        self._matching(orders)

        from app.quality.demo import add_quality_records

        add_quality_records(self.session, DEMO_TODAY)
        self._report_history(orders)

    # -- catalogues --

    def _catalogues(self) -> list[object]:
        session = self.session
        existing_caps = {c.name: c for c in session.scalars(select(Capability))}
        existing_levels = set(session.scalars(select(DifficultyLevel.level)))
        existing_goals = {g.code: g for g in session.scalars(select(PlanGoal))}
        existing_reasons = {r.label: r for r in session.scalars(select(LostReason))}
        new: list[object] = []
        for order, name in enumerate(DEFAULT_CAPABILITIES, start=1):
            capability = existing_caps.get(name)
            if capability is None:
                capability = Capability(
                    name=name, description=CAPABILITY_DESCRIPTIONS.get(name, ""), sort_order=order
                )
                new.append(capability)
            self.capabilities[name] = capability
        for level, name, definition in DEFAULT_DIFFICULTY:
            if level not in existing_levels:
                new.append(DifficultyLevel(level=level, name=name, definition=definition))
        for code, title in PLAN_GOALS:
            goal = existing_goals.get(code)
            if goal is None:
                goal = PlanGoal(code=code, title=title)
                new.append(goal)
            self.goals.append(goal)
        for order, label in enumerate(DEFAULT_LOST_REASONS, start=1):
            reason = existing_reasons.get(label)
            if reason is None:
                reason = LostReason(label=label, sort_order=order)
                new.append(reason)
            self.lost_reasons[label] = reason
        return new

    # -- facilities --

    def _person(self) -> str:
        return f"{self.rng.choice(SURNAMES)} {self.rng.choice(GIVEN_NAMES)}"

    def _phone(self, area_code: str) -> str:
        # Subscriber numbers never start with 0 in Japan, so these cannot ring anyone.
        local = self.rng.randrange(0, 1000)
        line = self.rng.randrange(1000, 10000)
        if len(area_code) == 3:
            return f"{area_code}-0{local % 100:02d}-{line}"
        return f"{area_code}-0{local % 10}-{line}"

    def _address(self, municipality: str) -> tuple[str, str]:
        town, postal = self.rng.choice(PLACES[municipality].towns)
        rng = self.rng
        return postal, f"{town}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"

    def _facilities(self) -> list[object]:
        rng = self.rng
        for index, (name, kind, municipality, skills_text, status) in enumerate(FACILITIES):
            skills = {
                cap: int(level) for cap, level in (item.split(":") for item in skills_text.split())
            }
            if kind != MFR:
                for extra in rng.sample(GENERAL_CAPABILITIES, rng.randint(0, 2)):
                    skills.setdefault(extra, rng.choice((1, 1, 2)))
            place = PLACES[municipality]
            postal, address = self._address(municipality)
            workers, hours, wage, pc, difficulty = self._capacity(kind, skills)
            has_coordinates = rng.random() < 0.75
            since = date(rng.randint(2019, 2025), rng.choice((4, 4, 6, 10)), 1)
            notes = rng.choice(FACILITY_NOTES)
            if status == PAUSED:
                notes = "職員体制の見直しのため2026年4月から受注を休止中。再開時期は未定。"
            elif status == LEFT:
                notes = "法人の事業再編により2025年度末で退会。"
            facility = Facility(
                name=name,
                kind=kind,
                status=status or FacilityStatus.PARTICIPATING,
                postal_code=postal,
                prefecture_code=PREFECTURE,
                municipality=municipality,
                address=address,
                latitude=round(place.latitude + rng.uniform(-0.03, 0.03), 6)
                if has_coordinates
                else None,
                longitude=round(place.longitude + rng.uniform(-0.03, 0.03), 6)
                if has_coordinates
                else None,
                contact_name=self._person(),
                contact_phone=self._phone(place.area_code),
                contact_email=f"office{index + 1:02d}@facilities.example.jp",
                equipment="、".join(EQUIPMENT[cap] for cap in skills),
                certifications=self._certifications(kind, skills),
                max_difficulty=None if index in (13, 21, 33) else difficulty,
                workers=workers,
                hours_per_month=hours,
                pc_experience=pc,
                avg_monthly_wage=wage,
                participating_since=since,
                notes=notes,
                created_at=at(since, 9),
                updated_at=at(since, 9),
            )
            if status == LEFT and kind == LIFE:
                facility.archived_at = at(date(2026, 4, 10), 11)
            self.facilities.append(facility)
            self.facility_skills.append(skills)
        return list(self.facilities)

    def _capacity(
        self, kind: FacilityKind, skills: dict[str, int]
    ) -> tuple[int, int, int, bool, int]:
        rng = self.rng
        if kind == B:
            workers = rng.randint(10, 30)
            return (
                workers,
                workers * rng.randint(20, 35),
                round_to(rng.uniform(15_000, 25_000), 100),
                "データ入力" in skills or rng.random() < 0.25,
                rng.choice((1, 2, 2, 2, 3)),
            )
        if kind == A:
            workers = rng.randint(10, 20)
            return (
                workers,
                workers * rng.randint(60, 90),
                round_to(rng.uniform(80_000, 95_000), 100),
                "データ入力" in skills or rng.random() < 0.5,
                rng.choice((2, 3, 3)),
            )
        if kind == LIFE:
            workers = rng.randint(12, 25)
            return (
                workers,
                workers * rng.randint(5, 10),
                round_to(rng.uniform(4_000, 9_000), 100),
                False,
                1,
            )
        return (
            rng.randint(5, 40),
            round_to(rng.uniform(300, 1500), 10),
            0,
            rng.random() < 0.6,
            rng.choice((3, 4, 4)),
        )

    def _certifications(self, kind: FacilityKind, skills: dict[str, int]) -> str:
        if kind == MFR:
            return "ISO 9001" if self.rng.random() < 0.6 else ""
        if "データ入力" in skills and kind == A:
            return "プライバシーマーク"
        return ""

    def _facility_details(self) -> list[object]:
        rng = self.rng
        rows: list[object] = []
        for facility, skills in zip(self.facilities, self.facility_skills, strict=True):
            rows += [
                FacilityCapability(
                    facility_id=facility.id,
                    capability_id=self.capabilities[cap].id,
                    proficiency=level,
                )
                for cap, level in skills.items()
            ]
            if facility.kind == MFR:
                continue
            wage = facility.avg_monthly_wage
            history = []
            for year in reversed(WAGE_YEARS):
                history.append((year, wage))
                wage = round_to(wage / (1 + rng.uniform(0.01, 0.07)), 10)
            rows += [
                FacilityWage(
                    facility_id=facility.id,
                    fiscal_year=year,
                    avg_monthly_wage=amount,
                    workers=max(1, facility.workers + rng.randint(-2, 1)),
                )
                for year, amount in reversed(history)
            ]
        return rows

    # -- buyers --

    def _buyers(self) -> list[object]:
        for index, (name, kana, industry, municipality, domain, _jobs, notes) in enumerate(BUYERS):
            postal, address = self._address(municipality)
            contact = self._person()
            created = date(2024, 4, 1) + timedelta(days=self.rng.randint(0, 364))
            buyer = Buyer(
                name=name,
                name_kana=kana,
                industry=industry,
                postal_code=postal,
                prefecture_code=PREFECTURE,
                address=f"{municipality}{address}",
                website=f"https://www.{domain}.example.co.jp/",
                contact_name=contact,
                contact_email=f"info@{domain}.example.co.jp",
                contact_phone=self._phone(PLACES[municipality].area_code),
                latitude=PLACES[municipality].latitude,
                longitude=PLACES[municipality].longitude,
                notes=notes,
                created_at=at(created, 11),
                updated_at=at(created, 11),
            )
            if index == ARCHIVED_BUYER:
                buyer.archived_at = at(date(2026, 4, 3), 15)
            self.buyers.append(buyer)
            self.buyer_contacts.append(contact)
        return list(self.buyers)

    # -- agreements --

    def _agreements(self) -> list[Agreement]:
        full_scope = {
            "remote_support_first": True,
            "response_time_hours": 24,
            "minimum_commitment_months": 12,
        }
        specs: list[tuple[int, dict[str, object]]] = [
            (0, {
                "title": "障害者の就労促進と地域ものづくりに関する包括連携協定",
                "kind": AgreementKind.COMPREHENSIVE,
                "fields_of_collaboration": "1. 障害のある人の就労機会の拡大\n"
                "2. 福祉事業所への部品組立等の発注\n3. 技術指導による事業所の品質向上",
                "signed_on": date(2024, 7, 10), "starts_on": date(2024, 7, 10),
                "ends_on": date(2027, 3, 31), "renewal_on": date(2027, 3, 31),
                "remind_days_before_renewal": 90,
                "remote_support_first": True, "response_time_hours": 48,
                "notes": "市長・社長出席で締結式を実施。年2回の連絡会議で進捗を確認。",
            }),
            (2, {
                "title": "食と福祉の連携による工賃向上に関する包括連携協定",
                "kind": AgreementKind.COMPREHENSIVE,
                "fields_of_collaboration": "1. 自社商品の箱詰め等の福祉事業所への発注\n"
                "2. 事業所製品の社内販売\n3. 農福連携による商品開発",
                "signed_on": date(2025, 3, 24), "starts_on": date(2025, 4, 1),
                "ends_on": date(2028, 3, 31), "renewal_on": date(2028, 3, 31),
                "inspection_level": "抜取検査（1ロット20箱）",
                "acceptance_criteria": "封緘シールの位置ずれ・汚れなし、賞味期限印字の確認",
                "forecast_deadline_day": 20,
            }),
            (1, {
                "title": "チラシ・名刺印刷業務委託契約",
                "kind": AgreementKind.OUTSOURCING,
                "fields_of_collaboration": "オンデマンド印刷・断裁・封入業務",
                "signed_on": date(2025, 3, 28), "starts_on": date(2025, 4, 1),
                "ends_on": date(2027, 9, 30), "renewal_on": date(2027, 9, 30),
                **full_scope,
                "free_onsite_visits_per_year": 4, "onsite_rate_yen": 12_000,
                "inspection_level": "全数検査（色味・裁断ズレ）",
                "acceptance_criteria": "色見本との差異なし、裁断ズレ±0.5mm以内、汚れ・折れなし",
                "forecast_deadline_day": 20,
                "notes": "技術者派遣は年4回まで無償、5回目以降は1回12,000円。"
                "まず写真・動画で相談。",
            }),
            (13, {
                "title": "自動車部品組立・検査業務委託契約",
                "kind": AgreementKind.OUTSOURCING,
                "fields_of_collaboration": "ブレーキ部品のサブアッセンブリ、ハーネス加工、外観検査",
                "signed_on": date(2025, 4, 18), "starts_on": date(2025, 5, 1),
                "ends_on": date(2027, 4, 30), "renewal_on": date(2027, 4, 30),
                **full_scope,
                "response_time_hours": 48,
                "free_onsite_visits_per_year": 2, "onsite_rate_yen": 25_000,
                "inspection_level": "抜取検査（AQL 1.0、ロットごと）",
                "acceptance_criteria": "図面寸法公差内、限度見本による外観判定、不良率0.3%以下",
                "forecast_deadline_day": 15,
                "notes": "不具合発生時はまず図面・写真で遠隔対応。現地派遣は年2回まで無償。",
            }),
            (3, {
                "title": "物流センター内 梱包・発送補助業務委託契約",
                "kind": AgreementKind.OUTSOURCING,
                "fields_of_collaboration": "通販商品のピッキング・梱包・発送補助",
                "signed_on": date(2025, 1, 10), "starts_on": date(2025, 1, 16),
                "ends_on": date(2027, 1, 15), "renewal_on": date(2027, 1, 15),
                "remind_days_before_renewal": 60, "price_review_at_renewal": True,
                **full_scope,
                "free_onsite_visits_per_year": 6, "onsite_rate_yen": 8_000,
                "inspection_level": "出荷前の数量・宛先照合（全件）",
                "acceptance_criteria": "誤出荷率0.05%以下",
                "forecast_deadline_day": 25,
                "notes": "最低賃金の改定を踏まえ、更新時に単価を1件90円→100円へ見直す協議を予定。",
            }),
            (VAGUE_BUYER, {
                "title": "障害者の活躍推進に関する包括連携協定",
                "kind": AgreementKind.COMPREHENSIVE,
                "fields_of_collaboration": "障害のある人の就労機会の拡大に関すること\n"
                "その他、双方が必要と認める事項",
                "signed_on": date(2025, 11, 5), "starts_on": date(2025, 11, 5),
                "notes": "締結式は市長・代表取締役が出席し報道発表。締結後の具体的な取組は未定。",
            }),
            (6, {
                "title": "アンケートデータ入力業務 個別契約",
                "kind": AgreementKind.INDIVIDUAL,
                "fields_of_collaboration": "紙アンケート・伝票のデータ入力",
                "signed_on": date(2025, 6, 20), "starts_on": date(2025, 7, 1),
                "ends_on": date(2027, 3, 31), "renewal_on": date(2027, 3, 31),
                "remote_support_first": True, "response_time_hours": 24,
                "inspection_level": "ダブル入力による全件照合",
                "acceptance_criteria": "入力誤り率0.1%以下",
                "minimum_commitment_months": 6, "forecast_deadline_day": 25,
            }),
            (4, {
                "title": "ものづくりと福祉の連携に関する協定",
                "kind": AgreementKind.COMPREHENSIVE,
                "fields_of_collaboration": "1. 楽器部品の加工・組立の発注\n"
                "2. 技術者による事業所の巡回指導\n3. 工賃向上の効果測定",
                "signed_on": date(2023, 10, 2), "starts_on": date(2023, 10, 2),
                "ends_on": date(2027, 9, 30), "renewal_on": date(2027, 9, 30),
                "remind_days_before_renewal": 90, "price_review_at_renewal": True,
                "remote_support_first": False, "free_onsite_visits_per_year": 6,
                "onsite_rate_yen": 20_000, "response_time_hours": 72,
            }),
        ]  # fmt: skip
        agreements = []
        for buyer_index, values in specs:
            signed = values.get("signed_on")
            agreement = Agreement(buyer_id=self.buyers[buyer_index].id, **values)
            if isinstance(signed, date):
                agreement.created_at = agreement.updated_at = at(signed, 14)
            self.agreements[buyer_index] = agreement
            agreements.append(agreement)
        return agreements

    def _agreement_details(self) -> list[object]:
        goal = {g.code: g for g in self.goals}
        links = {0: ("1-3-1", "4-2-1"), 2: ("1-3-2", "4-4-3"), 4: ("4-2-1", "1-3-2"), 1: ("1-3-2",)}
        rows: list[object] = []
        for buyer_index, codes in links.items():
            agreement = self.agreements[buyer_index]
            rows += [AgreementGoal(agreement_id=agreement.id, goal_id=goal[c].id) for c in codes]
        done, doing, planned, hold = (
            ActionStatus.DONE,
            ActionStatus.IN_PROGRESS,
            ActionStatus.PLANNED,
            ActionStatus.ON_HOLD,
        )
        plans = {
            0: (
                ("部品組立の共同受注を試行（月3,000個）", "東海精機 製造部／デモ市 窓口",
                 date(2024, 12, 27), done, "試行ロットの不良率0.5%以下", 100),
                ("参加事業所向け組立研修の開催（年2回）", "東海精機 品質保証課",
                 date(2026, 12, 15), doing, "受講事業所数 8", 50),
                ("年間発注額の拡大", "東海精機 購買部",
                 date(2027, 3, 31), doing, "年間発注額 600万円", 60),
                ("成果報告と次年度計画の策定", "デモ市 障害福祉課",
                 date(2027, 3, 15), planned, "報告書の公表", 0),
            ),
            2: (
                ("自社商品の箱詰め・シール貼りの発注開始", "駿河フーズ 生産管理部",
                 date(2025, 7, 31), done, "月5,000箱", 100),
                ("社員食堂での事業所製品の販売会", "駿河フーズ 総務部",
                 date(2027, 3, 31), doing, "販売会 年4回", 50),
                ("農福連携によるみかん加工品の共同開発", "駿河フーズ 商品開発室／かわせみ作業所",
                 date(2026, 10, 31), hold, "試作品 1品", 20),
            ),
            4: (
                ("楽器部品の研磨・組立トライアル", "はままつ楽器工業 技術部",
                 date(2024, 3, 29), done, "トライアル良品率95%以上", 100),
                ("技術者による事業所の巡回指導", "はままつ楽器工業 技術部",
                 date(2027, 3, 31), doing, "巡回 年6回", 50),
                ("工賃向上の効果測定", "デモ市 障害福祉課",
                 date(2027, 5, 31), planned, "参加事業所の平均工賃 +2,000円/月", 0),
            ),
        }  # fmt: skip
        for buyer_index, items in plans.items():
            agreement = self.agreements[buyer_index]
            rows += [
                ActionItem(
                    agreement_id=agreement.id,
                    title=title,
                    owner=owner,
                    due_on=due,
                    status=status,
                    kpi=kpi,
                    progress=progress,
                )
                for title, owner, due, status, kpi, progress in items
            ]
        return rows

    # -- deals --

    def _deal_plans(self) -> list[DealPlan]:
        rng = self.rng
        won, lost = DealStage.WON, DealStage.LOST
        lost_reasons = [LOW_PRICE] * 8 + [TOO_HARD] * 5 + [CUSTOMER] * 6 + [OTHER] * 2
        rng.shuffle(lost_reasons)
        plans = (
            [DealPlan(PREVIOUS_FY, won) for _ in range(13)]
            + [DealPlan(PREVIOUS_FY, lost) for _ in range(13)]
            + [
                DealPlan(PREVIOUS_FY, s)
                for s in (DealStage.HEARING, DealStage.TRIAL, DealStage.QUOTE)
            ]
            + [DealPlan(CURRENT_FY, won) for _ in range(14)]
            + [DealPlan(CURRENT_FY, lost) for _ in range(8)]
            + [DealPlan(CURRENT_FY, DealStage.LEAD) for _ in range(8)]
            + [DealPlan(CURRENT_FY, DealStage.HEARING) for _ in range(7)]
            + [DealPlan(CURRENT_FY, DealStage.TRIAL) for _ in range(7)]
            + [DealPlan(CURRENT_FY, DealStage.QUOTE) for _ in range(7)]
        )
        for plan in plans:
            if plan.outcome == lost:
                plan.lost_reason = lost_reasons.pop()
        self._assign_buyers(plans)
        for plan in plans:
            self._schedule(plan)
        plans.sort(key=lambda p: (p.opened_on, p.buyer or 0))
        # The two most recent wins have no order yet: the coordinator can register them.
        recent_wins = sorted(
            (p for p in plans if p.outcome == won),
            key=lambda p: p.closed_on or DEMO_TODAY,
        )[-2:]
        for plan in recent_wins:
            plan.no_order = True
        return plans

    def _assign_buyers(self, plans: list[DealPlan]) -> None:
        rng = self.rng
        order = list(range(len(plans)))
        rng.shuffle(order)
        agreement_buyers = [0, 2, 1, 13, 3, 6, 4]

        def allowed(buyer: int, plan: DealPlan) -> bool:
            if buyer == ARCHIVED_BUYER:
                return plan.fiscal_year == PREVIOUS_FY and plan.outcome == DealStage.LOST
            if buyer == VAGUE_BUYER:
                return plan.outcome in (DealStage.LEAD, DealStage.LOST)
            return True

        def take(buyer: int, predicate: Callable[[DealPlan], bool]) -> None:
            for i in order:
                plan = plans[i]
                if plan.buyer is None and allowed(buyer, plan) and predicate(plan):
                    plan.buyer = buyer
                    return

        # Every partner with a working agreement has won something, in both years for some.
        for buyer in agreement_buyers:
            take(buyer, lambda p: p.outcome == DealStage.WON and p.fiscal_year == PREVIOUS_FY)
        for buyer in agreement_buyers[:4]:
            take(buyer, lambda p: p.outcome == DealStage.WON and p.fiscal_year == CURRENT_FY)
        take(ARCHIVED_BUYER, lambda p: p.lost_reason == CUSTOMER)
        take(VAGUE_BUYER, lambda p: p.outcome == DealStage.LOST)
        take(VAGUE_BUYER, lambda p: p.outcome == DealStage.LEAD)
        # Every buyer has at least one deal.
        for buyer in range(len(BUYERS)):
            if not any(p.buyer == buyer for p in plans):
                take(buyer, lambda p: True)
        weights = [3 if b in agreement_buyers else 1 for b in range(len(BUYERS))]
        for i in order:
            plan = plans[i]
            while plan.buyer is None:
                candidate = rng.choices(range(len(BUYERS)), weights)[0]
                if allowed(candidate, plan):
                    plan.buyer = candidate

    def _schedule(self, plan: DealPlan) -> None:
        rng = self.rng
        outcome = plan.outcome
        if plan.fiscal_year == PREVIOUS_FY:
            if outcome in (DealStage.WON, DealStage.LOST):
                opened = date(2025, 4, 7) + timedelta(days=rng.randint(0, 290))
            else:  # still open since the last fiscal year
                opened = date(2026, 1, 13) + timedelta(days=rng.randint(0, 70))
        else:
            windows = {
                DealStage.WON: (date(2026, 4, 6), 200),
                DealStage.LOST: (date(2026, 4, 6), 190),
                DealStage.LEAD: (date(2026, 9, 1), 75),
                DealStage.HEARING: (date(2026, 7, 1), 120),
                DealStage.TRIAL: (date(2026, 5, 11), 140),
                DealStage.QUOTE: (date(2026, 5, 11), 170),
            }
            start, span = windows[outcome]
            opened = start + timedelta(days=rng.randint(0, span))
        plan.opened_on = opened
        if outcome in (DealStage.WON, DealStage.LOST):
            room = (DEMO_TODAY - timedelta(days=2) - opened).days
            plan.closed_on = opened + timedelta(days=rng.randint(min(25, room), min(110, room)))

    def _pick_job(self, plan: DealPlan) -> Job:
        rng = self.rng
        assert plan.buyer is not None
        keys = BUYERS[plan.buyer][5]
        if plan.lost_reason == TOO_HARD:
            hard = [k for k in keys if JOBS[k].difficulty >= 3]
            key = rng.choice(hard or ["onsite"])
        elif plan.lost_reason == LOW_PRICE:
            cheap = [k for k in keys if JOBS[k].recurring and JOBS[k].difficulty <= 2]
            key = rng.choice(cheap or ["dm"])
        else:
            choices = [k for k in keys if k != "onsite"] or list(keys)
            key = rng.choice(choices)
        plan.job = key
        return JOBS[key]

    def _amounts(self, plan: DealPlan, job: Job) -> tuple[int, int | None, int | None]:
        """(amount, monthly_amount, expected_months): recurring amounts are monthly × months."""
        rng = self.rng
        if plan.lost_reason == LOW_PRICE:
            monthly = round_to(rng.uniform(80_000, 120_000), 5_000)
            months = 12
            return monthly * months, monthly, months
        recurring = job.recurring if rng.random() < 0.85 else not job.recurring
        if recurring:
            if plan.outcome == DealStage.WON:
                monthly = round_to(rng.triangular(150_000, 600_000, 250_000), 5_000)
            else:
                monthly = round_to(rng.triangular(50_000, 600_000, 180_000), 5_000)
            months = rng.choice((6, 12, 12, 12, 18, 24))
            return monthly * months, monthly, months
        if plan.outcome == DealStage.WON:
            amount = round_to(rng.triangular(300_000, 3_000_000, 800_000), 10_000)
        else:
            amount = round_to(rng.triangular(100_000, 3_000_000, 600_000), 10_000)
        return amount, None, None

    def _volume(self, job: Job, monthly: int | None, amount: int) -> str:
        if monthly is not None:
            quantity = max(10, monthly // job.unit_price // 10 * 10)
            if job.basis == HOURLY:
                return f"月{quantity:,}時間"
            return f"{quantity:,}{job.unit}/月"
        quantity = max(10, amount // job.unit_price // 10 * 10)
        return f"{quantity:,}{job.unit}"

    def _deal(self, plan: DealPlan) -> Deal:
        rng = self.rng
        job = self._pick_job(plan)
        amount, monthly, months = self._amounts(plan, job)
        opened, closed = plan.opened_on, plan.closed_on
        owner = self._owner()
        plan.owner = owner
        stage = plan.outcome
        assessed = stage != DealStage.LEAD
        deal = Deal(
            buyer_id=self.buyers[plan.buyer or 0].id,
            title=job.title,
            description=job.description,
            stage=stage,
            amount=amount,
            recurring=monthly is not None,
            monthly_amount=monthly,
            expected_months=months,
            difficulty_level=job.difficulty if assessed else None,
            volume=self._volume(job, monthly, amount),
            pricing_basis=job.basis if assessed else None,
            owner_id=owner.membership_id if owner else None,
            opened_on=opened,
            closed_on=closed,
            created_at=at(opened, 10),
            updated_at=at(closed or opened, 16),
        )
        if stage in PIPELINE:
            deal.next_action = rng.choice(NEXT_ACTIONS[stage])
            deal.next_action_on = DEMO_TODAY + timedelta(days=rng.randint(-10, 21))
        if stage == DealStage.LOST:
            assert plan.lost_reason is not None
            deal.lost_reason_id = self.lost_reasons[plan.lost_reason].id
            deal.lost_comment = rng.choice(LOST_COMMENTS[plan.lost_reason])
            if plan.buyer == ARCHIVED_BUYER and plan.lost_reason == CUSTOMER:
                deal.lost_comment = LOST_COMMENTS[CUSTOMER][2]
            plan.reached = rng.choice(PIPELINE[1:])
        # How far the deal got (the report's conversion rate and win rate by stage).
        if stage == DealStage.LOST:
            deal.furthest_stage = plan.reached
        else:
            deal.furthest_stage = stage if stage in PIPELINE else DealStage.QUOTE
        return deal

    def _stages_passed(self, plan: DealPlan) -> list[DealStage]:
        if plan.outcome in PIPELINE:
            return list(PIPELINE[: PIPELINE.index(plan.outcome) + 1])
        if plan.outcome == DealStage.WON:
            return [*PIPELINE, DealStage.WON]
        reached = plan.reached
        return [*PIPELINE[: PIPELINE.index(reached) + 1], DealStage.LOST]

    # -- what the fiscal-year report reads besides the records above --

    def _report_history(self, orders: list[tuple[Order, Deal, Job]]) -> None:
        """Work assigned to facilities month by month (and the day it was first assigned),
        and the municipality's own purchases (優先調達). Months with an actual amount were
        worked; this month is planned from the buyer's forecast. Its own random stream: the
        records above stay exactly as they were."""
        rng = random.Random(SEED + 6)  # noqa: S311  (demo data)
        city_order, city_deal = self._municipal_purchase()
        orders = [*orders, (city_order, city_deal, JOBS["dm"])]
        months: dict[int, list[OrderMonth]] = {}
        this_month = month_start(DEMO_TODAY)
        for row in self.session.scalars(
            select(OrderMonth)
            .where(
                or_(
                    OrderMonth.actual_amount > 0,
                    and_(OrderMonth.month == this_month, OrderMonth.forecast_amount > 0),
                )
            )
            .order_by(OrderMonth.month)
        ):
            months.setdefault(row.order_id, []).append(row)
        rows: list[object] = []
        for order, _deal, job in orders:
            worked = months.get(order.id, [])
            if not worked:
                continue
            pool = self._participating(job)
            team = rng.sample(pool, min(len(pool), rng.randint(2, 4)))
            # The facilities the order's notes name (分担), where it has them.
            team = self.teams.get(id(order)) or team
            # Facilities for a trial are often chosen before the order is confirmed.
            order.assigned_on = order.confirmed_on + timedelta(days=rng.randint(-5, 25))
            for month in worked:
                amount = month.actual_amount or month.forecast_amount
                assert amount is not None
                hours = amount / HOURLY_RATE
                weights = [rng.uniform(0.5, 1.5) for _ in team]
                for facility, weight in zip(team, weights, strict=True):
                    share = round(hours * weight / sum(weights), 1)
                    rows.append(
                        Assignment(
                            order_id=order.id,
                            facility_id=facility.id,
                            month=month.month,
                            quantity=max(share, 0.1),
                            hours=share,
                            confirmed_at=at(month.month, 9),
                        )
                    )
        self.session.add_all(rows)
        self.session.flush()

    def _municipal_purchase(self) -> tuple[Order, Deal]:
        """デモ市 itself buys the mailing of its newsletter every month: a 優先調達 purchase."""
        city = Buyer(
            name="デモ市役所 障害福祉課",
            name_kana="デモシヤクショ ショウガイフクシカ",
            industry="官公庁",
            prefecture_code=PREFECTURE,
            notes="優先調達推進方針に基づく市の発注。",
            is_municipality=True,
            created_at=at(date(2025, 4, 3), 10),
            updated_at=at(date(2025, 4, 3), 10),
        )
        self.session.add(city)
        self.session.flush()
        owner = self.staff[0].membership_id if self.staff else None
        deal = Deal(
            buyer_id=city.id,
            title="市報の封入・発送（毎月）",
            stage=DealStage.WON,
            furthest_stage=DealStage.QUOTE,
            amount=180_000 * 24,
            recurring=True,
            monthly_amount=180_000,
            expected_months=24,
            owner_id=owner,
            opened_on=date(2025, 4, 3),
            closed_on=date(2025, 4, 22),
            created_at=at(date(2025, 4, 3), 10),
            updated_at=at(date(2025, 4, 22), 16),
        )
        self.session.add(deal)
        self.session.flush()
        order = Order(
            buyer_id=city.id,
            deal_id=deal.id,
            title=deal.title,
            status=OrderStatus.IN_PROGRESS,
            confirmed_on=date(2025, 4, 22),
            starts_on=date(2025, 5, 1),
            ends_on=date(2027, 4, 30),
            created_at=at(date(2025, 4, 22), 15),
            updated_at=at(date(2025, 4, 22), 15),
        )
        self.session.add(order)
        self.session.flush()
        self.session.add_all(
            DealCapability(deal_id=deal.id, capability_id=self.capabilities[name].id)
            for name in JOBS["dm"].capabilities
        )
        self.session.add_all(
            OrderMonth(
                order_id=order.id,
                month=month,
                forecast_amount=180_000,
                forecast_submitted_at=at(
                    min(add_months(month, -1).replace(day=15), DEMO_TODAY - timedelta(days=1)), 10
                ),
                actual_amount=180_000 if month <= LAST_ACTUAL_MONTH else None,
            )
            for month in months_between(
                date(2025, 5, 1), add_months(LAST_ACTUAL_MONTH, FORECAST_MONTHS_AHEAD)
            )
        )
        # A lot a month: the newsletter mailed by the 25th (the March one a day late).
        self.session.add_all(
            Delivery(
                order_id=order.id,
                lot_no=f"市報{month:%Y%m}",
                quantity=12_000,
                original_due_on=month.replace(day=25),
                delivered_on=(
                    month.replace(day=26 if month.month == 3 else 24)
                    if month <= LAST_ACTUAL_MONTH
                    else None
                ),
                status=(
                    DeliveryStatus.ACCEPTED
                    if month <= LAST_ACTUAL_MONTH
                    else DeliveryStatus.PLANNED
                ),
            )
            for month in months_between(date(2025, 5, 1), add_months(LAST_ACTUAL_MONTH, 1))
        )
        author = self.staff[0].user_id if self.staff else None
        self.session.add_all(
            [
                TimelineEntry(
                    deal_id=deal.id,
                    body="障害福祉課から市報の封入・発送の相談。市の優先調達推進方針に沿った発注。",
                    author_user_id=author,
                    at=at(date(2025, 4, 3), 11),
                ),
                TimelineEntry(
                    order_id=order.id,
                    body="毎月25日までに発送。宛名ラベルは前月20日に市から受領。",
                    author_user_id=author,
                    at=at(date(2025, 4, 22), 15),
                ),
            ]
        )
        self.session.flush()
        return order, deal

    def _participating(self, job: Job) -> list[Facility]:
        """Facilities that could take the job: all its processes if enough can, else its main
        one; welfare workshops first for easy work; never paused or departed ones."""
        active = [
            (f, skills)
            for f, skills in zip(self.facilities, self.facility_skills, strict=True)
            if f.status == FacilityStatus.PARTICIPATING
            and (f.max_difficulty is None or f.max_difficulty >= job.difficulty)
        ]
        pool = [f for f, skills in active if all(c in skills for c in job.capabilities)]
        if len(pool) < 2:
            pool = [f for f, skills in active if job.capabilities[0] in skills]
        if job.difficulty <= 2:
            welfare = [f for f in pool if f.kind != MFR]
            if len(welfare) >= 2:
                pool = welfare
        return pool or [f for f in self.facilities if f.status == FacilityStatus.PARTICIPATING]

    def _owner(self) -> Staff | None:
        """The first staff member (the coordinator) owns about twice as many deals."""
        if not self.staff:
            return None
        weights = [2] + [1] * (len(self.staff) - 1)
        return self.rng.choices(self.staff, weights)[0]

    def _author(self) -> int | None:
        return self.rng.choice(self.staff).user_id if self.staff else None

    def _short(self, facility: Facility) -> str:
        return facility.name.split(" ")[-1]

    def _deal_timeline(self, deal: Deal, plan: DealPlan) -> list[TimelineEntry]:
        rng = self.rng
        owner = plan.owner
        job = JOBS[plan.job]
        stages = self._stages_passed(plan)
        end = deal.closed_on or min(
            DEMO_TODAY - timedelta(days=1), deal.opened_on + timedelta(days=120)
        )
        end = max(end, deal.opened_on)
        span = (end - deal.opened_on).days
        steps = len(stages) - 1
        entries: list[TimelineEntry] = []

        def entry(
            day: date, body: str, kind: EntryKind = EntryKind.NOTE, internal: bool = False
        ) -> None:
            author = owner.user_id if owner and rng.random() < 0.8 else self._author()
            entries.append(
                TimelineEntry(
                    deal_id=deal.id,
                    kind=kind,
                    body=body,
                    internal=internal,
                    author_user_id=author,
                    at=at(day, rng.randint(9, 17), rng.choice((0, 15, 30, 45))),
                )
            )

        contact = self.buyer_contacts[plan.buyer or 0]
        entry(deal.opened_on, f"{rng.choice(LEAD_SOURCES)}（先方担当: {contact}様）")
        facility = rng.choice(self._participating(job))
        for step, (before, after) in enumerate(itertools.pairwise(stages), start=1):
            day = deal.opened_on + timedelta(days=span * step // max(steps, 1))
            if after == DealStage.HEARING:
                entry(
                    day,
                    f"ヒアリング: {deal.volume}、必要工程は{'・'.join(job.capabilities)}。"
                    f"業務難易度{job.difficulty}相当。",
                )
            elif after == DealStage.TRIAL:
                entry(
                    day,
                    f"{self._short(facility)}で見学・トライアルを実施。{rng.choice(TRIAL_RESULTS)}",
                )
            elif after == DealStage.QUOTE:
                if deal.monthly_amount is not None:
                    quote = f"月額{deal.monthly_amount:,}円 × {deal.expected_months}か月"
                else:
                    quote = f"総額{deal.amount:,}円"
                entry(
                    day,
                    f"見積提出: {job.unit_price:,}円/{job.unit}（{quote}）。",
                    EntryKind.DECISION,
                    internal=True,
                )
            elif after == DealStage.WON:
                entry(
                    day,
                    f"受注決定。{self._short(facility)}を中心に分担して対応。",
                    EntryKind.DECISION,
                )
            elif after == DealStage.LOST:
                entry(day, f"失注（{plan.lost_reason}）。{deal.lost_comment}", EntryKind.DECISION)
            entry(
                day,
                f"段階を「{STAGE_NAMES[before]}」から「{STAGE_NAMES[after]}」に変更",
                EntryKind.CHANGE,
            )
        return entries

    # -- orders --

    def _order(self, deal: Deal, plan: DealPlan) -> Order:
        rng = self.rng
        assert deal.closed_on is not None
        confirmed = deal.closed_on
        if deal.recurring:
            assert deal.expected_months is not None
            starts = add_months(confirmed + timedelta(days=10), 1)
            ends = add_months(starts, deal.expected_months) - timedelta(days=1)
        else:
            starts = confirmed + timedelta(days=rng.randint(7, 14))
            ends = starts + timedelta(days=rng.randint(20, 60))
        assert plan.buyer is not None
        agreement = None if plan.buyer == VAGUE_BUYER else self.agreements.get(plan.buyer)
        if starts > DEMO_TODAY:
            status = OrderStatus.CONFIRMED
        elif ends >= DEMO_TODAY:
            status = OrderStatus.IN_PROGRESS
        elif ends >= DEMO_TODAY - timedelta(days=30):
            status = OrderStatus.DELIVERED
        else:
            status = OrderStatus.CLOSED
        job = JOBS[plan.job]
        helpers = self._participating(job)
        team = rng.sample(helpers, min(len(helpers), rng.randint(2, 3)))
        notes = "分担: " + "、".join(self._short(f) for f in team)
        order = Order(
            buyer_id=deal.buyer_id,
            deal_id=deal.id,
            agreement_id=agreement.id if agreement is not None else None,
            title=deal.title,
            status=status,
            confirmed_on=confirmed,
            starts_on=starts,
            ends_on=ends,
            notes=notes,
            created_at=at(confirmed, 15),
            updated_at=at(confirmed, 15),
        )
        self.teams[id(order)] = team
        return order

    # -- matching: each order's work spec and the months its team worked --

    def _matching(self, orders: list[tuple[Order, Deal, Job]]) -> None:
        """A work spec per order: hours a month from its monthly amount at ¥1,000 an hour,
        the job's processes and difficulty (the assignments come with the report history)."""
        specs: list[tuple[WorkSpec, Job]] = []
        for order, deal, job in orders:
            monthly = deal.monthly_amount or deal.amount
            hours = min(300, max(20, round(monthly / 1000 / 10) * 10))
            spec = WorkSpec(order_id=order.id, quantity=hours, difficulty_level=job.difficulty)
            specs.append((spec, job))
        self.session.add_all([spec for spec, _ in specs])
        self.session.flush()
        self.session.add_all(
            [
                WorkSpecCapability(spec_id=spec.id, capability_id=self.capabilities[name].id)
                for spec, job in specs
                for name in job.capabilities
            ]
        )
        self.session.flush()

    def _cancel_one(self, orders: list[Order]) -> None:
        """One long running order was cut short by the buyer (取消): its months stop in July."""
        candidates = [
            order
            for order in orders
            if order.status == OrderStatus.IN_PROGRESS
            and order.starts_on is not None
            and order.starts_on < date(2026, 3, 1)
            and order.ends_on is not None
            and order.ends_on > date(2026, 12, 31)
        ]
        if not candidates:
            return
        # Prefer a buyer without an agreement: the kind of risk the seed report warns about.
        order = min(candidates, key=lambda o: o.agreement_id is not None)
        order.status = OrderStatus.CANCELLED
        order.ends_on = date(2026, 7, 31)
        order.notes += "。顧客の生産調整により2026年7月末で取消（以降の発注なし）"

    def _order_details(self, order: Order, deal: Deal, job: Job) -> list[object]:
        rows: list[object] = []
        rows += self._order_months(order, deal)
        deliveries = self._deliveries(order, deal, job)
        rows += deliveries
        rows += self._order_timeline(order, deal, deliveries)
        return rows

    def _order_months(self, order: Order, deal: Deal) -> list[OrderMonth]:
        rng = self.rng
        assert order.starts_on is not None and order.ends_on is not None
        agreement = next((a for a in self.agreements.values() if a.id == order.agreement_id), None)
        deadline = (agreement.forecast_deadline_day if agreement else None) or 20
        horizon = add_months(LAST_ACTUAL_MONTH, FORECAST_MONTHS_AHEAD)
        months = [m for m in months_between(order.starts_on, order.ends_on) if m <= horizon]
        rows = []
        if deal.recurring:
            assert deal.monthly_amount is not None
            for month in months:
                forecast: int | None = round_to(
                    deal.monthly_amount * rng.uniform(0.85, 1.15), 1_000
                )
                actual: int | None = None
                if month <= LAST_ACTUAL_MONTH:
                    assert forecast is not None
                    factor = (
                        rng.uniform(0.8, 1.05) if rng.random() > 0.12 else rng.uniform(0.45, 0.7)
                    )
                    actual = round_to(forecast * factor, 1_000)
                    if rng.random() < 0.04:
                        forecast = None  # the buyer never sent this month's forecast
                rows.append(self._month(order, month, forecast, actual, deadline))
        else:
            share, rest = divmod(deal.amount, len(months))
            for i, month in enumerate(months):
                amount = share + (rest if i == len(months) - 1 else 0)
                actual = amount if month <= LAST_ACTUAL_MONTH else None
                rows.append(self._month(order, month, amount, actual, deadline))
        return rows

    def _month(
        self, order: Order, month: date, forecast: int | None, actual: int | None, deadline: int
    ) -> OrderMonth:
        """A month's row; the forecast was sent by the deadline of the month before (a few
        late), and never after today."""
        submitted = None
        if forecast is not None:
            due = add_months(month, -1).replace(day=deadline)
            roll = self.rng.random()
            day = (
                due + timedelta(days=self.rng.randint(3, 9))
                if roll < 0.1
                else due - timedelta(days=self.rng.randint(0, 5))
            )
            # Forecasts are discussed before the order is confirmed, never sent after today.
            day = min(day, DEMO_TODAY - timedelta(days=1))
            submitted = at(day, self.rng.randint(9, 17))
        return OrderMonth(
            order_id=order.id,
            month=month,
            forecast_amount=forecast,
            forecast_submitted_at=submitted,
            actual_amount=actual,
        )

    def _deliveries(self, order: Order, deal: Deal, job: Job) -> list[Delivery]:
        rng = self.rng
        assert order.starts_on is not None and order.ends_on is not None
        if deal.recurring:
            window = [
                m
                for m in months_between(order.starts_on, order.ends_on)
                if date(2026, 8, 1) <= m <= date(2026, 12, 1)
            ]
            if not window:  # finished before August: its last two lots
                window = months_between(order.starts_on, order.ends_on)[-2:]
            quantity = max(10, (deal.monthly_amount or 0) // job.unit_price // 10 * 10)
            dues = [m.replace(day=rng.choice((20, 25, 25, 28))) for m in window]
            quantities = [quantity] * len(dues)
        else:
            count = rng.randint(1, 3)
            gap = (order.ends_on - order.starts_on).days // count
            dues = [order.starts_on + timedelta(days=gap * (i + 1)) for i in range(count)]
            total = max(10, deal.amount // job.unit_price // 10 * 10)
            quantities = [total // count] * count
        rows = []
        for seq, (due, quantity) in enumerate(zip(dues, quantities, strict=True), start=1):
            revised = due + timedelta(days=rng.randint(4, 14)) if rng.random() < 0.18 else None
            effective = revised or due
            delivered: date | None = None
            late = DEMO_TODAY - timedelta(days=25) <= effective < DEMO_TODAY and (
                self.overdue_lots < 2 or rng.random() < 0.25
            )
            if effective < DEMO_TODAY and not late:
                delivered = effective - timedelta(days=rng.randint(0, 3))
                if (DEMO_TODAY - delivered).days <= 10:
                    status = DeliveryStatus.DELIVERED
                elif rng.random() < 0.03 or (self.rejected_lots == 0 and rng.random() < 0.2):
                    status = DeliveryStatus.REJECTED
                    self.rejected_lots += 1
                else:
                    status = DeliveryStatus.ACCEPTED
            elif late:
                status = DeliveryStatus.IN_PRODUCTION  # overdue
                self.overdue_lots += 1
            elif effective <= DEMO_TODAY + timedelta(days=30):
                status = DeliveryStatus.IN_PRODUCTION
            else:
                status = DeliveryStatus.PLANNED
            rows.append(
                Delivery(
                    order_id=order.id,
                    lot_no=f"L{due:%y%m}-{seq:02d}",
                    quantity=quantity,
                    original_due_on=due,
                    revised_due_on=revised,
                    delivered_on=delivered,
                    status=status,
                    created_at=at(order.confirmed_on, 16),
                    updated_at=at(min(delivered or order.confirmed_on, DEMO_TODAY), 16),
                )
            )
        return rows

    def _order_timeline(
        self, order: Order, deal: Deal, deliveries: list[Delivery]
    ) -> list[TimelineEntry]:
        rng = self.rng
        author = self._author()
        # Recurring orders deliver monthly from their first month (only recent lots are kept).
        first = deliveries[0].original_due_on
        if deal.recurring and order.starts_on is not None:
            first = order.starts_on.replace(day=25)
        entries = [
            TimelineEntry(
                order_id=order.id,
                kind=EntryKind.NOTE,
                body=f"キックオフ会議を実施。{order.notes}。初回納品は"
                f"{first.year}年{first.month}月{first.day}日の予定。",
                author_user_id=author,
                at=at(
                    min(order.confirmed_on + timedelta(days=3), DEMO_TODAY - timedelta(days=1)), 14
                ),
            )
        ]
        for lot in deliveries:
            if lot.revised_due_on is not None:
                changed = min(
                    lot.original_due_on - timedelta(days=5), DEMO_TODAY - timedelta(days=1)
                )
                entries.append(
                    TimelineEntry(
                        order_id=order.id,
                        kind=EntryKind.CHANGE,
                        body=f"ロット{lot.lot_no}の納期を{lot.original_due_on:%Y-%m-%d}から"
                        f"{lot.revised_due_on:%Y-%m-%d}に変更（"
                        f"{rng.choice(DUE_CHANGE_REASONS)}）",
                        author_user_id=author,
                        at=at(max(changed, order.confirmed_on), 11),
                    )
                )
            if lot.status == DeliveryStatus.IN_PRODUCTION and lot.due_on < DEMO_TODAY:
                entries.append(
                    TimelineEntry(
                        order_id=order.id,
                        kind=EntryKind.NOTE,
                        internal=True,
                        body=f"ロット{lot.lot_no}が納期遅れ。作業者の欠勤が重なり進捗が遅延、"
                        "応援の事業所を調整中。",
                        author_user_id=author,
                        at=at(DEMO_TODAY - timedelta(days=1), 17),
                    )
                )
            if lot.status == DeliveryStatus.REJECTED and lot.delivered_on is not None:
                entries.append(
                    TimelineEntry(
                        order_id=order.id,
                        kind=EntryKind.NOTE,
                        body=f"ロット{lot.lot_no}が差戻し。外観不良（キズ）3件。全数再検品のうえ再納品。",
                        author_user_id=author,
                        at=at(lot.delivered_on + timedelta(days=2), 15),
                    )
                )
        return entries
