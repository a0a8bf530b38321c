"""Field failures of system VMs that recur in Apache CloudStack's issue tracker.

`FieldVmOS` is a `SystemVmOS` whose extra failures follow from its *state*, so the repair
that fixes the state fixes the failure:

- an empty or missing ``conf/cloud.jks`` (4.11+): the agent logs "Failed to load keystore,
  using trust all manager" and "SSL Handshake failed"; provisionCertificate rewrites it;
- no ``/root/vncport`` on a 4.15+ CPVM (a patch that did not finish): the console proxy does
  not open its noVNC port; a re-created VM has the file;
- ``crash_agent()``: java died (OutOfMemoryError) and nothing restarted it.

Formats here are composed from CloudStack's sources and bug reports, not captured from a real
system VM; the diagnostics' parsers are proven on real tools by tests/test_diag_real_userland.
"""

from __future__ import annotations

import contextlib

from .fs import File, FsError
from .systemvm import SYSTEMVM, SystemVmOS

KEYSTORE = f"{SYSTEMVM}/conf/cloud.jks"
VNCPORT = "/root/vncport"
NOVNC_PORT = 8080


class FieldVmOS(SystemVmOS):
    """A system VM with the field failures above (see the module docstring)."""

    def _build_template(self) -> None:
        super()._build_template()
        if self.spec.is_cpvm:
            self.fs.write(VNCPORT, f"{NOVNC_PORT}\n", mtime=self.clock.now() - 40 * 86400)

    # ---- keystore -------------------------------------------------------------------------
    def break_keystore(self, ago: float = 0.0) -> None:
        """Truncate conf/cloud.jks (a keystore import that failed half-way) ``ago`` s ago."""
        t = self.now() - ago
        self.fs.write(KEYSTORE, "", mtime=t, size=0)
        self._refresh(t)

    def keystore_broken(self) -> bool:
        if self.sysv:
            return False
        try:
            node = self.fs.lookup(KEYSTORE)
        except FsError:
            return True
        return not isinstance(node, File) or node.size == 0

    # ---- noVNC ----------------------------------------------------------------------------
    def lose_vncport(self) -> None:
        """The patch did not write /root/vncport: the proxy restarts without noVNC."""
        with contextlib.suppress(FsError):
            self.fs.unlink(self.fs.lookup(VNCPORT))
        self._drop_novnc()

    def cloud_start(self, t: float | None = None) -> bool:
        started = super().cloud_start(t)
        if started and self.spec.is_cpvm and not self.fs.exists(VNCPORT):
            self._drop_novnc()
        return started

    def _drop_novnc(self) -> None:
        java = self.java_proc
        if java is not None:
            java.listens = [entry for entry in java.listens if entry[1] != NOVNC_PORT]

    # ---- a dead agent nobody restarted ------------------------------------------------------
    def crash_agent(self) -> None:
        """java dies of OutOfMemoryError; its wrapper exits too, nothing restarts the service."""
        t = self.now()
        self._log(t, self._agent_log(t, "ERROR", "cloud.agent.Agent", "Agent-Handler-4",
                                     "Caught: java.lang.OutOfMemoryError: Java heap space"))
        for proc in list(self.procs.values()):
            if proc.comm in ("java", "_run.sh", "run.sh"):
                self.kill(proc.pid)
        self._refresh()

    # ---- template downloads that do not trust the server ------------------------------------
    def fail_downloads_pkix(self, url: str, times: int = 3, every: float = 600.0) -> None:
        """The SSVM's java (trustStore ./certs/realhostip.keystore) rejects a download's TLS."""
        now = self.now()
        for i in range(times):
            t = now - (times - i) * every
            for level, msg in (
                ("INFO", f"Starting download from {url} to /mnt/SecStorage/template/tmpl/2/201"),
                ("ERROR", "Failed to download template: javax.net.ssl.SSLHandshakeException: "
                          "PKIX path building failed: sun.security.provider.certpath."
                          "SunCertPathBuilderException: unable to find valid certification "
                          "path to requested target"),
            ):
                self._log(t, self._agent_log(t, level, "storage.template.HttpTemplateDownloader",
                                             "pool-3-thread-1", msg))

    # ---- system VM templates on secondary storage (the SSVM's NFS mount) --------------------
    def seed_template(self, dbid: int, name: str, filename: str, present: bool = True) -> str:
        """template/tmpl/1/<dbid>/ with its template.properties (and the image if present)."""
        from .systemvm import NFS_MOUNT_ID

        d = f"/mnt/SecStorage/{NFS_MOUNT_ID}/template/tmpl/1/{dbid}"
        t = self.now() - 3 * 86400
        self.fs.write(f"{d}/template.properties",
                      f"filename={filename}\ndescription={name}\nchecksum=\nhvm=false\n"
                      f"size=2516582400\nqcow2=true\nid={dbid}\npublic=true\n"
                      f"qcow2.filename={filename}\nuniquename=routing-{dbid}\n"
                      "qcow2.virtualsize=5368709120\nvirtualsize=5368709120\n"
                      "qcow2.size=2516582400\n", mtime=t)
        if present:
            self.fs.write(f"{d}/{filename}", "", mtime=t, size=2_516_582_400)
        return d

    # ---- the agent's view -----------------------------------------------------------------
    def agent_problem_now(self) -> str | None:
        problem = super().agent_problem_now()
        if problem is None and self.running and self.java_proc is not None \
                and self.keystore_broken():
            s = self.spec
            return (f"SSL Handshake failed while connecting to host: {s.mgmt_host} port: "
                    f"{s.mgmt_port} (keystore {KEYSTORE} unreadable)")
        return problem

    def _reconnect_lines(self) -> list[tuple[float, str]]:
        lines = super()._reconnect_lines()
        problem, _since = self._problem
        if not problem or "keystore" not in problem:
            return lines
        out: list[tuple[float, str]] = []
        for t, line in lines:
            if "SSL Handshake failed" in line:
                out.append((t, self._agent_log(
                    t, "WARN", "utils.nio.Link", "Agent-Selector",
                    "Failed to load keystore, using trust all manager")))
            out.append((t, line))
        return out
