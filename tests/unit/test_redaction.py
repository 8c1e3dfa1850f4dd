"""The redactor masks a secret however a message quotes it, and only registered secrets."""

from __future__ import annotations

from modeltests.support.redaction import Redactor


def test_a_secret_is_masked_as_written_and_as_repr_json_and_bytes_show_it() -> None:
    redactor = Redactor()
    redactor.add("p@ss\\word\"é")
    assert redactor.mask("token p@ss\\word\"é!") == "token ***!"
    assert redactor.mask(repr("p@ss\\word\"é")) == "'***'"
    assert redactor.mask('{"t": "p@ss\\\\word\\"\\u00e9"}') == '{"t": "***"}'
    assert redactor.mask(repr("p@ss\\word\"é".encode())) == "b'***'"


def test_json_values_are_masked_inside_and_left_alone_otherwise() -> None:
    redactor = Redactor()
    assert redactor.mask({"a": "s3cret-value"}) == {"a": "s3cret-value"}  # nothing registered
    redactor.add("s3cret-value")
    redactor.add("s3cret")  # a secret inside another: the longer one is masked whole
    value = {"s3cret-value": ["x s3cret-value", ("s3cret", 1.5)], "n": None}
    assert redactor.mask(value) == {"***": ["x ***", ("***", 1.5)], "n": None}


def test_values_too_short_to_be_secrets_are_not_masked() -> None:
    redactor = Redactor()
    redactor.add("no")
    redactor.add("")
    assert not redactor
    assert redactor.mask("no answer") == "no answer"
