"""One line per journal event: its kind (for filters) and a sentence an operator reads.

Shared by ``cspctl log show``, the report's timeline and the console's session-log tab.
Events this version does not know (or from a newer schema) are described as their raw JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cspctl.sessionlog.reader import is_newer
from cspctl.text import safe_line

KINDS = ("session", "finding", "action", "shell", "api", "command", "note", "refresh", "other")
"""Every kind :func:`kind_of` returns, in the order a filter offers them."""

RAW = "raw"


def kind_of(event: dict[str, Any]) -> str:
    """The filter kind of an event: finding, action, shell, api, command, note..."""
    if is_newer(event):
        return RAW
    name = str(event.get("event", ""))
    if name.startswith("session."):
        return "session"
    if name.startswith("diag."):
        return "finding"
    if name.startswith(("repair.", "confirm.")) or name in ("ui.real_terminal", "ssh.hostkey"):
        return "action"
    if name == "ssh.shell":
        return "shell"
    if name == "api":
        return "api"
    if name.startswith("ssh."):
        return "command"
    if name == "note":
        return "note"
    if name == "refresh":
        return "refresh"
    return RAW if name not in _DESCRIBERS else "other"


def raw_line(event: dict[str, Any], limit: int = 600) -> str:
    """The event as compact JSON (for unknown and newer events), made safe for a terminal."""
    return safe_line(json.dumps(event, ensure_ascii=False, default=str), limit)


def describe(event: dict[str, Any], *, durations: bool = True) -> str:
    """One safe line saying what happened (raw JSON when the event is not known)."""
    if is_newer(event):
        return "(newer cspctl) " + raw_line(event)
    name = str(event.get("event", ""))
    func = _DESCRIBERS.get(name)
    if func is None:
        return raw_line(event)
    try:
        text = func(event, durations)
    except Exception:  # a malformed known event is still shown, raw
        return raw_line(event)
    return safe_line(text, 600)


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _secs(value: object) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.1f} s"


def _session_start(e: dict[str, Any], durations: bool) -> str:
    who = "@".join(x for x in (_s(e.get("operator")), _s(e.get("host"))) if x)
    parts = [f"session started{' by ' + who if who else ''}", f"profile {_s(e.get('profile'))}"]
    if e.get("lab"):
        parts.append("lab")
    if e.get("version"):
        parts.append(f"cspctl {e['version']}")
    if e.get("utc_offset"):
        parts.append(f"local time UTC{e['utc_offset']}")
    mode = e.get("mode")
    if mode == "console":
        parts.append("console")
    elif e.get("command"):
        parts.append(f"headless: cspctl {e['command']}")
    if e.get("read_only"):
        parts.append("read-only")
    return ", ".join(parts)


def _session_info(e: dict[str, Any], durations: bool) -> str:
    if e.get("cloudstack_version"):
        server = f" at {e['server']}" if e.get("server") else ""
        return f"CloudStack {e['cloudstack_version']}{server}"
    return ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("v", "ts", "event"))


def _session_end(e: dict[str, Any], durations: bool) -> str:
    text = "session ended"
    if e.get("signal"):
        text += f" by signal {e['signal']}"
    if durations and e.get("duration") is not None:
        text += f" after {_secs(e.get('duration'))}"
    if e.get("errors"):
        text += f"; errors: {'; '.join(map(str, e['errors']))}"
    return text


def _api(e: dict[str, Any], durations: bool) -> str:
    text = f"API {_s(e.get('command'))} → {_s(e.get('outcome'))}"
    extra = []
    if e.get("status") is not None:
        extra.append(f"HTTP {e['status']}")
    if durations and e.get("duration_ms") is not None:
        extra.append(f"{e['duration_ms']:.0f} ms")
    if e.get("attempts"):
        extra.append(f"{e['attempts']} attempts")
    if extra:
        text += f" ({', '.join(extra)})"
    if e.get("error"):
        text += f": {e['error']}"
    return text


def _ssh_command(e: dict[str, Any], durations: bool) -> str:
    status = e.get("exit_status")
    res = f"exit {status}" if status is not None else _s(e.get("outcome"))
    took = f", {_secs(e.get('duration'))}" if durations and e.get("duration") else ""
    return f"{_s(e.get('vm')) or '?'} $ {_s(e.get('command'))} → {res}{took}"


def _ssh_connect(e: dict[str, Any], durations: bool) -> str:
    return f"SSH connect {_s(e.get('hop'))} for {_s(e.get('vm'))} → {_s(e.get('outcome'))}"


def _ssh_reconnect(e: dict[str, Any], durations: bool) -> str:
    return f"SSH reconnect {_s(e.get('hop'))} for {_s(e.get('vm'))}"


def _ssh_shell(e: dict[str, Any], durations: bool) -> str:
    vm = _s(e.get("vm")) or "?"
    if e.get("action") == "start":
        return f"shell on {vm} opened ({_s(e.get('route'))}), recorded"
    text = f"shell on {vm} closed"
    if e.get("exit_status") is not None:
        text += f", exit {e['exit_status']}"
    if durations and e.get("duration") is not None:
        text += f", after {_secs(e.get('duration'))}"
    return text


def _hostkey(e: dict[str, Any], durations: bool) -> str:
    by = f" by {e['by']}" if e.get("by") else ""
    return (f"host key of {_s(e.get('vm'))} ({_s(e.get('address'))}) {_s(e.get('action'))}{by}"
            f" {_s(e.get('fingerprint'))}").rstrip()


def _confirm_asked(e: dict[str, Any], durations: bool) -> str:
    return f"asked: {_s(e.get('kind')).replace('_', ' ')} for {_s(e.get('vm'))}?"


def _confirm_answered(e: dict[str, Any], durations: bool) -> str:
    return (f"answered {_s(e.get('answer'))}: {_s(e.get('kind')).replace('_', ' ')} "
            f"for {_s(e.get('vm'))}")


def _diag_start(e: dict[str, Any], durations: bool) -> str:
    vms = e.get("vms") or []
    return f"diagnosis started on {', '.join(map(str, vms))} ({e.get('count', len(vms))} targets)"


def _diag_finding(e: dict[str, Any], durations: bool) -> str:
    status = _s(e.get("status")).upper()
    title = e.get("title") or e.get("check_id")
    text = f"{_s(e.get('vm'))}: {status} {title}: {_s(e.get('summary'))}"
    if e.get("playbook") and e.get("status") in ("fail", "warn"):
        text += f" [playbook {e['playbook']}]"
    return text


def _diag_end(e: dict[str, Any], durations: bool) -> str:
    counts = e.get("counts") or {}
    shown = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    return f"diagnosis finished: {_s(e.get('status'))}" + (f" ({shown})" if shown else "")


def _repair_start(e: dict[str, Any], durations: bool) -> str:
    return f"repair {_s(e.get('playbook'))} on {_s(e.get('vm'))} started"


def _repair_question(e: dict[str, Any], durations: bool) -> str:
    step = e.get("title") or e.get("step")
    danger = " (destructive)" if e.get("destructive") else ""
    return f"asked to confirm {_s(step)}{danger} on {_s(e.get('vm'))}"


def _repair_answer(e: dict[str, Any], durations: bool) -> str:
    return f"operator answered {_s(e.get('answer'))} to {_s(e.get('title') or e.get('step'))}"


def _repair_step(e: dict[str, Any], durations: bool) -> str:
    took = f" in {_secs(e.get('elapsed'))}" if durations and e.get("elapsed") is not None else ""
    summary = f": {e['summary']}" if e.get("summary") else ""
    return f"step {_s(e.get('title') or e.get('step'))} on {_s(e.get('vm'))} → " \
           f"{_s(e.get('status'))}{took}{summary}"


def _repair_verify(e: dict[str, Any], durations: bool) -> str:
    from cspctl.sessionlog.report_events import verify_status, verify_summary

    summary = verify_summary(e)
    return (f"verification of {_s(e.get('playbook'))} on {_s(e.get('vm'))}: "
            f"{verify_status(e)}" + (f" — {summary}" if summary else ""))


def _repair_end(e: dict[str, Any], durations: bool) -> str:
    text = f"repair {_s(e.get('playbook'))} on {_s(e.get('vm'))} ended: {_s(e.get('status'))}"
    return text + (f" — {e['message']}" if e.get("message") else "")


def _repair_refused(e: dict[str, Any], durations: bool) -> str:
    return (f"repair {_s(e.get('playbook'))} on {_s(e.get('vm'))} refused: "
            f"{_s(e.get('reason'))}")


def _repair_hostkey(e: dict[str, Any], durations: bool) -> str:
    return f"new host key of re-created {_s(e.get('vm'))} ({_s(e.get('address'))}) recorded"


def _note(e: dict[str, Any], durations: bool) -> str:
    return f"note: {_s(e.get('text'))}"


def _refresh(e: dict[str, Any], durations: bool) -> str:
    changes = e.get("changes") or []
    return "refresh: " + "; ".join(map(str, changes)) if changes else "refresh: no change"


def _real_terminal(e: dict[str, Any], durations: bool) -> str:
    return f"shell on {_s(e.get('vm'))} opened in the real terminal (not recorded)"


def _listener_error(e: dict[str, Any], durations: bool) -> str:
    return f"display error: {_s(e.get('error'))}"


def _cli_list(e: dict[str, Any], durations: bool) -> str:
    return "listed " + ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("v", "ts",
                                                                                 "event"))


_DESCRIBERS: dict[str, Callable[[dict[str, Any], bool], str]] = {
    "session.start": _session_start,
    "session.info": _session_info,
    "session.end": _session_end,
    "api": _api,
    "ssh.command": _ssh_command,
    "ssh.connect": _ssh_connect,
    "ssh.reconnect": _ssh_reconnect,
    "ssh.shell": _ssh_shell,
    "ssh.hostkey": _hostkey,
    "confirm.asked": _confirm_asked,
    "confirm.answered": _confirm_answered,
    "diag.start": _diag_start,
    "diag.finding": _diag_finding,
    "diag.end": _diag_end,
    "diag.listener_error": _listener_error,
    "repair.start": _repair_start,
    "repair.question": _repair_question,
    "repair.answer": _repair_answer,
    "repair.step": _repair_step,
    "repair.verify": _repair_verify,
    "repair.end": _repair_end,
    "repair.refused": _repair_refused,
    "repair.hostkey": _repair_hostkey,
    "repair.listener_error": _listener_error,
    "note": _note,
    "refresh": _refresh,
    "ui.real_terminal": _real_terminal,
    "cli.list": _cli_list,
}
