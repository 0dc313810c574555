"""ISO 4217: the active currency codes Ferry accepts on orders, with their minor units.

The list is ISO 4217 List One (active codes) without the entries that are not money a shop
charges: precious metals (``XAU``, ``XAG``, ``XPD``, ``XPT``), bond-market units
(``XBA``-``XBD``), ``XDR``, ``XSU``, ``XUA``, the testing code ``XTS`` and ``XXX`` (no currency).
Fund codes (``BOV``, ``CHE``, ``CHW``, ``CLF``, ``COU``, ``MXV``, ``USN``, ``UYI``, ``UYW``) are
not used for retail prices either and are left out. ``ANG`` stays beside its successor ``XCG``
during the changeover, as ISO keeps it listed.

``MINOR_UNITS[code]`` is the number of decimal places of the currency (2 for EUR, 0 for JPY,
3 for KWD): the totals rule allows a rounding difference of one minor unit.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["CURRENCY_CODES", "MINOR_UNITS", "is_currency_code", "minor_unit"]

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DECIMALS = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR
    LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD
    PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR
    ZMW ZWG
"""

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS.split(), 2),
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}

CURRENCY_CODES: frozenset[str] = frozenset(MINOR_UNITS)


def is_currency_code(value: object) -> bool:
    """True for a supported code, in upper case exactly as ISO writes it."""
    return isinstance(value, str) and value in CURRENCY_CODES


def minor_unit(code: str) -> Decimal:
    """The smallest amount of ``code``: ``Decimal('0.01')`` for EUR, ``Decimal('1')`` for JPY."""
    return Decimal(1).scaleb(-MINOR_UNITS[code])
