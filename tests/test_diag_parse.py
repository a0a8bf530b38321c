"""Parsers of the diagnostics, on real-format samples (docs/cloudstack.md §7, §9)."""

from __future__ import annotations

from datetime import UTC, datetime

from cspctl.diagnostics import parse
from cspctl.diagnostics.model import MAX_LINES, Evidence, Finding, Status, exit_code, trim_output

CMDLINE = (
    "template=domP type=consoleproxy host=10.1.1.10 port=8250 name=v-2-VM zone=1 pod=1 "
    "guid=Proxy.2 proxy_vm=2 disable_rp_filter=true eth0ip=169.254.1.23 "
    "eth0mask=255.255.0.0 eth1ip=10.1.1.55 eth1mask=255.255.255.0 mgmtcidr=10.1.1.0/24 "
    "localgw=10.1.1.1 eth2ip=203.0.113.20 eth2mask=255.255.255.0 gateway=203.0.113.1 "
    "internaldns1=10.1.1.2 dns1=8.8.8.8\n"
)


def test_cmdline() -> None:
    cmd = parse.parse_cmdline(CMDLINE)
    assert cmd["type"] == "consoleproxy"
    assert cmd["port"] == "8250"
    assert cmd["name"] == "v-2-VM"
    assert parse.cmdline_hosts(cmd) == ["10.1.1.10"]
    assert parse.cmdline_hosts(parse.parse_cmdline("host=10.0.0.1,10.0.0.2 premium")) == [
        "10.0.0.1", "10.0.0.2"]
    assert parse.parse_cmdline("premium type=x")["premium"] == ""


def test_cwd_deleted_in_every_format() -> None:
    samples = [
        "lrwxrwxrwx 1 root root 0 May 12 05:33 /proc/2345/cwd -> /usr/local/cloud/systemvm "
        "(deleted)\n",
        "/usr/local/cloud/systemvm (deleted)\n",
        "2345: /usr/local/cloud/systemvm (deleted)\n",
    ]
    for text in samples:
        assert parse.parse_cwd(text) == parse.Cwd("/usr/local/cloud/systemvm", True), text
    ok = "lrwxrwxrwx 1 root root 0 May 12 05:33 /proc/2345/cwd -> /usr/local/cloud/systemvm\n"
    assert parse.parse_cwd(ok) == parse.Cwd("/usr/local/cloud/systemvm", False)
    assert parse.parse_cwd("") is None


def test_listening_ports_ss_and_netstat() -> None:
    ss = (
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n"
        "LISTEN 0      128          0.0.0.0:3922       0.0.0.0:*    "
        'users:(("sshd",pid=412,fd=3))   \n'
        'LISTEN 0      50                 *:80               *:*    users:(("java",pid=2345,fd=60))\n'  # noqa: E501
        "LISTEN 0      50             [::]:8080           [::]:*    \n"
    )
    assert parse.parse_listening_ports(ss) == {3922, 80, 8080}
    netstat = (
        "Active Internet connections (only servers)\n"
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State       "
        "PID/Program name\n"
        "tcp        0      0 0.0.0.0:3922            0.0.0.0:*               LISTEN      412/sshd\n"
        "tcp6       0      0 :::80                   :::*                    LISTEN      2345/java\n"  # noqa: E501
    )
    assert parse.parse_listening_ports(netstat) == {3922, 80}


def test_df_and_free() -> None:
    df = (
        "Filesystem     1024-blocks    Used Available Capacity Mounted on\n"
        "/dev/vda1          2064208 2064208         0     100% /\n"
        "tmpfs               251300       0    251300       0% /dev/shm\n"
        "10.1.1.5:/export/secondary 104857600 1048576 103809024 1% /mnt/SecStorage/abc\n"
    )
    rows = parse.parse_df(df)
    assert [(r.mount, r.percent) for r in rows] == [
        ("/", 100), ("/dev/shm", 0), ("/mnt/SecStorage/abc", 1)]
    new = (
        "               total        used        free      shared  buff/cache   available\n"
        "Mem:             993         412         101           5         479         430\n"
        "Swap:              0           0           0\n"
    )
    mem = parse.parse_free(new)
    assert mem is not None and (mem.total_mb, mem.available_mb) == (993, 430)
    old = (
        "             total       used       free     shared    buffers     cached\n"
        "Mem:          1001        950         51          0         20        300\n"
        "-/+ buffers/cache:        630        371\n"
        "Swap:            0          0          0\n"
    )
    mem = parse.parse_free(old)
    assert mem is not None and (mem.total_mb, mem.available_mb) == (1001, 371)


def test_service_status_texts() -> None:
    running = parse.parse_service_status(
        "CloudStack cloud service (type=consoleproxy) is running: process id: 2345\n", 0)
    assert running == parse.ServiceState(True, 2345)
    assert not parse.parse_service_status("CloudStack cloud service is not running\n", 1).running
    assert parse.parse_service_status("active\n", 0).running
    assert not parse.parse_service_status("inactive\n", 3).running
    assert not parse.parse_service_status("failed\n", 3).running


def test_http_codes_epoch_tz_release_version() -> None:
    assert parse.parse_http_code("200") == 200
    assert parse.parse_http_code("404") == 404
    assert parse.parse_http_code("000") is None
    assert parse.parse_wget_status("  HTTP/1.1 404 Not Found\n  Content-Length: 0\n") == 404
    assert parse.parse_epoch("1778563987\n") == 1778563987
    assert parse.parse_epoch("date: command not found") is None
    assert parse.parse_release("Cloudstack Release 4.8.0 Mon Feb  1 10:11:12 UTC 2016\n") == "4.8.0"
    assert parse.parse_version("4.11.3.0-SNAPSHOT") == (4, 11, 3, 0)
    assert parse.same_release("4.18.1.0", "4.18.1") is True
    assert parse.same_release("4.16.1.0", "4.18.1.0") is False
    assert parse.same_release(None, "4.18") is None


def test_openssl_mounts_dns() -> None:
    end = parse.parse_openssl_enddate("notAfter=May  2 05:33:07 2027 GMT\n")
    assert end == datetime(2027, 5, 2, 5, 33, 7, tzinfo=UTC)
    mounts = parse.parse_mounts(
        "/dev/vda1 / ext4 rw,relatime 0 0\n"
        "10.1.1.5:/export/secondary /mnt/SecStorage/7b3c nfs rw,vers=3,addr=10.1.1.5 0 0\n")
    assert [(m.mountpoint, m.fstype, m.read_only) for m in mounts] == [
        ("/", "ext4", False), ("/mnt/SecStorage/7b3c", "nfs", False)]
    legacy = parse.parse_mounts("10.1.1.5:/export on /mnt/SecStorage/x type nfs (ro,vers=3)\n")
    assert legacy[0].read_only and legacy[0].fstype == "nfs"
    ns = ("Server:\t\t10.1.1.2\nAddress:\t10.1.1.2#53\n\nNon-authoritative answer:\n"
          "Name:\tcloudstack.apache.org\nAddress: 151.101.2.132\n")
    assert parse.parse_nslookup(ns) == ["151.101.2.132"]
    assert parse.parse_nameservers("search x\nnameserver 10.1.1.2\nnameserver 8.8.8.8\n") == [
        "10.1.1.2", "8.8.8.8"]


def test_trim_and_status_arithmetic() -> None:
    text = "\n".join(f"line {i}" for i in range(500))
    trimmed = trim_output(text)
    lines = trimmed.splitlines()
    assert len(lines) == MAX_LINES + 1
    assert lines[0] == "line 0" and lines[-1] == "line 499"
    assert "… 440 lines trimmed" in trimmed
    huge = trim_output("\n".join(["y" * 300] * 100))
    assert len(huge.encode()) < 9000 and "trimmed" in huge
    assert Evidence.make("vm", "cat x", text).output == trimmed
    assert exit_code([Status.OK, Status.SKIPPED]) == 0
    assert exit_code([Status.OK, Status.WARN]) == 1
    assert exit_code([Status.ERROR]) == 1
    assert exit_code([Status.WARN, Status.FAIL]) == 2
    f = Finding("x", "X", Status.FAIL, "bad", playbook="protect-assets")
    assert f.to_dict()["playbook"] == "protect-assets"
    try:
        Finding("x", "X", Status.FAIL, "bad", playbook="nope")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown playbook accepted")


def test_curl_tls_verbose_output() -> None:
    err = (
        "*   Trying 127.0.0.1:443...\n"
        "* Connected to 127.0.0.1 (127.0.0.1) port 443 (#0)\n"
        "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384\n"
        "* Server certificate:\n"
        "*  subject: CN=*.console.example.com\n"
        "*  start date: May 12 05:33:07 2025 GMT\n"
        "*  expire date: May 12 05:33:07 2026 GMT\n"
        "*  issuer: C=US; O=Let's Encrypt; CN=R3\n"
        "*  SSL certificate verify result: certificate has expired (10), continuing anyway.\n"
    )
    info = parse.parse_curl_tls(err)
    assert info is not None
    assert info.subject == "CN=*.console.example.com"
    assert info.expires == datetime(2026, 5, 12, 5, 33, 7, tzinfo=UTC)
    assert info.verify_result is not None and "expired" in info.verify_result
    assert parse.parse_curl_tls("curl: (7) Failed to connect to 127.0.0.1 port 443") is None


def test_lsattr_flags() -> None:
    out = ("----i---------e------- /usr/local/cloud/systemvm/images\n"
           "--------------e------- /usr/local/cloud/systemvm/js\n"
           "----i--------e-- /usr/local/cloud/systemvm/css\n")  # Debian 7 width
    flags = parse.parse_lsattr(out)
    assert [p for p, f in flags.items() if parse.immutable(f)] == [
        "/usr/local/cloud/systemvm/images", "/usr/local/cloud/systemvm/css"]
    assert parse.parse_lsattr("lsattr: No such file or directory while trying to stat x") == {}


def test_evidence_never_shows_a_vm_password() -> None:
    from cspctl.diagnostics.context import redact_output
    from cspctl.sessionlog import Scrubber

    line = "type=consoleproxy vmpassword=Sup3rS3cret host=10.1.1.10 apikey=KEYKEYKEY"
    out = redact_output(line, Scrubber(["10.1.1.10-not-a-secret"]))
    assert "Sup3rS3cret" not in out and "KEYKEYKEY" not in out
    assert "vmpassword=***" in out and "host=10.1.1.10" in out
    assert redact_output("token abcdefgh", Scrubber(["abcdefgh"])) == "token ***"


def test_trim_tail_only_for_logs() -> None:
    text = "\n".join(f"line {i}" for i in range(100))
    lines = trim_output(text, tail_only=True).splitlines()
    assert lines[0] == "… 80 lines trimmed"
    assert lines[1:] == [f"line {i}" for i in range(80, 100)]


def test_java_start_and_patch_times() -> None:
    ps = ("    PID                  STARTED COMMAND\n"
          "   2345 Tue Nov 24 04:15:07 2026 java -Djavax.net.ssl.trustStore=./certs/x -cp ./\n")
    assert parse.parse_ps_lstart(ps, 2345) == datetime(2026, 11, 24, 4, 15, 7)
    assert parse.parse_ps_lstart(ps, 1) is None
    log = ("Tue Nov 24 04:14:58 UTC 2026 Patching CPVM/SSVM with cloud agent jars\n"
           "Tue Nov  3 04:16:07 JST 2026 Patching CPVM/SSVM with cloud agent jars\n")
    assert parse.parse_log_date_lines(log) == [datetime(2026, 11, 24, 4, 14, 58),
                                               datetime(2026, 11, 3, 4, 16, 7)]


def test_trim_caps_very_long_lines() -> None:
    out = trim_output("java " + "x" * 1000)
    assert len(out) < 450 and out.endswith("(+605 chars)")


def test_console_domain_coverage() -> None:
    from cspctl.diagnostics.checks.console import _cn, _covers

    assert _cn("C=US; O=x; CN=*.realhostip.com") == "*.realhostip.com"
    assert _cn("CN = console.example.com, O = x") == "console.example.com"
    assert _covers("*.example.com", "*.example.com")
    assert _covers("*.example.com", "console.example.com")
    assert not _covers("*.realhostip.com", "*.example.com")
    assert _covers("lb.example.com", "lb.example.com")


def test_alert_mentions_whole_vm_names() -> None:
    text = "Console proxy down in zone: z1, proxy: v-2-VM, public IP: 203.0.113.21"
    assert parse.mentions(text, "v-2-VM")
    assert not parse.mentions(text, "v-2")
    assert not parse.mentions("proxy: v-22-VM,", "v-2-VM")


def test_time_zones_compare_by_offset_not_name() -> None:
    gmt = parse.parse_tz_offset("+0000 GMT\n")
    utc = parse.parse_tz_offset("+0000 UTC\n")
    jst = parse.parse_tz_offset("+0900 JST\n")
    assert gmt is not None and utc is not None and jst is not None
    assert gmt.offset == utc.offset != jst.offset
    assert str(jst) == "JST (+0900)"
    assert parse.parse_tz_offset("+05:30 IST").offset == "+0530"  # type: ignore[union-attr]
    assert parse.parse_tz_offset("") is None


def test_sockets_by_header_in_every_layout() -> None:
    with_netid = (
        "Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n"
        "udp   UNCONN 0      0            0.0.0.0:68         0.0.0.0:*\n"
        "tcp   LISTEN 0      128          0.0.0.0:3922       0.0.0.0:*\n"
        "tcp   LISTEN 0      50     127.0.0.53%lo:53         0.0.0.0:*\n"
    )
    assert parse.parse_listening_ports(with_netid) == {3922, 53}
    no_header = "LISTEN 0      128          0.0.0.0:3922       0.0.0.0:*\n"
    assert parse.parse_listening_ports(no_header) == {3922}
    wheezy = (  # Debian 7's iproute (ss from 2012): *:port, wide columns
        "State      Recv-Q Send-Q        Local Address:Port          Peer Address:Port \n"
        "LISTEN     0      128                       *:3922                     *:*     \n"
    )
    assert parse.parse_listening_ports(wheezy) == {3922}
    estab = (
        "State Recv-Q Send-Q  Local Address:Port   Peer Address:Port Process\n"
        "ESTAB 0      0          10.1.1.55:41234     10.1.1.10:8250\n"
        "ESTAB 0      0      [::ffff:10.1.1.55]:22  [::ffff:10.1.1.9]:50122\n"
    )
    conns = parse.established_to(estab, 8250)
    assert [(c.peer_host, c.peer_port) for c in conns] == [("10.1.1.10", 8250)]
    netstat = (
        "Active Internet connections (w/o servers)\n"
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State\n"
        "tcp        0      0 10.1.1.55:41234         10.1.1.10:8250          ESTABLISHED\n"
    )
    assert len(parse.established_to(netstat, 8250)) == 1


def test_df_by_header_units_and_spaces() -> None:
    posix512 = (
        "Filesystem     512-blocks    Used Available Capacity Mounted on\n"
        "/dev/vda1         4128416 4128416         0     100% /\n"
        "//nas/share with space 2000 1000 1000 50% /mnt/my share\n"
    )
    rows = parse.parse_df(posix512)
    assert (rows[0].size_kb, rows[0].percent) == (2064208, 100)
    assert rows[1].filesystem == "//nas/share with space" and rows[1].mount == "/mnt/my share"


def test_getent_and_domstate() -> None:
    assert parse.parse_getent_hosts("151.101.2.132   cloudstack.apache.org\n") == [
        "151.101.2.132"]
    assert parse.parse_domstate("running\n\n") == "running"
    listing = (" Id    Name                           State\n"
               "----------------------------------------------------\n"
               " 3     v-2-VM                         running\n"
               " -     s-1-VM                         shut off\n")
    assert parse.parse_domstate(listing, "s-1-VM") == "shut off"
    assert parse.parse_domstate(listing, "v-9-VM") is None
