"""Per-unit economics: the one per-unit formula for what-ifs and estimates (the what-if simulator, product
selection's candidates).

Actual margins and profits come from the contribution-profit ledger, core.profit, never from here: a page that
shows what a SKU, a market or the business earned reads the ledger. The two meet in the what-if: its starting
point for a SKU x market that sold is the ledger's actual figures per unit sold (core.profit.per_unit_by_sku)
fed into this formula as rates and amounts, so that with no lever moved `contribution` here equals the ledger's
contribution per unit (tests/test_profit_consistency.py holds them within 1 %); levers then move the inputs.
A SKU with no sales (a candidate, a market it has not sold in) has no actuals: the inputs are estimates (rate
cards, the landed-cost engine), and the pages say so.

All amounts are per unit sold, in one currency. The price is what the customer pays, VAT included
(as marketplaces show it in the EU, UK, JP and AU; pass vat_rate 0 where tax is added on top, as in
the US):

    vat              = price_gross × vat_rate / (1 + vat_rate)          (the VAT inside a VAT-inclusive price)
    net_price        = price_gross − vat
    marketplace_fee  = price_gross × marketplace_fee_rate               (referral fees are charged on the
                                                                          gross, tax-inclusive item price)
    payment_fee      = price_gross × payment_fee_rate + payment_fee_fixed
    fx_cost          = price_gross × fx_cost_rate                        (conversion spread on the payout)
    ads              = price_gross × ad_rate                              (advertising cost of sale, ACoS on
                                                                          the item price)
    returns          = return_rate × return_cost                          (expected return loss per unit sold)
    contribution     = net_price + shipping_income − marketplace_fee − payment_fee − fx_cost − product_cost
                       − freight − duty − ads − returns − other_costs
    margin_pct       = contribution / net_price

shipping_income (what the buyer paid for shipping, net of VAT) and other_costs (the ledger's per-unit
chargebacks, dispute fees, storage and refunds not tied to a return) are 0 in an estimate; the ledger has them.

Break-even price: contribution(P) = 0 solved for P, since every term is linear in P:

    P = (payment_fee_fixed + product_cost + freight + duty + return_rate × return_cost + other_costs
         − shipping_income)
        / (1 / (1 + vat_rate) − marketplace_fee_rate − payment_fee_rate − fx_cost_rate − ad_rate)

and no price breaks even (infinity) when the denominator is not positive (the percentage costs eat the
whole net price).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

WATERFALL_STEPS = (
    ("price_gross", "Price (incl. VAT)"),
    ("vat", "VAT"),
    ("marketplace_fee", "Marketplace fee"),
    ("payment_fee", "Payment fee"),
    ("fx_cost", "FX cost"),
    ("product_cost", "Product cost"),
    ("freight", "Freight"),
    ("duty", "Duty"),
    ("ads", "Advertising"),
    ("returns", "Returns"),
    ("other_costs", "Other costs"),
)


@dataclass(frozen=True)
class UnitEconomics:
    price_gross: float
    vat: float
    net_price: float
    marketplace_fee: float
    payment_fee: float
    fx_cost: float
    product_cost: float
    freight: float
    duty: float
    ads: float
    returns: float
    contribution: float
    shipping_income: float = 0.0
    other_costs: float = 0.0

    @property
    def margin_pct(self) -> float | None:
        """Contribution / net price (None when the net price is 0)."""
        if not self.net_price:
            return None
        return self.contribution / self.net_price

    def as_waterfall(self) -> pd.DataFrame:
        """Steps from the gross price down to the contribution: the price positive, costs negative,
        then a final 'Contribution' total. `step` is the English label (pages translate it),
        `key` the field name."""
        rows = [
            {"key": key, "step": label, "amount": getattr(self, key) if key == "price_gross" else -getattr(self, key)}
            for key, label in WATERFALL_STEPS if key != "other_costs" or self.other_costs
        ]
        if self.shipping_income:
            rows.insert(2, {"key": "shipping_income", "step": "Shipping charged", "amount": self.shipping_income})
        rows.append({"key": "contribution", "step": "Contribution", "amount": self.contribution})
        return pd.DataFrame(rows, columns=["key", "step", "amount"])


def _percentage_costs(marketplace_fee_rate: float, payment_fee_rate: float, fx_cost_rate: float,
                      ad_rate: float) -> float:
    return marketplace_fee_rate + payment_fee_rate + fx_cost_rate + ad_rate


def unit_economics(
    *,
    price_gross: float,
    vat_rate: float,
    marketplace_fee_rate: float,
    payment_fee_rate: float,
    payment_fee_fixed: float,
    fx_cost_rate: float,
    product_cost: float,
    freight: float,
    duty: float,
    ad_rate: float = 0.0,
    return_rate: float = 0.0,
    return_cost: float = 0.0,
    shipping_income: float = 0.0,
    other_costs: float = 0.0,
) -> UnitEconomics:
    """The contribution of one unit sold at `price_gross` (see the module docstring for each term)."""
    if vat_rate < 0 or price_gross < 0:
        raise ValueError("Price and VAT rate cannot be negative")
    vat = price_gross * vat_rate / (1 + vat_rate)
    net_price = price_gross - vat
    marketplace_fee = price_gross * marketplace_fee_rate
    payment_fee = price_gross * payment_fee_rate + payment_fee_fixed
    fx_cost = price_gross * fx_cost_rate
    ads = price_gross * ad_rate
    returns = return_rate * return_cost
    contribution = (net_price + shipping_income - marketplace_fee - payment_fee - fx_cost - product_cost - freight
                    - duty - ads - returns - other_costs)
    return UnitEconomics(
        price_gross=price_gross, vat=vat, net_price=net_price, marketplace_fee=marketplace_fee,
        payment_fee=payment_fee, fx_cost=fx_cost, product_cost=product_cost, freight=freight, duty=duty,
        ads=ads, returns=returns, contribution=contribution, shipping_income=shipping_income,
        other_costs=other_costs,
    )


def break_even_price(
    *,
    vat_rate: float,
    marketplace_fee_rate: float,
    payment_fee_rate: float,
    payment_fee_fixed: float,
    fx_cost_rate: float,
    product_cost: float,
    freight: float,
    duty: float,
    ad_rate: float = 0.0,
    return_rate: float = 0.0,
    return_cost: float = 0.0,
    shipping_income: float = 0.0,
    other_costs: float = 0.0,
) -> float:
    """The gross (VAT-inclusive) price at which the contribution is exactly 0; math.inf if none."""
    share_kept = 1 / (1 + vat_rate) - _percentage_costs(marketplace_fee_rate, payment_fee_rate, fx_cost_rate,
                                                        ad_rate)
    if share_kept <= 0:
        return math.inf
    fixed = (payment_fee_fixed + product_cost + freight + duty + return_rate * return_cost + other_costs
             - shipping_income)
    return fixed / share_kept
