"""Profiles: CloudMonkey's config (cmk 6 and cloudmonkey 5), cspctl's TOML, the environment.

Operators who use cmk need no set-up: ``~/.cmk/config`` (or cloudmonkey 5's
``~/.cloudmonkey/config``) gives url and credentials. cspctl's own ``config.toml``
(:func:`config_path`) adds what cmk has no place for, or holds complete profiles::

    [defaults]                      # for every profile
    profile = "prod"                # the default profile (beats cmk's `profile`)
    ssh_key = "~/.ssh/cloud_mgmt"   # management-server key for system VMs
    host_key_policy = "ask"         # ask | accept-new | strict
    refresh_interval = 10

    [profiles.prod]                 # merged with cmk's [prod]
    ssh_user = "root"               # hypervisor-host hop
    ssh_port = 22
    known_hosts = "~/.ssh/known_hosts"
    access = { kvm = "linklocal", xenserver = "linklocal", vmware = "private" }
    bastion = "ops@jump.example.com:22"
    read_only = true

    [profiles.lab]                  # a complete profile (`cspctl lab serve` writes this one)
    url = "http://127.0.0.1:8096/client/api"
    apikey = "..."
    secretkey = "..."

``[ui]`` and ``[keymap]`` hold the console's settings and key remaps
(:mod:`cspctl.config.ui`).

``CSPCTL_URL`` with ``CSPCTL_APIKEY``/``CSPCTL_SECRETKEY`` (or ``CSPCTL_USERNAME``/
``CSPCTL_PASSWORD``/``CSPCTL_DOMAIN``) make a one-off profile named ``env``.
"""

from cspctl.config.loader import (
    ENV_PROFILE,
    Config,
    ConfigWarning,
    cloudmonkey_config_path,
    cmk_config_path,
    config_dir,
    config_path,
    list_profiles,
    load_config,
    load_profile,
    load_ui,
    save_profile,
)
from cspctl.config.profile import DEFAULT_SSH_KEY, Profile, parse_bastion
from cspctl.config.sources import display_path
from cspctl.config.ui import UiConfig, check_keymap_ids, check_theme

__all__ = [
    "DEFAULT_SSH_KEY",
    "ENV_PROFILE",
    "Config",
    "ConfigWarning",
    "Profile",
    "UiConfig",
    "check_keymap_ids",
    "check_theme",
    "cloudmonkey_config_path",
    "cmk_config_path",
    "config_dir",
    "config_path",
    "display_path",
    "list_profiles",
    "load_config",
    "load_profile",
    "load_ui",
    "parse_bastion",
    "save_profile",
]
