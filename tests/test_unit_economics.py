"""The per-unit margin formula, against cases worked out by hand."""

from __future__ import annotations

import math

import pytest

from core.unit_economics import break_even_price, unit_economics

EU_CASE = dict(price_gross=119.0, vat_rate=0.19, marketplace_fee_rate=0.15, payment_fee_rate=0.029,
               payment_fee_fixed=0.30, fx_cost_rate=0.01, product_cost=20.0, freight=8.0, duty=2.0, ad_rate=0.10,
               return_rate=0.05, return_cost=10.0)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            EU_CASE,
            # vat = 119 × 0.19 / 1.19 = 19; net = 100; marketplace = 0.15 × 119 = 17.85
            # payment = 0.029 × 119 + 0.30 = 3.751; fx = 0.01 × 119 = 1.19; ads = 0.10 × 119 = 11.9
            # returns = 0.05 × 10 = 0.5
            # contribution = 100 − 17.85 − 3.751 − 1.19 − 20 − 8 − 2 − 11.9 − 0.5 = 34.809; margin = 34.809 / 100
            dict(vat=19.0, net_price=100.0, marketplace_fee=17.85, payment_fee=3.751, fx_cost=1.19, ads=11.9,
                 returns=0.5, contribution=34.809, margin_pct=0.34809),
        ),
        (
            {**EU_CASE, "shipping_income": 4.2, "other_costs": 1.5},
            # the ledger's extra lines: shipping charged 4.20 (income), storage and chargebacks 1.50 per unit
            # contribution = 34.809 + 4.2 − 1.5 = 37.509; the margin stays on the net price: 37.509 / 100
            dict(net_price=100.0, contribution=37.509, margin_pct=0.37509, shipping_income=4.2, other_costs=1.5),
        ),
        (
            dict(price_gross=50.0, vat_rate=0.0, marketplace_fee_rate=0.15, payment_fee_rate=0.0,
                 payment_fee_fixed=0.0, fx_cost_rate=0.0, product_cost=10.0, freight=6.0, duty=2.5),
            # US: no VAT in the price; marketplace 0.15 × 50 = 7.5; contribution = 50 − 7.5 − 10 − 6 − 2.5 = 24
            dict(vat=0.0, net_price=50.0, marketplace_fee=7.5, payment_fee=0.0, fx_cost=0.0, ads=0.0, returns=0.0,
                 contribution=24.0, margin_pct=0.48),
        ),
        (
            dict(price_gross=22.0, vat_rate=0.10, marketplace_fee_rate=0.08, payment_fee_rate=0.0,
                 payment_fee_fixed=0.0, fx_cost_rate=0.02, product_cost=9.0, freight=7.0, duty=0.0),
            # JP: vat = 22 × 0.1 / 1.1 = 2; net 20; fee 0.08 × 22 = 1.76; fx 0.02 × 22 = 0.44
            # contribution = 20 − 1.76 − 0.44 − 9 − 7 = 1.8; margin = 1.8 / 20 = 0.09
            dict(vat=2.0, net_price=20.0, marketplace_fee=1.76, payment_fee=0.0, fx_cost=0.44, ads=0.0, returns=0.0,
                 contribution=1.8, margin_pct=0.09),
        ),
    ],
)
def test_unit_economics_hand_worked(inputs, expected):
    result = unit_economics(**inputs)
    for name, value in expected.items():
        assert getattr(result, name) == pytest.approx(value), name


def test_a_zero_price_has_no_margin():
    result = unit_economics(price_gross=0.0, vat_rate=0.2, marketplace_fee_rate=0.15, payment_fee_rate=0.0,
                            payment_fee_fixed=0.0, fx_cost_rate=0.0, product_cost=5.0, freight=0.0, duty=0.0)
    assert result.margin_pct is None
    assert result.contribution == pytest.approx(-5.0)


def test_waterfall_steps_add_up_to_the_contribution():
    result = unit_economics(**EU_CASE)
    waterfall = result.as_waterfall()
    assert list(waterfall["step"])[0] == "Price (incl. VAT)" and list(waterfall["step"])[-1] == "Contribution"
    steps = waterfall[waterfall["key"] != "contribution"]["amount"].sum()
    assert steps == pytest.approx(34.809)  # 119 − 19 − 17.85 − 3.751 − 1.19 − 20 − 8 − 2 − 11.9 − 0.5
    assert waterfall.iloc[-1]["amount"] == pytest.approx(34.809)
    assert waterfall.set_index("key").loc["vat", "amount"] == pytest.approx(-19.0)
    assert "other_costs" not in set(waterfall["key"])  # an estimate has no such line: no empty bar
    fuller = unit_economics(**EU_CASE, shipping_income=4.2, other_costs=1.5).as_waterfall()
    assert list(fuller["key"])[:3] == ["price_gross", "vat", "shipping_income"]
    assert fuller[fuller["key"] != "contribution"]["amount"].sum() == pytest.approx(37.509)


COSTS = {k: v for k, v in EU_CASE.items() if k != "price_gross"}


@pytest.mark.parametrize(
    ("inputs", "price"),
    [
        # share kept = 1/1.19 − 0.15 − 0.029 − 0.01 − 0.10 = 0.840336 − 0.289 = 0.551336
        # fixed = 0.30 + 20 + 8 + 2 + 0.05 × 10 = 30.8;  P = 30.8 / 0.551336 = 55.8642
        (COSTS, 30.8 / (1 / 1.19 - 0.289)),
        # shipping charged 4.2 and other costs 1.5 per unit: fixed = 30.8 + 1.5 − 4.2 = 28.1
        ({**COSTS, "shipping_income": 4.2, "other_costs": 1.5}, 28.1 / (1 / 1.19 - 0.289)),
        # no VAT, 20 % fee, product 8: P = 8 / 0.8 = 10
        (dict(vat_rate=0.0, marketplace_fee_rate=0.2, payment_fee_rate=0.0, payment_fee_fixed=0.0, fx_cost_rate=0.0,
              product_cost=8.0, freight=0.0, duty=0.0), 10.0),
        # 1/1.2 − 0.9 < 0: the fees eat the whole net price, no price breaks even
        (dict(vat_rate=0.2, marketplace_fee_rate=0.9, payment_fee_rate=0.0, payment_fee_fixed=0.0, fx_cost_rate=0.0,
              product_cost=1.0, freight=0.0, duty=0.0), math.inf),
    ],
)
def test_break_even_price(inputs, price):
    found = break_even_price(**inputs)
    assert found == pytest.approx(price)
    if math.isfinite(found):
        assert unit_economics(price_gross=found, **inputs).contribution == pytest.approx(0.0, abs=1e-9)
