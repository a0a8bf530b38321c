"""Fault injection knobs for tests and benchmarks (API side here; SSH side read by sshd.py)."""

from __future__ import annotations

from dataclasses import dataclass


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
    """

    api_latency: float = 0.0
    api_error_rate: float = 0.0
    job_slowdown: float = 1.0
    job_hang: bool = False
    job_fail: bool = False
    ssh_connect_delay: float = 0.0
    ssh_command_delay: float = 0.0
    ssh_drop_after_commands: int = 0
