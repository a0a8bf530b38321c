"""``cspctl profiles``: every profile, where it comes from, and a live check of each (parallel).

The check calls listCapabilities: reachable? authenticated? which CloudStack version? Secrets
are never printed. Exit status 0 when every profile loads and answers, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

from cspctl import signals
from cspctl.cli.table import Raw, render
from cspctl.config import Profile, display_path, load_config
from cspctl.config.loader import emit_warnings
from cspctl.errors import ConfigError, CspctlError
from cspctl.sessionlog import Journal
from cspctl.text import safe_json, safe_line

EPILOG = """\
where profiles come from (cmk wins over cloudmonkey for a name both define;
config.toml adds to, or overrides, either field by field):
  ~/.cloudmonkey/config    cloudmonkey 5.x: [core] profile = NAME, one [NAME] per profile
  ~/.cmk/config            cmk 6.x: `profile = NAME` at the top, one [NAME] per profile
  cspctl's config.toml     (CSPCTL_CONFIG_DIR or the platform config dir), e.g.:
                             [defaults]
                             profile = "prod"
                             ssh_key = "~/.ssh/cloud_mgmt"      # management-server key
                             host_key_policy = "ask"            # ask | accept-new | strict
                             [profiles.prod]                     # extras for cmk's [prod]
                             access = { kvm = "linklocal", vmware = "private" }
                             bastion = "ops@jump.example.com:22"
                             read_only = true
  CSPCTL_URL + CSPCTL_APIKEY/CSPCTL_SECRETKEY (or CSPCTL_USERNAME/CSPCTL_PASSWORD):
                           a one-off profile named "env"
default profile: --profile/CSPCTL_PROFILE, env, [defaults] profile, cmk, cloudmonkey
"""


@dataclass
class Check:
    """What the live check found for one profile (``None``: not known / not checked)."""

    reachable: bool | None = None
    authenticated: bool | None = None
    version: str | None = None
    problem: str | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "profiles",
        help="list profiles and check each one live",
        description="List every profile (cmk ~/.cmk/config, cloudmonkey ~/.cloudmonkey/config, "
        "cspctl's config.toml, CSPCTL_* variables) with its source file, and check each in "
        "parallel: reachable, authenticated, CloudStack version. Exit status 1 if any fails.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--no-check", action="store_true", help="do not contact the servers")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up on a server after this long (default: 10)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (never with secrets)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return signals.run(_run(args))


async def check_profile(profile: Profile, journal: Journal, timeout: float) -> Check:
    """listCapabilities against ``profile``: reachability, authentication, version."""
    from cspctl.cloudstack.client import CloudStackClient
    from cspctl.cloudstack.errors import ApiError, AuthError, BadResponse, TransportError

    started = time.monotonic()
    result = Check()
    client = CloudStackClient.from_profile(
        profile, journal, retries=0, timeout=min(profile.timeout, timeout)
    )
    try:
        async with asyncio.timeout(timeout):
            caps = await client.list_capabilities()
        result = Check(True, True, caps.cloudstackversion)
    except AuthError as exc:
        result = Check(True, False, problem=str(exc))
    except BadResponse as exc:  # something answered HTTP, but not a CloudStack API
        result = Check(True, None, problem=str(exc))
    except TransportError as exc:
        result = Check(False, None, problem=str(exc))
    except ApiError as exc:  # authenticated, but the call failed
        result = Check(True, True, problem=str(exc))
    except TimeoutError:
        result = Check(False, None, problem=f"{profile.url}: no answer within {timeout:g} s")
    except CspctlError as exc:
        result = Check(None, None, problem=str(exc))
    finally:
        try:
            async with asyncio.timeout(timeout):
                await client.aclose()
        except (CspctlError, TimeoutError):
            pass
    result.seconds = round(time.monotonic() - started, 3)
    journal.record(
        "profiles.check",
        profile=profile.name,
        url=profile.url,
        reachable=result.reachable,
        authenticated=result.authenticated,
        version=result.version,
        problem=result.problem,
        duration=result.seconds,
    )
    return result


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "?"}[value]


def _sources(profile: Profile) -> str:
    files = profile.sources or ((profile.source,) if profile.source else ())
    return " + ".join(display_path(p) for p in files) or ("lab" if profile.is_lab else "env")


async def _run(args: argparse.Namespace) -> int:
    cfg = load_config()
    entries = cfg.profiles()
    default, _ = cfg.default_name()
    if args.profile:
        default = args.profile
    emit_warnings(cfg.warnings)
    if not entries:
        cfg.resolve(None)  # raises the "no CloudStack profile configured" error
    profiles = [p for _, p in entries if isinstance(p, Profile)]
    checks: dict[str, Check] = {}
    if not args.no_check and profiles:
        journal = Journal()
        for p in profiles:
            for secret in p.secrets():
                journal.add_secret(secret)
        results = await asyncio.gather(*(check_profile(p, journal, args.timeout) for p in profiles))
        checks = {p.name: r for p, r in zip(profiles, results, strict=True)}
        journal.close()

    failed = False
    records: list[dict[str, Any]] = []
    for name, entry in entries:
        rec: dict[str, Any] = {"name": name, "default": name == default}
        if isinstance(entry, ConfigError):
            failed = True
            rec.update(error=str(entry))
        else:
            rec.update({k: v for k, v in entry.describe().items() if k != "name"})
            check = checks.get(name)
            if check is not None:
                failed = failed or not check.ok
                rec.update(
                    reachable=check.reachable,
                    authenticated=check.authenticated,
                    version=check.version,
                    problem=check.problem,
                )
        records.append(rec)

    if args.json:
        print(safe_json(records, indent=2))
        return 1 if failed else 0

    headers = ["", "NAME", "SOURCE", "URL", "AUTH"]
    if not args.no_check:
        headers += ["REACHABLE", "AUTHENTICATED", "VERSION"]
    rows: list[list[str | None]] = []
    notes: list[str] = []
    for (name, entry), rec in zip(entries, records, strict=True):
        mark = Raw("*" if rec["default"] else "")
        if isinstance(entry, ConfigError):
            rows.append([mark, name, "-", "-", "broken", *(["-"] * 3 * (not args.no_check))])
            notes.append(f"{name}: {entry}")
            continue
        row: list[str | None] = [mark, name, _sources(entry), entry.url, entry.auth_kind]
        if not args.no_check:
            check = checks[name]
            row += [_yes_no(check.reachable), _yes_no(check.authenticated), check.version]
            if check.problem:
                notes.append(f"{name}: {check.problem}")
        rows.append(row)
    print(render(headers, rows))
    if notes:
        print()
        for note in notes:
            print(safe_line(note))
    return 1 if failed else 0
