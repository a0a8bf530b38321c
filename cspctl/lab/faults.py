"""Fault injection knobs for tests and benchmarks (API side here; SSH side read by sshd.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass
class Faults:
    """What goes wrong on purpose. All zero/False = a well-behaved lab.

    API (management server):
      ``api_latency``: seconds added to every request (real seconds, not time-scaled).
      ``api_error_rate``: fraction 0..1 of authenticated calls answered with a 530.
      ``job_slowdown``: factor on every async job's simulated duration (2.0 = twice as slow).
      ``job_hang``: async jobs never finish (stay pending).
      ``job_fail``: async jobs end with a 530 failure instead of succeeding.
    SSH (consumed by cspctl/lab/sshd.py):
      ``ssh_connect_delay``: seconds before a host accepts an SSH connection.
      ``ssh_command_delay``: seconds added to every command run over SSH.
      ``ssh_drop_after_commands``: close the connection after N commands (0 = never).
    Repair steps (named, comma-separated in ``fail_steps``; see :data:`STEP_FAULTS`):
      ``chattr`` (chattr fails), ``cloud-start`` (starting the cloud service fails),
      ``early-config`` (cloud-early-config fails), ``timezone`` (setting the zone fails),
      ``update-config`` (updateConfiguration answers 530), ``reboot-job``, ``destroy-job``,
      ``cert-job``, ``patch-job`` (that async job ends in failure).
    """

    api_latency: float = 0.0
    api_error_rate: float = 0.0
    job_slowdown: float = 1.0
    job_hang: bool = False
    job_fail: bool = False
    ssh_connect_delay: float = 0.0
    ssh_command_delay: float = 0.0
    ssh_drop_after_commands: int = 0
    fail_steps: str = ""

    def failing(self, step: str) -> bool:
        """Whether the named repair step (see :data:`STEP_FAULTS`) must fail on purpose."""
        return step in {s.strip() for s in self.fail_steps.split(",")}


class StepFault(StrEnum):
    """Repair steps ``fail_steps`` can make fail on purpose (the one place they are named)."""

    CHATTR = "chattr"
    CLOUD_START = "cloud-start"
    EARLY_CONFIG = "early-config"
    TIMEZONE = "timezone"
    UPDATE_CONFIG = "update-config"
    REBOOT_JOB = "reboot-job"
    DESTROY_JOB = "destroy-job"
    CERT_JOB = "cert-job"
    PATCH_JOB = "patch-job"


STEP_FAULTS = tuple(StepFault)
"""Names ``fail_steps`` accepts."""


def failing(faults: Faults | None, step: StepFault) -> bool:
    """``faults.failing(step)`` for a Faults, False for None (a model without a lab)."""
    return faults is not None and faults.failing(step)
