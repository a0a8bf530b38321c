"""What the machine says about itself: hostname, uname, date, uptime, free."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .options import parse_options
from .registry import command
from .shell import Ctx


@command("hostname")
def cmd_hostname(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "hostname", args[1:], "iIsf", ("ip-address", "all-ip-addresses",
                                                          "short", "fqdn"))
    if o is None:
        return 1
    if o.has("i", "I", "ip-address", "all-ip-addresses"):
        every = o.has("I", "all-ip-addresses")
        ctx.out(" ".join(ctx.os.addresses()) + (" \n" if every else "\n"))
        return 0
    short = o.has("s", "short")
    ctx.out(ctx.os.hostname.split(".")[0] + "\n" if short else ctx.os.hostname + "\n")
    return 0


@command("uname")
def cmd_uname(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "uname", args[1:], "asnrvmpio", ("all",))
    if o is None:
        return 1
    f = ctx.os.uname_fields()
    if "a" in o or "all" in o:
        ctx.out(f"{f['s']} {f['n']} {f['r']} {f['v']} {f['m']} {f['o']}\n")
        return 0
    order = [k for k in "snrvmpio" if k in o] or ["s"]
    vals = {"p": "unknown", "i": "unknown", **f}
    ctx.out(" ".join(vals[k] for k in order) + "\n")
    return 0


def strftime(when: dt.datetime, fmt: str) -> str:
    fmt = fmt.replace("%s", str(int(when.timestamp())))
    fmt = fmt.replace("%N", f"{when.microsecond * 1000:09d}")
    return when.strftime(fmt)


@command("date")
def cmd_date(ctx: Ctx, args: list[str]) -> int:
    # -I and --iso-8601 take an optional precision, which getopt cannot express
    words = [{"-I": "-Idate", "--iso-8601": "--iso-8601=date"}.get(a, a) for a in args[1:]]
    o = parse_options(ctx, "date", words, "uRI:d:", ("utc", "universal", "rfc-email",
                                                      "iso-8601=", "date="))
    if o is None:
        return 1
    utc = o.has("u", "utc", "universal")
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    if o.has("R", "rfc-email"):
        fmt = "%a, %d %b %Y %H:%M:%S %z"
    precision = o.last("I", "iso-8601")
    if precision is not None:
        fmt = "%Y-%m-%dT%H:%M:%S%:z" if precision == "seconds" else "%Y-%m-%d"
    for operand in o.operands:
        if not operand.startswith("+"):
            ctx.err(f"date: invalid date '{operand}'\n")
            return 1
        fmt = operand[1:]
    when = dt.datetime.fromtimestamp(ctx.os.now(), dt.UTC if utc else ctx.os.tz)
    text = strftime(when, fmt.replace("%:z", _colon_z(when)))
    if utc:
        text = text.replace("+0000", "+0000")
    ctx.out(text + "\n")
    return 0


def _colon_z(when: dt.datetime) -> str:
    z = when.strftime("%z")
    return z[:3] + ":" + z[3:] if z else ""


@command("uptime", directory="/usr/bin")
def cmd_uptime(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "uptime", args[1:], "ps", ("pretty", "since"))
    if o is None:
        return 1
    up = max(0, int(ctx.os.now() - ctx.os.boot_time))
    if o.has("p", "pretty"):
        d, h, m = up // 86400, up % 86400 // 3600, up % 3600 // 60
        parts = [f"{d} day{'s' if d != 1 else ''}"] if d else []
        parts += [f"{h} hour{'s' if h != 1 else ''}"] if h else []
        parts += [f"{m} minute{'s' if m != 1 else ''}"] if m or not parts else []
        ctx.out("up " + ", ".join(parts) + "\n")
        return 0
    if o.has("s", "since"):
        ctx.out(ctx.os.localtime(ctx.os.boot_time).strftime("%Y-%m-%d %H:%M:%S") + "\n")
        return 0
    ctx.out(uptime_line(ctx) + "\n")
    return 0


def uptime_line(ctx: Ctx) -> str:
    up = max(0, int(ctx.os.now() - ctx.os.boot_time))
    days, hours, mins = up // 86400, up % 86400 // 3600, up % 3600 // 60
    text = ""
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours:2d}:{mins:02d}" if hours else f"{mins} min"
    users = ctx.os.user_count()
    load = ", ".join(f"{v:.2f}" for v in ctx.os.load)
    now = ctx.os.localtime().strftime("%H:%M:%S")
    return (f" {now} up {text},  {users} user{'s' if users != 1 else ''},  "
            f"load average: {load}")


@command("free", directory="/usr/bin")
def cmd_free(ctx: Ctx, args: list[str]) -> int:
    o = parse_options(ctx, "free", args[1:], "hbkmgtw", ("human", "mega", "giga", "wide"))
    if o is None:
        return 1
    m = ctx.os.memory()
    conv: Callable[[int], str] = str
    if o.has("h", "human"):
        conv = _free_human
    elif o.has("g", "giga"):
        conv = lambda k: str(k // (1024 * 1024))  # noqa: E731
    elif o.has("m", "mega"):
        conv = lambda k: str(k // 1024)  # noqa: E731
    ctx.out(f"{'total':>19}{'used':>12}{'free':>12}{'shared':>12}{'buff/cache':>12}"
            f"{'available':>12}\n")
    vals = [m["total"], m["used"], m["free"], m["shared"], m["buff"], m["available"]]
    ctx.out(f"{'Mem:':<7}" + "".join(f"{conv(v):>12}" for v in vals) + "\n")
    ctx.out(f"{'Swap:':<7}" + "".join(f"{conv(v):>12}" for v in (m['swap'], 0, m['swap']))
            + "\n")
    return 0


def _free_human(kib: int) -> str:
    if kib == 0:
        return "0B"
    v, units = float(kib), ["Ki", "Mi", "Gi", "Ti"]
    i = 0
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    return f"{v:.1f}{units[i]}" if v < 10 else f"{round(v)}{units[i]}"
