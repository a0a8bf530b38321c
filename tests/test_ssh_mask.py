"""Recordings never hold a secret, however the shell's output is chunked (issue 9, finding 4).

A shell echoes typed characters one or a few at a time: the masker works on the joined stream
and holds back only the tail that could still become a secret.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cspctl.ssh.mask import StreamMasker
from cspctl.ssh.shell import CastWriter
from tests.apiserver import APIKEY, SECRETKEY

SECRETS = (APIKEY, SECRETKEY, "Lab-Passw0rd-XYZ")
# noise has no capital letters: no secret and no typed value (capitals + digits) can appear
# in it by chance, but it has everything that makes partial keys and escapes
NOISE = st.text(alphabet="abcdeiknoprstwy= _-'\"\r\n\t\x1b[0;#$:/", max_size=30)
VALUE = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789!%&*/+.,:", min_size=6, max_size=40)
KEY = st.sampled_from(["password", "PASSWORD", "Password", "passwd", "apikey", "secretKey",
                       "vmpassword", "sessionkey", "signature", "jsessionid"])


@st.composite
def streams(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """A shell stream with known secrets and typed ``key=value`` credentials between noise;
    returns (stream, the values that must not survive, the expected ``key=***`` markers)."""
    parts: list[str] = []
    values: list[str] = []
    markers: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        parts.append(draw(NOISE))
        kind = draw(st.sampled_from(["secret", "bare", "quoted"]))
        sep = draw(st.sampled_from([" ", "\n", "\r\n", "\t"]))
        if kind == "secret":
            parts.append(f"{sep}{draw(st.sampled_from(SECRETS))}{sep}")
        else:
            key, value = draw(KEY), draw(VALUE)
            values.append(value)
            markers.append(f"{key}=***")
            if kind == "bare":
                parts.append(f"{sep}{key}={value.replace(' ', '')}{sep}")
            else:
                quote = draw(st.sampled_from(["'", '"']))
                parts.append(f"{sep}{key}={quote}{value} and more{quote}{sep}")
    parts.append(draw(NOISE))
    return "".join(parts), values, markers


def mask_in_chunks(text: str, cuts: list[int], flushes: set[int]) -> str:
    masker = StreamMasker(SECRETS)
    out: list[str] = []
    start = 0
    for n, cut in enumerate([*sorted(set(cuts)), len(text)]):
        out.append(masker.feed(text[start:cut]))
        if n in flushes:  # the recording's timer fired here
            out.append(masker.flush())
        start = cut
    out.append(masker.close())
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(streams(), st.data())
def test_no_secret_survives_any_chunking(stream, data):
    text, values, markers = stream
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=len(text) + 1))
    flushes = set(data.draw(st.lists(st.integers(0, len(cuts)), max_size=10)))
    whole = mask_in_chunks(text, [], set())
    chunked = mask_in_chunks(text, cuts, flushes)
    assert chunked == whole  # chunking and timer flushes change nothing
    for secret in (*SECRETS, *values):
        assert secret not in chunked
    for marker in markers:
        assert marker in chunked


@settings(max_examples=60, deadline=None)
@given(streams())
def test_one_character_at_a_time_as_a_shell_echoes_typing(stream):
    text, values, _markers = stream
    masker = StreamMasker(SECRETS)
    out = "".join(masker.feed(c) for c in text) + masker.close()
    assert out == mask_in_chunks(text, [], set())
    assert not any(s in out for s in (*SECRETS, *values))


def test_holds_back_only_what_could_become_a_secret():
    masker = StreamMasker([APIKEY])
    assert masker.feed("root@v-1-VM:~# ") == "root@v-1-VM:~# "
    assert not masker.holding
    # a typed key name is held only while it could still become "password="
    assert masker.feed("echo pass") == "echo "
    assert masker.holding
    assert masker.feed("ing\r\n") == "passing\r\n"
    assert not masker.holding
    # a prefix of a known secret is held; the timer does not write it; the end masks it
    assert masker.feed("key " + APIKEY[:10]) == "key "
    assert masker.flush() == ""
    assert masker.holding and masker.hold_limit == len(APIKEY) - 1
    assert masker.close() == "***"


def test_timer_writes_a_key_prefix_and_the_value_is_still_masked():
    masker = StreamMasker([])
    assert masker.feed("# export PASS") == "# export "
    assert masker.flush() == "PASS"  # written after a quiet moment: the recording keeps up
    assert not masker.holding
    assert masker.feed("WORD=") == "WORD="
    assert masker.feed("hun") == "***"
    assert masker.feed("ter2") == ""
    assert masker.feed(" done\n") + masker.close() == " done\n"


def test_values_after_a_word_are_not_keys():
    masker = StreamMasker([])
    out = masker.feed("mypassword=visible vmpassword=hidden") + masker.close()
    assert out == "mypassword=visible vmpassword=***"


def test_cast_file_joined_output_has_no_secret_and_ordered_times(tmp_path: Path):
    path = tmp_path / "s.cast"
    cast = CastWriter(path, cols=80, rows=24, term="xterm", title="v-1-VM", secrets=SECRETS)
    typed = f"echo {APIKEY}\r\n{APIKEY}\r\n# export password=Hunter2Xy9\r\n# exit\r\n"
    for i, ch in enumerate(typed):
        cast.output(ch.encode())
        if i % 7 == 0:
            cast.flush_held()
        if i == 20:
            cast.resize(100, 30)
    cast.close()
    lines = path.read_text().splitlines()
    events = [json.loads(line) for line in lines[1:]]
    times = [e[0] for e in events]
    assert times == sorted(times)
    joined = "".join(e[2] for e in events if e[1] == "o")
    assert joined == "echo ***\r\n***\r\n# export password=***\r\n# exit\r\n"
