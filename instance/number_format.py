"""Numbers as the page's language writes them, through Babel: "7,50 €" and "12,5 kg" in French,
"€7.50" and "12.5 kg" in English (Babel puts its no-break spaces where the language wants them).

The same functions serve the templates (as filters taking the language from the page) and any
Python that writes text for a reader.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel.core import UnknownLocaleError
from babel.dates import format_date
from babel.numbers import UnknownCurrencyError, format_currency, format_decimal
from babel.units import format_unit
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

Number = int | float | Decimal


@lru_cache(maxsize=4096, typed=True)
def money(amount: Number, currency: str, lang: str) -> str:
    """``7.5, "EUR"`` → "7,50 €" (fr), "€7.50" (en); a code Babel does not know stays a code.
    Cached (Babel takes ~30 µs a call, once per result on a search page): the text depends on
    nothing but the arguments, and equal amounts (``7.5``, ``Decimal("7.50")``) write the same,
    rounded to the currency's digits."""
    try:
        return format_currency(amount, currency, locale=lang)
    except (UnknownCurrencyError, UnknownLocaleError, ValueError):
        return f"{format_decimal(amount, '#,##0.00', locale=lang)} {currency}"


def decimal(value: Number, lang: str) -> str:
    return format_decimal(value, locale=lang)


def weight(grams: Number, lang: str) -> str:
    """Grams under a kilogram as grams ("800 g"), else kilograms ("12,5 kg")."""
    if grams >= 1000:
        return format_unit(grams / 1000, "mass-kilogram", length="short", locale=lang)
    return format_unit(grams, "mass-gram", length="short", locale=lang)


def distance(kilometres: Number, lang: str) -> str:
    return format_unit(kilometres, "length-kilometer", length="short", locale=lang)


def minutes(count: Number, lang: str) -> str:
    return format_unit(count, "duration-minute", length="short", locale=lang)


def day(moment: str | date | None, lang: str) -> str:
    """An ISO date or date-time ("2026-12-01T08:00:00+00:00") as its day: "1 déc. 2026"."""
    if not moment:
        return ""
    if not isinstance(moment, str):
        return format_date(moment, "medium", locale=lang)
    try:
        return format_date(datetime.fromisoformat(moment), "medium", locale=lang)
    except ValueError:
        return moment


def _lang(ctx: Context) -> str:
    return str(ctx.get("lang") or "en")


@pass_context
def _money(ctx: Context, amount: Number, currency: str) -> str:
    return money(amount, currency, _lang(ctx))


@pass_context
def _cents(ctx: Context, cents: int, currency: str) -> str:
    return money(Decimal(cents) / 100, currency, _lang(ctx))


@pass_context
def _decimal(ctx: Context, value: Number) -> str:
    return decimal(value, _lang(ctx))


@pass_context
def _weight(ctx: Context, grams: Number) -> str:
    return weight(grams, _lang(ctx))


@pass_context
def _distance(ctx: Context, kilometres: Number) -> str:
    return distance(kilometres, _lang(ctx))


@pass_context
def _minutes(ctx: Context, count: Number) -> str:
    return minutes(count, _lang(ctx))


@pass_context
def _day(ctx: Context, moment: str | date | None) -> str:
    return day(moment, _lang(ctx))


def register_number_filters(env: Environment) -> None:
    """``{{ 7.5|money("EUR") }}``, ``{{ offer.price_cents|cents(offer.currency) }}``,
    ``{{ n|decimal }}``, ``{{ grams|weight }}``, ``{{ km|distance }}``, ``{{ n|minutes }}``,
    ``{{ iso|day }}``, in the page's language (``lang``)."""
    env.filters.update(
        money=_money,
        cents=_cents,
        decimal=_decimal,
        weight=_weight,
        distance=_distance,
        minutes=_minutes,
        day=_day,
    )
