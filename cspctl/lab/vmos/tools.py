"""The system VM's own tools an operator and the checks use: java -version, openssl x509."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from . import template
from .fs import File, FsError
from .registry import VM, command
from .shell import Ctx

if TYPE_CHECKING:
    from .systemvm import SystemVmOS


def _vm(ctx: Ctx) -> SystemVmOS:
    from .systemvm import SystemVmOS

    assert isinstance(ctx.os, SystemVmOS)
    return ctx.os


@command("java", directory="/usr/bin", needs=[VM])
def cmd_java(ctx: Ctx, args: list[str]) -> int:
    vm = _vm(ctx)
    if "-version" in args or "--version" in args:
        ctx.err(template.java_version(vm.spec))
        return 0
    ctx.err("Error: Could not find or load main class " + (args[-1] if len(args) > 1 else "")
            + "\n")
    return 1


@command("openssl", directory="/usr/bin", needs=[VM])
def cmd_openssl(ctx: Ctx, args: list[str]) -> int:
    vm = _vm(ctx)
    if len(args) < 2 or args[1] != "x509":
        ctx.err(f"Invalid command '{args[1] if len(args) > 1 else ''}'; type \"help\" for a "
                "list.\n")
        return 1
    path = args[args.index("-in") + 1] if "-in" in args and args.index("-in") + 1 < len(args) \
        else None
    try:
        node = vm.fs.lookup(path, ctx.cwd) if path else None
    except FsError as exc:
        ctx.err(f"Can't open {path} for reading, {exc.strerror}\n"
                "140000000000000:error:80000002:system library:BIO_new_file:No such file or "
                "directory\nunable to load certificate\n")
        return 1
    meta = node.meta if isinstance(node, File) else None
    if not meta:
        ctx.err("unable to load certificate\n140000000000000:error:0906D06C:PEM routines:"
                "PEM_read_bio:no start line:pem_lib.c:701:Expecting: TRUSTED CERTIFICATE\n")
        return 1

    def gmt(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%b %e %H:%M:%S %Y GMT")

    for a in args[2:]:
        if a == "-enddate":
            ctx.out(f"notAfter={gmt(meta['notAfter'])}\n")  # type: ignore[arg-type]
        elif a == "-startdate":
            ctx.out(f"notBefore={gmt(meta['notBefore'])}\n")  # type: ignore[arg-type]
        elif a == "-dates":
            ctx.out(f"notBefore={gmt(meta['notBefore'])}\n"  # type: ignore[arg-type]
                    f"notAfter={gmt(meta['notAfter'])}\n")  # type: ignore[arg-type]
        elif a == "-subject":
            ctx.out(f"subject={meta['subject']}\n")
        elif a == "-issuer":
            ctx.out(f"issuer={meta['issuer']}\n")
        elif a.startswith("-checkend"):
            pass
    if "-checkend" in args:
        secs = float(args[args.index("-checkend") + 1])
        if vm.now() + secs > meta["notAfter"]:  # type: ignore[operator]
            ctx.out("Certificate will expire\n")
            return 1
        ctx.out("Certificate will not expire\n")
    return 0
