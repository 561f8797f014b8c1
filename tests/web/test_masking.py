"""Masking rules for personal data."""

from web.masking import mask


def test_phone_keeps_three_and_four():
    assert mask("13812345678", "phone") == "138****5678"
    assert mask("021-65431234", "phone") == "021****1234"
    assert mask("12345", "mobile") == "****"


def test_id_number_stars_every_middle_character():
    assert mask("310101198001011234", "id_number") == "310***********1234"


def test_email_keeps_the_first_letter_and_the_domain():
    assert mask("alice@example.com", "email") == "a***@example.com"
    assert mask("not-an-address", "email") == "****"


def test_missing_values_stay_missing():
    assert mask(None, "phone") is None and mask("", "email") == ""
