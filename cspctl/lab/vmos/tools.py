"""The system VM's own tools an operator and the checks use: java -version, openssl x509."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from . import template
from .fs import File, FsError
from .options import parse_single_dash
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
    words = ["-version" if a == "--version" else a for a in args[1:]]
    o = parse_single_dash(ctx, "java", words, flags=("version", "showversion", "server"),
                          valued=("cp", "classpath", "jar"), prefixes=("-D", "-X"),
                          unknown="Unrecognized option: {opt}\nError: Could not create the "
                          "Java Virtual Machine.\nError: A fatal exception has occurred. "
                          "Program will exit.\n")
    if o is None:
        return 1
    if o.has("version", "showversion"):
        ctx.err(template.java_version(vm.spec))
        return 0
    main = o.operands[0] if o.operands else ""
    ctx.err(f"Error: Could not find or load main class {main}\n")
    return 1


def _stamp(meta: dict[str, object], key: str) -> float:
    """A certificate time (epoch seconds) from the lab's certificate metadata."""
    value = meta[key]
    assert isinstance(value, (int, float))
    return float(value)


X509_FIELDS = ("enddate", "startdate", "dates", "subject", "issuer")
"""What `openssl x509` prints of the lab's certificates, in the order asked."""


@command("openssl", directory="/usr/bin", needs=[VM])
def cmd_openssl(ctx: Ctx, args: list[str]) -> int:
    vm = _vm(ctx)
    if len(args) < 2 or args[1] != "x509":
        ctx.err(f"Invalid command '{args[1] if len(args) > 1 else ''}'; type \"help\" for a "
                "list.\n")
        return 1
    o = parse_single_dash(ctx, "x509", args[2:], flags=(*X509_FIELDS, "noout", "text"),
                          valued=("in", "inform", "out", "outform", "checkend", "nameopt"),
                          unknown="{prog}: Unknown option: {opt}\n{prog}: Use -help for "
                          "summary.\n")
    if o is None:
        return 1
    path = o.last("in")
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

    for name in o.opts:
        if name == "enddate":
            ctx.out(f"notAfter={gmt(_stamp(meta, 'notAfter'))}\n")
        elif name == "startdate":
            ctx.out(f"notBefore={gmt(_stamp(meta, 'notBefore'))}\n")
        elif name == "dates":
            ctx.out(f"notBefore={gmt(_stamp(meta, 'notBefore'))}\n"
                    f"notAfter={gmt(_stamp(meta, 'notAfter'))}\n")
        elif name == "subject":
            ctx.out(f"subject={meta['subject']}\n")
        elif name == "issuer":
            ctx.out(f"issuer={meta['issuer']}\n")
    checkend = o.last("checkend")
    if checkend is not None:
        secs = float(checkend)
        if vm.now() + secs > _stamp(meta, "notAfter"):
            ctx.out("Certificate will expire\n")
            return 1
        ctx.out("Certificate will not expire\n")
    return 0
