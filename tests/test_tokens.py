"""Every kind of token we hand out, fed garbage: a clear 404 or "invalid", never a 500.

Kinds: member card QR (SMC1), redemption and coupon QR (SMR1), campaign click links
(SML1, /r/<token>), QR image URLs (/qr/<token>.png) and data export links (/my-data/).
"""

import json

import pytest
from itsdangerous import URLSafeTimedSerializer

from bot.loyalty import qr
from bot.web import links
from simulator import texts

SIG = "A" * qr.SIGNATURE_LENGTH


def garbage(prefix: str) -> dict[str, str]:
    """Tokens that look like ours at a glance and are not."""
    return {
        "superscript digits": f"{prefix}.abc.²³⁴.{SIG}",
        "arabic-indic digits": f"{prefix}.abc.١٢٣٤٥٦٧٨٩٠.{SIG}",
        "non-ascii signature": f"{prefix}.abc.1700000000.{'ñ' * qr.SIGNATURE_LENGTH}",
        "short signature": f"{prefix}.abc.1700000000.AAAA",
        "huge expiry": f"{prefix}.abc.{'9' * 4000}.{SIG}",
        "huge subject": f"{prefix}.{'a' * 100_000}.1700000000.{SIG}",
        "spaces": f"{prefix}. abc .1700000000.{SIG}",
        "query in subject": f'{prefix}.{{"$ne":null}}.1700000000.{SIG}',
        "empty subject": f"{prefix}..1700000000.{SIG}",
        "five parts": f"{prefix}.a.b.1700000000.{SIG}",
    }


CARD_GARBAGE = garbage(qr.PREFIX)


@pytest.mark.parametrize("prefix", [qr.PREFIX, qr.REDEMPTION_PREFIX, "SML1"])
@pytest.mark.parametrize("case", CARD_GARBAGE)
def test_read_token_calls_any_malformed_token_malformed(prefix, case):
    with pytest.raises(qr.TokenError) as refused:
        qr.read_token("secret", garbage(prefix)[case], prefix=prefix)

    assert refused.value.reason == "malformed"


def test_a_genuine_token_still_reads(config):
    token = qr.make_token("secret", "0123456789abcdef01234567")

    assert qr.read_token("secret", token) == "0123456789abcdef01234567"


@pytest.mark.parametrize("prefix", [qr.PREFIX, qr.REDEMPTION_PREFIX])
@pytest.mark.parametrize("case", CARD_GARBAGE)
def test_a_qr_image_url_with_a_malformed_token_is_404(client, prefix, case):
    token = garbage(prefix)[case]

    assert client.get(f"/qr/{token}.png").status_code == 404


@pytest.mark.parametrize("case", CARD_GARBAGE)
def test_a_click_link_with_a_malformed_token_is_404(client, case):
    assert client.get(f"/r/{garbage('SML1')[case]}").status_code == 404


@pytest.mark.parametrize(
    "token",
    ["x" * 100_000, "²³⁴.ñ.ü", "abc.def.ghi", "%00", "eyJ9.AAAA.AAAA"],
)
def test_an_export_link_with_a_malformed_token_is_404(client, token):
    assert client.get(f"/my-data/{token}").status_code == 404


@pytest.mark.parametrize("payload", [{"$ne": None}, ["x"], 42, "", "a" * 500])
def test_an_export_link_signed_over_something_that_is_not_a_member_id_is_404(
    member, client, services, payload
):
    signer = URLSafeTimedSerializer(services.config.SECRET_KEY, salt=links.EXPORT_SALT)

    response = client.get(f"/my-data/{signer.dumps(payload)}")

    assert response.status_code == 404
    assert "+66812345678" not in response.get_data(as_text=True)


def test_a_genuine_export_link_still_works(member, client, services, store):
    member_id = store.member_by_line_id(member.id)["_id"]

    token = links.export_token(services.config, member_id)
    page = client.get(f"/my-data/{token}")
    download = client.get(f"/my-data/{token}/download")

    assert page.status_code == 200 and page.mimetype == "text/html"
    assert download.status_code == 200
    assert json.loads(download.get_data())["profile"]["first_name"] == "Alice"


@pytest.mark.parametrize("case", ["superscript digits", "non-ascii signature", "huge expiry"])
def test_staff_scanning_a_malformed_card_are_told_it_is_invalid(cashier, case):
    reply = texts(cashier.says(f"/member {CARD_GARBAGE[case]}"))

    assert reply == ["This QR code is not a valid member card."]


@pytest.mark.parametrize("case", ["superscript digits", "non-ascii signature", "huge expiry"])
def test_staff_using_a_malformed_reward_qr_are_told_no_such_code(cashier, case):
    token = garbage(qr.REDEMPTION_PREFIX)[case]

    assert texts(cashier.says(f"/use {token}")) == ["No reward or coupon has the code ?."]
