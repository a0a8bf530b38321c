"""The simulated system VM model: the seed fault, its workaround, other faults, Linux formats."""

from __future__ import annotations

import datetime as dt

import pytest

from cspctl.lab.vmos import SECONDARYSTORAGEVM, SystemVmOS, VmFault, VmSpec

T0 = dt.datetime(2026, 5, 12, 5, 33, 7, tzinfo=dt.UTC).timestamp()
CWD_DELETED = ("lrwxrwxrwx 1 root root 0 May 12 05:33 /proc/2345/cwd -> "
               "/usr/local/cloud/systemvm (deleted)\n")
ASSETS = ("js/ajaxviewer.js", "css/ajaxviewer.css", "images/cad.gif")


class FixedClock:
    """Lab time that only moves when the test says so."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


def cpvm(*faults: str, era: str = "sysvinit", version: str = "4.8.0", **kw: object) -> SystemVmOS:
    vm = SystemVmOS(VmSpec("v-2-VM", era=era, cloudstack_version=version,
                           faults=frozenset(faults), **kw), FixedClock())  # type: ignore[arg-type]
    vm.boot(ago=7200)
    return vm


def ssvm(*faults: str, **kw: object) -> SystemVmOS:
    vm = SystemVmOS(VmSpec("s-1-VM", vm_type=SECONDARYSTORAGEVM, vm_id=1,
                           faults=frozenset(faults), **kw), FixedClock())  # type: ignore[arg-type]
    vm.boot(ago=7200)
    return vm


def run(vm: SystemVmOS, line: str) -> str:
    res = vm.execute(line)
    return res.stdout


def asset_codes(vm: SystemVmOS) -> list[str]:
    return [run(vm, "curl -s -o /dev/null -w '%{http_code}' "
                    f"http://127.0.0.1/resource/{a}") for a in ASSETS]


# --- the seed fault ---------------------------------------------------------------------------
def test_seed_fault_present_after_boot() -> None:
    vm = cpvm(VmFault.EARLY_CONFIG_RERUN)
    assert run(vm, "pgrep java") == "2345\n"
    assert run(vm, "pgrep -f java") == "2345\n"
    assert run(vm, "ls -l /proc/2345/cwd") == CWD_DELETED
    assert run(vm, "ls -l /proc/2345 | grep cwd") == (
        "lrwxrwxrwx 1 root root 0 May 12 05:33 cwd -> /usr/local/cloud/systemvm (deleted)\n")
    assert run(vm, "cd /proc/2345 && ls -l cwd") == (
        "lrwxrwxrwx 1 root root 0 May 12 05:33 cwd -> /usr/local/cloud/systemvm (deleted)\n")
    assert run(vm, "readlink /proc/2345/cwd") == "/usr/local/cloud/systemvm (deleted)\n"
    assert run(vm, "ls -ld /proc/2345/cwd/").startswith("drwxr-xr-x 0 root root 0 ")
    assert asset_codes(vm) == ["404", "404", "404"]
    assert run(vm, "service cloud status") == (
        "CloudStack cloud service (type=consoleproxy) is running: process id: 2345\n")
    assert vm.agent_connected is False
    assert "deleted" in (vm.agent_problem or "")
    log = run(vm, "grep -n 'Patching CPVM/SSVM with cloud agent jars' /var/log/cloud.log")
    assert len(log.splitlines()) == 2  # first boot and the re-run after java started


def test_seed_workaround_really_fixes_the_model() -> None:
    vm = cpvm(VmFault.EARLY_CONFIG_RERUN)
    assert vm.execute("chattr +i /usr/local/cloud/systemvm/{images,js,css}").status == 0
    for d in ("images", "js", "css"):
        assert run(vm, f"lsattr -d /usr/local/cloud/systemvm/{d}") == (
            f"----i---------e------- /usr/local/cloud/systemvm/{d}\n")
    assert vm.execute("kill 2345").status == 0
    assert run(vm, "pgrep java") == ""
    start = run(vm, "/etc/init.d/cloud start")
    assert start == "Starting CloudStack cloud service (type=consoleproxy) Success\n\n"
    again = vm.execute("/etc/init.d/cloud-early-config start")
    assert "rm: cannot remove '/usr/local/cloud/systemvm/images/cad.gif': Operation not " \
           "permitted" in again.stderr
    pid = run(vm, "pgrep java").strip()
    assert pid and pid != "2345"
    assert run(vm, f"readlink /proc/{pid}/cwd") == "/usr/local/cloud/systemvm\n"
    assert asset_codes(vm) == ["200", "200", "200"]
    assert vm.agent_connected is True
    assert vm.agent_problem is None
    assert run(vm, "/etc/init.d/cloud start") == (
        f"CloudStack cloud sevice is already running, PID = {pid}\n")


def test_pkill_variant_of_the_workaround() -> None:
    vm = cpvm(VmFault.EARLY_CONFIG_RERUN)
    out = vm.execute("chattr +i /usr/local/cloud/systemvm/{images,js,css} && pkill java && "
                     "/etc/init.d/cloud start && /etc/init.d/cloud-early-config start; "
                     "ls -l /proc/$(pgrep java)/cwd")
    assert out.stdout.endswith("/cwd -> /usr/local/cloud/systemvm\n")
    assert vm.agent_connected


def test_reboot_alone_does_not_fix() -> None:
    vm = cpvm(VmFault.EARLY_CONFIG_RERUN)
    vm.shutdown()
    assert vm.agent_connected is False
    uptime_before = vm.boot_time
    vm.boot()
    assert vm.boot_time > uptime_before  # uptime starts again
    assert run(vm, "pgrep java") == "3345\n"  # new process ids after a reboot
    assert run(vm, "readlink /proc/3345/cwd") == "/usr/local/cloud/systemvm (deleted)\n"
    assert vm.agent_connected is False


def test_immutable_flags_survive_reboot_and_then_the_reboot_is_clean() -> None:
    vm = cpvm(VmFault.EARLY_CONFIG_RERUN)
    vm.execute("chattr +i /usr/local/cloud/systemvm/{images,js,css}")
    vm.shutdown()
    vm.boot()
    assert run(vm, "lsattr -d /usr/local/cloud/systemvm/js").startswith("----i")
    assert run(vm, "readlink /proc/3345/cwd") == "/usr/local/cloud/systemvm\n"
    assert asset_codes(vm) == ["200", "200", "200"]
    assert vm.agent_connected


def test_recreated_vm_has_the_fault_back() -> None:
    old = cpvm(VmFault.EARLY_CONFIG_RERUN)
    old.execute("chattr +i /usr/local/cloud/systemvm/{images,js,css}")
    new = cpvm(VmFault.EARLY_CONFIG_RERUN)
    assert run(new, "lsattr -d /usr/local/cloud/systemvm/js") == (
        "--------------e------- /usr/local/cloud/systemvm/js\n")
    assert run(new, "ls -l /proc/2345/cwd") == CWD_DELETED
    assert not new.agent_connected


def test_healthy_vm() -> None:
    vm = cpvm()
    assert run(vm, "readlink /proc/2345/cwd") == "/usr/local/cloud/systemvm\n"
    assert asset_codes(vm) == ["200", "200", "200"]
    assert vm.agent_connected and vm.agent_problem is None
    head = run(vm, "curl -I http://127.0.0.1/resource/js/ajaxviewer.js")
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert "Content-type: text/javascript\r\n" in head
    wget = vm.execute("wget -q -S -O /dev/null http://127.0.0.1/resource/images/cad.gif")
    assert wget.status == 0 and wget.stderr.startswith("  HTTP/1.1 200 OK\n")


# --- other faults -----------------------------------------------------------------------------
def test_mgmt_port_blocked() -> None:
    vm = cpvm(VmFault.MGMT_PORT_BLOCKED)
    assert run(vm, "timeout 3 nc -z -w 3 10.1.1.10 8250; echo $?") == "1\n"
    res = vm.execute("nc -zv -w 3 10.1.1.10 8250")
    assert res.status == 1
    assert res.stderr == ("nc: connect to 10.1.1.10 port 8250 (tcp) timed out: Operation now "
                          "in progress\n")
    assert res.duration == 3
    assert vm.agent_connected is False
    vm.clock.t += 60  # type: ignore[attr-defined]
    assert int(run(vm, "grep -c 'Unable to connect to remote' /var/log/cloud.log")) >= 10
    ok = cpvm()
    res = ok.execute("nc -zv -w 3 10.1.1.10 8250")
    assert res.status == 0
    assert res.stderr == "Connection to 10.1.1.10 8250 port [tcp/*] succeeded!\n"


def test_ssvm_check_reports_the_blocked_port() -> None:
    vm = ssvm(VmFault.MGMT_PORT_BLOCKED)
    res = vm.execute("/usr/local/cloud/systemvm/ssvm-check.sh")
    assert res.status == 4
    assert "ERROR: Cannot connect to 10.1.1.10 port 8250\n" in res.stdout
    healthy = ssvm().execute("/usr/local/cloud/systemvm/ssvm-check.sh")
    assert healthy.status == 0
    assert healthy.stdout.rstrip().endswith("Tests Complete. Look for ERROR or WARNING above.")
    assert "Good: Can write to mount point" in healthy.stdout


def test_ssvm_storage_not_mounted() -> None:
    vm = ssvm(VmFault.SSVM_STORAGE)
    assert " nfs " not in run(vm, "cat /proc/mounts")
    touch = vm.execute("touch /mnt/SecStorage/5c3b6a7e-0d55-3c2a-9f1e-7e0a4b1c9d21/foo")
    assert touch.status == 1 and "cannot touch" in touch.stderr
    check = vm.execute("/usr/local/cloud/systemvm/ssvm-check.sh").stdout
    assert "ERROR: NFS is not currently mounted" in check
    ok = ssvm()
    assert "10.1.1.5:/export/secondary /mnt/SecStorage/" in run(ok, "cat /proc/mounts")
    assert ok.execute("touch /mnt/SecStorage/5c3b6a7e-0d55-3c2a-9f1e-7e0a4b1c9d21/foo").status == 0
    assert run(ok, "ss -ltn | grep -c LISTEN") == "4\n"  # sshd, rpcbind, apache 80/443


def test_disk_full_and_its_repair() -> None:
    vm = cpvm(VmFault.DISK_FULL)
    df = run(vm, "df -P /").splitlines()
    assert df[0] == "Filesystem     1024-blocks    Used Available Capacity Mounted on"
    assert df[1].split()[4] == "100%"
    res = vm.execute("touch /root/x")
    assert res.stderr == "touch: cannot touch '/root/x': No space left on device\n"
    assert not vm.agent_connected
    assert "cloud.log.1" in run(vm, "ls -lS /var/log | head -2")
    vm.execute("rm -f /var/log/cloud.log.1")
    assert run(vm, "df -P / | tail -1").split()[4] == "40%"
    assert vm.execute("touch /root/x").status == 0
    assert vm.agent_connected


def test_cert_expired_on_systemd_era() -> None:
    vm = cpvm(VmFault.CERT_EXPIRED, era="systemd", version="4.11.3")
    end = run(vm, "openssl x509 -noout -enddate -in /usr/local/cloud/systemvm/conf/cloud.crt")
    assert end == "notAfter=Apr  7 03:33:13 2026 GMT\n"
    assert not vm.agent_connected
    vm.clock.t += 30  # type: ignore[attr-defined]
    assert "SSL Handshake failed while connecting to host: 10.1.1.10 port: 8250" in run(
        vm, "tail -n 100 /var/log/cloud.log")
    vm.renew_certificate()
    assert vm.agent_connected
    assert run(vm, "openssl x509 -noout -enddate -in /usr/local/cloud/systemvm/conf/cloud.crt"
               ) == "notAfter=May 12 05:33:37 2027 GMT\n"


def test_clock_drift() -> None:
    vm = cpvm(VmFault.CLOCK_DRIFT, clock_offset=-3 * 86400 - 1234)
    assert int(run(vm, "date -u +%s")) == int(T0) - 3 * 86400 - 1234
    assert run(vm, "date +%Z") == "UTC\n"
    assert run(vm, "cat /etc/timezone") == "Etc/UTC\n"
    assert run(vm, "date") == "Sat May  9 05:12:33 UTC 2026\n"


# --- formats ----------------------------------------------------------------------------------
def test_listening_sockets_formats() -> None:
    vm = cpvm()
    assert run(vm, "ss -ltnp").splitlines()[:3] == [
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess",
        'LISTEN 0      128          0.0.0.0:3922       0.0.0.0:*    '
        'users:(("sshd",pid=412,fd=3))',
        'LISTEN 0      50                 *:80               *:*    '
        'users:(("java",pid=2345,fd=60))',
    ]
    assert run(vm, "netstat -ltnp").splitlines()[:4] == [
        "Active Internet connections (only servers)",
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State       "
        "PID/Program name",
        "tcp        0      0 0.0.0.0:3922            0.0.0.0:*               LISTEN      412/sshd",
        "tcp6       0      0 :::80                   :::*                    LISTEN      2345/java",
    ]
    assert ":8001" in run(vm, "ss -ltn")
    assert ":443" not in run(vm, "ss -ltn")
    premium = cpvm(premium=True, version="4.15.2", era="systemd")
    ports = run(premium, "ss -ltn")
    assert "*:443" in ports and "*:8080" in ports


def test_date_ps_df_free_uptime_formats() -> None:
    vm = cpvm()
    assert run(vm, "date") == "Tue May 12 05:33:07 UTC 2026\n"
    assert run(vm, "date -u +%s") == f"{int(T0)}\n"
    ps = run(vm, "ps -eo pid,lstart,args").splitlines()
    assert ps[0] == "    PID                  STARTED COMMAND"
    java = next(line for line in ps if " java " in line)
    assert java.startswith("   2345 Tue May 12 03:33:22 2026 java -Djavax.net.ssl.trustStore=")
    aux = run(vm, "ps aux").splitlines()
    assert aux[0] == "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"
    assert run(vm, "ps -ef | grep -c AgentShell") == "1\n"
    assert run(vm, "free -m").splitlines()[0] == (
        "               total        used        free      shared  buff/cache   available"[1:])
    assert run(vm, "uptime") == " 05:33:07 up  2:00,  0 users,  load average: 0.00, 0.01, 0.05\n"
    assert run(vm, "df -h /").splitlines()[0] == "Filesystem      Size  Used Avail Use% Mounted on"
    assert run(vm, "cat /etc/cloudstack-release") == (
        "Cloudstack Release 4.8.0 Tue Jan 26 14:43:51 UTC 2016\n")
    assert run(vm, "cat /var/cache/cloud/cmdline").startswith(
        "template=domP type=consoleproxy host=10.1.1.10 port=8250 name=v-2-VM zone=1 pod=1 "
        "guid=Proxy.2 proxy_vm=2")


def test_service_status_when_stopped() -> None:
    vm = cpvm()
    assert run(vm, "/etc/init.d/cloud stop") == (
        "Stopping CloudStack cloud service (type=consoleproxy) Success\n\n")
    res = vm.execute("service cloud status")
    assert (res.stdout, res.status) == ("CloudStack cloud service is not running\n", 1)
    assert not vm.agent_connected


def test_systemd_era_units() -> None:
    vm = cpvm(era="systemd", version="4.11.3")
    assert run(vm, "systemctl is-active cloud") == "active\n"
    status = run(vm, "systemctl status cloud").splitlines()
    assert status[0] == "● cloud.service - CloudStack Agent service"
    assert status[2].startswith("     Active: active (running) since Tue 2026-05-12 03:33:21 UTC")
    assert status[3] == "   Main PID: 2301 (_run.sh)"
    assert "└─2345 java -Djavax.net.ssl.trustStore=./certs/realhostip.keystore ..." in status[-1]
    missing = vm.execute("/etc/init.d/cloud status")
    assert (missing.status, missing.stderr) == (
        127, "bash: /etc/init.d/cloud: No such file or directory\n")
    vm.execute("systemctl restart cloud")
    assert run(vm, "pgrep java") != "2345\n"
    assert vm.agent_connected
    old = cpvm()
    assert old.execute("systemctl is-active cloud").status == 127


# --- shell ------------------------------------------------------------------------------------
def test_unknown_command_and_operators() -> None:
    vm = cpvm()
    res = vm.execute("foo --bar")
    assert (res.stdout, res.stderr, res.status) == ("", "bash: foo: command not found\n", 127)
    assert run(vm, "foo; echo $?") == "127\n"
    assert run(vm, "false || echo no && echo yes") == "no\nyes\n"
    assert run(vm, "true && false; echo $?") == "1\n"
    assert run(vm, "echo 'a|b;c' | grep -c 'a|b'") == "1\n"
    assert run(vm, "cat /var/log/cloud.log | grep -ci agent | head -n 2") != "0\n"
    assert vm.execute("echo a |").status == 2
    assert run(vm, "ls /nonexistent 2>&1 | head -1") == (
        "ls: cannot access '/nonexistent': No such file or directory\n")
    assert run(vm, "echo {a,b}-x '{c,d}'") == "a-x b-x {c,d}\n"
    assert run(vm, "echo $(hostname) `pgrep java`") == "v-2-VM 2345\n"


@pytest.mark.parametrize("line, expected", [
    ("uname -r", "3.2.0-4-amd64\n"),
    ("hostname", "v-2-VM\n"),
    ("df -P / | tail -n 1 | grep -c /dev/vda1", "1\n"),
    ("cat /etc/resolv.conf", "nameserver 10.1.1.2\nnameserver 8.8.8.8\n"),
    ("nslookup cloudstack.apache.org | tail -2 | head -1", "Address: 151.101.2.132\n"),
])
def test_small_commands(line: str, expected: str) -> None:
    assert run(cpvm(), line) == expected


def test_java_version_goes_to_stderr() -> None:
    res = cpvm().execute("java -version")
    assert res.stdout == "" and res.stderr.startswith('java version "1.7.0_101"')


def test_disk_full_spares_the_nfs_mount() -> None:
    vm = ssvm(VmFault.DISK_FULL)
    mnt = "/mnt/SecStorage/5c3b6a7e-0d55-3c2a-9f1e-7e0a4b1c9d21"
    res = vm.execute(f"M={mnt}; touch $M/.cspctl-write-test && rm -f $M/.cspctl-write-test")
    assert res.status == 0, res.stderr
    assert vm.execute("touch /var/tmp-x").status == 1


def test_clock_drift_on_systemd_breaks_tls_with_mgmt_issued_cert() -> None:
    vm = cpvm(VmFault.CLOCK_DRIFT, era="systemd", version="4.15.2.0",
              clock_offset=-3 * 86400 - 1234)
    assert not vm.agent_connected
    assert "SSL Handshake failed" in (vm.agent_problem or "")
    start = run(vm, "openssl x509 -noout -startdate -in /usr/local/cloud/systemvm/conf/cloud.crt")
    assert start == "notBefore=May 12 03:32:13 2026 GMT\n"  # management time, VM is behind


def test_agent_older_than_management_server() -> None:
    vm = cpvm("agent-old")
    assert not vm.agent_connected
    vm.clock.t += 20  # type: ignore[attr-defined]
    assert "Lost connection to the server" in run(vm, "tail -n 20 /var/log/cloud.log")


def test_console_tls_details_for_curl_verbose() -> None:
    vm = cpvm(premium=True)
    res = vm.execute("curl -skv -o /dev/null https://127.0.0.1/resource/js/ajaxviewer.js")
    assert res.status == 0 and res.stdout == ""
    assert "*  expire date: Mar 24 23:59:59 2015 GMT\n" in res.stderr
    assert "< HTTP/1.1 200 OK\n" in res.stderr
    plain = vm.execute("curl -s https://127.0.0.1/resource/js/ajaxviewer.js")
    assert plain.status == 60


def test_variables_and_assignments() -> None:
    vm = cpvm()
    assert run(vm, "D=/usr/local/cloud/systemvm; ls -d $D/js ${D}/css") == (
        "/usr/local/cloud/systemvm/js\n/usr/local/cloud/systemvm/css\n")
    assert run(vm, 'X="a b"; echo "$X"') == "a b\n"


def test_text_tools_in_pipelines() -> None:
    vm = cpvm(era="systemd", version="4.11.3")
    assert run(vm, "ps -o args= -p $(pgrep java) | grep -o '^java'") == "java\n"
    assert run(vm, "find /usr/local/cloud/systemvm -maxdepth 1 -name '*.sh' | grep -c sh") == (
        "3\n")
    assert run(vm, "lsof -p 2345 | grep cwd").endswith(" /usr/local/cloud/systemvm\n")
    times = [line[:15] for line in run(vm, "journalctl -u cloud --no-pager").splitlines()[1:]]
    assert times == sorted(times)


def test_odd_input_never_crashes_the_model() -> None:
    vm = cpvm()
    for line in ("grep -I 8250", "head -n", "ping -w x 1.2.3.4", "echo {1..99999999}", "echo $(",
                 "'unterminated", "a && && b", "| x", "ls -l /proc/2345 |", "echo `", "}{"):
        res = vm.execute(line)
        assert isinstance(res.status, int)
    assert run(vm, "echo {1..99999999}") == "{1..99999999}\n"
