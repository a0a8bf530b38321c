"""Safety of everything that reaches a remote shell: quoting and validation (property-based)."""

from __future__ import annotations

import shlex
import string
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cspctl.errors import UsageError
from cspctl.ssh.quote import quote, quote_argv, validate_host, validate_ip, validate_vm_name

SHELL_META = set(";&|$`<>(){}[]*?!~#'\"\\ \t\n\r") | {"\x00"}
hostile = st.text(
    alphabet=st.sampled_from(string.printable + "\x00ä€😀") | st.characters(), min_size=0,
    max_size=60,
)


@given(hostile)
def test_quote_round_trips_through_shlex(value: str) -> None:
    assert shlex.split(quote(value)) == [value]


@given(st.lists(hostile, max_size=6))
def test_quote_argv_round_trips(words: list[str]) -> None:
    assert shlex.split(quote_argv(words)) == words


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00",
                                       blacklist_categories=("Cs",)), max_size=40))
def test_real_shell_sees_the_exact_value(value: str) -> None:
    out = subprocess.run(
        ["sh", "-c", f"printf '%s' {quote(value)}"], capture_output=True, timeout=10
    ).stdout
    assert out.decode("utf-8", "surrogateescape") == value


@given(hostile)
def test_validate_vm_name_rejects_shell_metacharacters(value: str) -> None:
    try:
        name = validate_vm_name(value)
    except UsageError as exc:
        assert exc.exit_code == 2
        return
    assert not (set(name) & SHELL_META)
    assert name == value


@given(st.from_regex(r"\A[vsr]-[0-9]{1,6}-VM\Z"), st.sampled_from(sorted(SHELL_META)), hostile)
def test_a_valid_name_plus_anything_hostile_is_refused(name: str, meta: str, tail: str) -> None:
    with pytest.raises(UsageError):
        validate_vm_name(name + meta + tail)


@pytest.mark.parametrize(
    "good", ["v-2-VM", "s-1-VM", "r-10-VM", "v-123-CSP", "4f5b1c2e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"]
)
def test_system_vm_names_and_uuids_pass(good: str) -> None:
    assert validate_vm_name(good) == good


@pytest.mark.parametrize(
    "bad",
    ["x; rm -rf /", "v-2-VM\n", "v-2-VM;id", "$(id)", "", "-oProxyCommand=x", "v-2-VM ",
     "V-2-VM", "i-2-VM", "../v-2-VM", "v--VM", "4f5b1c2e-1d2a-4c3b-9e8f-0a1b2c3d4e5f\n"],
)
def test_hostile_names_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid system VM name"):
        validate_vm_name(bad)


@given(hostile)
def test_validate_ip_accepts_only_addresses(value: str) -> None:
    try:
        ip = validate_ip(value)
    except UsageError:
        return
    assert not (set(ip) & (SHELL_META - {"[", "]"}))


@pytest.mark.parametrize("bad", ["169.254.1.23; id", "1.2.3.4\n-oX", "host name", "a$(b)"])
def test_validate_host_refuses_metacharacters(bad: str) -> None:
    with pytest.raises(UsageError):
        validate_host(bad)
    with pytest.raises(UsageError):
        validate_ip(bad)
