"""Profiles: CloudMonkey's config (cmk 6 and cloudmonkey 5), cspctl's TOML, the environment."""

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
    save_profile,
)
from cspctl.config.profile import DEFAULT_SSH_KEY, Profile, parse_bastion
from cspctl.config.sources import display_path

__all__ = [
    "DEFAULT_SSH_KEY",
    "ENV_PROFILE",
    "Config",
    "ConfigWarning",
    "Profile",
    "cloudmonkey_config_path",
    "cmk_config_path",
    "config_dir",
    "config_path",
    "display_path",
    "list_profiles",
    "load_config",
    "load_profile",
    "parse_bastion",
    "save_profile",
]
