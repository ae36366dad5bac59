"""SPDX license expressions, as every channel checks and reads them (license-expression's SPDX list)."""

from __future__ import annotations

from functools import cache

from license_expression import ExpressionError, Licensing, get_spdx_licensing  # type: ignore[import-untyped]


@cache
def licensing() -> Licensing:
    """The SPDX licensing, loaded once: its license list takes a noticeable moment to read."""
    return get_spdx_licensing()


def spdx_problem(expression: str) -> str | None:
    """Why `expression` is not an SPDX license expression, or None when it is."""
    try:
        errors: list[str] = licensing().validate(expression, strict=True).errors
    except (ExpressionError, AttributeError) as error:
        # validate() raises itself for some malformed input ("MIT/Apache-2.0", "MIT OR").
        return str(error) or "it does not parse"
    return "; ".join(errors) or None


def canonical(expression: str) -> str:
    """`expression` as SPDX writes it (mit or apache-2.0 -> MIT OR Apache-2.0); as given when it is not SPDX.

    Channels copy the license into their files, so it is normalised once; one
    that is not SPDX stays as written for the channels' own checks to name.
    """
    if not expression.strip() or spdx_problem(expression):
        return expression
    return str(licensing().validate(expression, strict=True).normalized_expression)
