"""Untrusted text never reaches the operator's terminal raw (issue 9, finding 2).

A hostile cloud names its zones, VMs and hosts with terminal escape sequences (OSC title and
clipboard writes, CSI screen clears and the cursor-position request, DCS, C1, DEL, bidi
overrides, newlines). Every CLI output path prints them as visible escapes: checked first as a
property of each renderer (hypothesis), then end to end on the raw bytes the real ``cspctl``
writes when a loopback CloudStack serves those names.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from cspctl.cli.cmd_list import hosts_table, systemvms_table, zones_table
from cspctl.cli.main import error_line
from cspctl.cli.table import render
from cspctl.cloudstack.errors import ApiError
from cspctl.cloudstack.models import Host, SystemVm, Zone
from cspctl.diagnostics.model import PLAYBOOKS, Evidence, Finding, Status
from cspctl.diagnostics.report import render_json, render_markdown, render_text
from cspctl.diagnostics.runner import Diagnosis, VmReport
from cspctl.errors import CspctlError, UsageError
from cspctl.text import safe_block, safe_json, safe_line
from tests.apiserver import ApiServer, Fault
from tests.cli_helpers import ROOT

ESCAPES = [
    "\x1b]0;pwned-title\x07",            # OSC: window title
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",    # OSC 52: clipboard write
    "\x1b[2J",                           # CSI: clear screen
    "\x1b[6n",                           # CSI: cursor position request (answer typed back)
    "\x1bP1$r0m\x1b\\",                  # DCS ... ST
    "\x9b31m",                           # C1 CSI
    "\x7f",                              # DEL
    "\u202e",                            # bidi: right-to-left override
    "\r\nINJECTED LINE",                 # a fake line
    "\x00\x08\x0b\x0c",                  # other C0
    "\ud800",                            # lone surrogate (JSON \ud800 escape)
    "\u2028",
]
HOSTILE = "".join(ESCAPES)

# what a terminal would obey, written independently of cspctl.text
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
RAW_IN_BLOCK = re.compile(f"[{_CONTROL}]")
RAW_IN_LINE = re.compile(f"[{_CONTROL}\n\t]")

untrusted = st.lists(st.one_of(st.sampled_from(ESCAPES), st.text(max_size=20)),
                     max_size=6).map("".join)


def assert_block_safe(text: str) -> None:
    found = RAW_IN_BLOCK.search(text)
    assert found is None, f"raw {found.group()!r} in {text!r}"
    text.encode("utf-8")  # printable on a UTF-8 terminal (no lone surrogate)


def assert_line_safe(text: str) -> None:
    found = RAW_IN_LINE.search(text)
    assert found is None, f"raw {found.group()!r} in {text!r}"
    text.encode("utf-8")


# -- each output path, as a property ---------------------------------------------------------


@given(untrusted)
def test_safe_line_and_block_leave_nothing_a_terminal_obeys(value: str) -> None:
    assert_line_safe(safe_line(value))
    assert_block_safe(safe_block(value))
    assert json.loads(safe_json({"v": value})) == {"v": value}  # same data, safe text
    assert_block_safe(safe_json({"v": value}, indent=2))


def _vm(name: str, other: str) -> SystemVm:
    return SystemVm.from_api({
        "id": other, "name": name, "systemvmtype": "consoleproxy", "state": other,
        "agentstate": other, "hostname": other, "publicip": other, "privateip": other,
        "linklocalip": other, "version": other, "zonename": other, "zoneid": other,
    })  # fmt: skip


@given(untrusted, untrusted)
def test_list_tables_are_safe_and_keep_one_line_per_row(name: str, other: str) -> None:
    zone = Zone.from_api({"id": other, "name": name, "networktype": other,
                          "allocationstate": other, "dns1": other})
    host = Host.from_api({"id": other, "name": name, "type": other, "state": other,
                          "resourcestate": other, "ipaddress": other, "zonename": other})
    for table in (zones_table([zone, zone]), systemvms_table([_vm(name, other)] * 3),
                  hosts_table([host]), render(["A", "B"], [[name, other], [other, name]])):
        lines = table.split("\n")
        assert len(lines) in (2, 3, 4)  # header + rows, never a row split in two
        for line in lines:
            assert_line_safe(line)


def _diagnosis(name: str, other: str) -> Diagnosis:
    evidence = Evidence("vm", f"cat {other}", f"line 1\n{other}\nline 3", 1)
    findings = [
        Finding("agent", f"agent {name}", status, f"summary {other}", [evidence],
                advice=f"advice {other}", playbook=next(iter(PLAYBOOKS)))
        for status in (Status.OK, Status.FAIL, Status.WARN)
    ]
    return Diagnosis("run1", [VmReport(_vm(name, other), findings, route=[f"host {other}"])])


@given(untrusted, untrusted)
@settings(max_examples=60)
def test_diagnosis_reports_are_safe(name: str, other: str) -> None:
    diagnosis = _diagnosis(name, other)
    for out in (render_text(diagnosis), render_text(diagnosis, verbose=True),
                render_markdown(diagnosis), render_json(diagnosis)):
        assert_block_safe(out)
    # the text report keeps its shape: the heading is one line
    assert render_text(diagnosis).split("\n")[0].endswith(": ✘ FAIL")
    doc = json.loads(render_json(diagnosis))
    assert doc["vms"][0]["vm"] == name  # JSON keeps the value exactly


@given(untrusted)
def test_error_messages_are_one_safe_line(value: str) -> None:
    errors: list[BaseException] = [
        CspctlError(f"no system VM {value}"),
        UsageError(f"no zone {value!r}; known zones: {value}, {value}"),
        ApiError("mgmt:8080", "listSystemVms", http_status=530, errortext=value, hint=value),
    ]
    for exc in errors:
        line = error_line(exc)
        assert line.startswith("cspctl: ")
        assert_line_safe(line)


# -- end to end: the real command, raw bytes -------------------------------------------------

RAW_BYTES = re.compile(
    rb"[\x00-\x08\x0b-\x1f\x7f]"         # C0 (but newline and tab), ESC, DEL
    rb"|\xc2[\x80-\x9f]"                 # C1 in UTF-8
    rb"|\xe2\x80[\x8e\x8f\xa8-\xae]|\xe2\x81[\xa6-\xa9]|\xd8\x9c"  # bidi, LS/PS
)


@dataclass
class RawResult:
    returncode: int
    stdout: bytes
    stderr: bytes


async def run_raw(*argv: str, env: dict[str, str]) -> RawResult:
    """The real ``cspctl`` in a subprocess; its output as bytes, exactly as a terminal gets it."""
    full_env = {**os.environ, **env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cspctl", *argv, cwd=ROOT, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return RawResult(proc.returncode or 0, out, err)


def assert_bytes_clean(res: RawResult) -> None:
    for stream in (res.stdout, res.stderr):
        found = RAW_BYTES.search(stream)
        assert found is None, f"raw {found.group()!r} reached the terminal: {stream[:2000]!r}"
        stream.decode("utf-8")  # strict: nothing undecodable either
    assert b"Traceback" not in res.stderr, res.stderr


def hostile_server() -> ApiServer:
    srv = ApiServer(n_systemvms=4)
    srv.zones[0]["name"] = f"zone{HOSTILE}"
    for vm in srv.systemvms:
        vm["name"] = f"{vm['name']}{HOSTILE}"
        vm["zonename"] = f"zone{HOSTILE}"
        vm["hostname"] = f"kvm{HOSTILE}"
        vm["state"] = f"Running{HOSTILE}"
    for host in srv.hosts:
        host["name"] = f"{host['name']}{HOSTILE}"
    return srv


def env_for(srv: ApiServer) -> dict[str, str]:
    return {"CSPCTL_URL": srv.url, "CSPCTL_APIKEY": srv.apikey, "CSPCTL_SECRETKEY": srv.secretkey}


async def test_hostile_names_never_reach_the_terminal_raw() -> None:
    async with hostile_server() as srv:
        env = env_for(srv)
        runs = {
            " ".join(argv): await run_raw(*argv, env=env)
            for argv in (
                ("list", "zones"), ("list", "systemvms"), ("list", "hosts"),
                ("list", "systemvms", "--json"), ("list", "zones", "--json"),
                ("list", "systemvms", "--zone", "nosuch"),
                ("diagnose", "--all", "--no-ssh"), ("diagnose", "--all", "--no-ssh", "-v"),
                ("diagnose", "--all", "--no-ssh", "--format", "md"),
                ("diagnose", "--all", "--no-ssh", "--json"),
                ("ssh", "CPVM", "--print-route"),
            )
        }
    for argv, res in runs.items():
        try:
            assert_bytes_clean(res)
        except AssertionError as exc:
            raise AssertionError(f"cspctl {argv}: {exc}") from None

    # the names are there, made visible
    table = runs["list systemvms"].stdout.decode()
    assert "v-1-VM\\x1b]0;pwned-title\\x07\\x1b]52;c;" in table
    assert "\\x9b31m\\x7f\\u202e\\x0d\\x0aINJECTED LINE" in table
    assert len(table.splitlines()) == 5  # header + 4 VMs: no injected line
    # JSON keeps every value exactly (escaped as JSON, not as raw bytes)
    data = json.loads(runs["list systemvms --json"].stdout)
    assert {d["name"] for d in data} == {f"{n}{HOSTILE}" for n in
                                          ("v-1-VM", "s-2-VM", "v-3-VM", "s-4-VM")}
    # one-line errors stay one line: the known zones, the CPVM ambiguity
    for argv in ("list systemvms --zone nosuch", "ssh CPVM --print-route"):
        res = runs[argv]
        assert res.returncode != 0
        lines = res.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("cspctl: "), res.stderr
    known = runs["list systemvms --zone nosuch"].stderr.decode()
    assert "known zones: zone\\x1b]0;pwned-title" in known
    assert "v-1-VM\\x1b]0;" in runs["ssh CPVM --print-route"].stderr.decode()
    # the reports ran and name the VMs
    for argv in ("diagnose --all --no-ssh", "diagnose --all --no-ssh --format md"):
        assert "v-3-VM\\x1b]0;pwned-title" in runs[argv].stdout.decode(), runs[argv]


async def test_hostile_profile_names_and_server_errors_are_visible_escapes() -> None:
    """A profile file (cmk) names a profile with escapes, and the server's error text holds
    some: ``profiles`` (table and JSON) and the one-line API error print them escaped."""
    from cspctl.config import cmk_config_path

    async with ApiServer() as srv:
        cmk = cmk_config_path()
        cmk.parent.mkdir(parents=True)
        cmk.write_text(
            f"profile = evil\x1b]0;t\x07\n\n"
            f"[evil\x1b]0;t\x07]\nurl = {srv.url}\napikey = {srv.apikey}\n"
            f"secretkey = {srv.secretkey}\n"
        )
        cmk.chmod(0o600)
        srv.faults["listZones"] = Fault(status=530, errortext=f"boom{HOSTILE}")
        runs = {
            " ".join(argv): await run_raw(*argv, env={})
            for argv in (("profiles",), ("profiles", "--json"), ("list", "zones"))
        }
    for argv, res in runs.items():
        try:
            assert_bytes_clean(res)
        except AssertionError as exc:
            raise AssertionError(f"cspctl {argv}: {exc}") from None
    assert "evil\\x1b]0;t\\x07" in runs["profiles"].stdout.decode()
    assert json.loads(runs["profiles --json"].stdout)[0]["name"] == "evil\x1b]0;t\x07"
    listing = runs["list zones"]
    assert listing.returncode != 0
    lines = listing.stderr.decode().splitlines()
    assert len(lines) == 1 and "boom\\x1b]0;pwned-title" in lines[0], lines
