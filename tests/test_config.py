"""Profiles: cmk 6 and cloudmonkey 5 files as those tools write them, cspctl's TOML, env vars."""

from __future__ import annotations

import os
import tomllib
import warnings
from pathlib import Path

import pytest

from cspctl.config import (
    ConfigWarning,
    Profile,
    cloudmonkey_config_path,
    cmk_config_path,
    config_dir,
    config_path,
    list_profiles,
    load_config,
    load_profile,
    save_profile,
)
from cspctl.config.cmk import unquote_goini
from cspctl.errors import ConfigError

# cmk 6.x as written by go-ini on first start, then `set profile prod` etc.
# (docs/cloudstack.md §6.1)
CMK6 = """\
prompt       = 🐱
asyncblock   = true
timeout      = 1800
output       = json
verifycert   = true
profile      = localcloud
autocomplete = true

[localcloud]
url       = http://localhost:8080/client/api
username  = admin
password  = password
domain    = /
apikey    =
secretkey =

[prod]
url       = https://mgmt.example.com:8443/client/api
username  =
password  =
domain    = /
apikey    = Ek4-ZNQ9sBtTd3VaJ0yQ0X6_cspctl-prod-apikey-0001
secretkey = q8VrN2r_Jd7Yt0wPz1sLxK4mC9bH3fA6uE5gT2iO-cspctl-prod-secret==
"""

# cloudmonkey 5.x (Python) as written by `set profile`, `set url`... (docs/cloudstack.md §6.2)
CLOUDMONKEY5 = """\
[core]
profile = legacy
asyncblock = true
paramcompletion = true
cache_file = /root/.cloudmonkey/cache
history_file = /root/.cloudmonkey/history
log_file = /root/.cloudmonkey/log

[ui]
color = true
prompt = 🐵 >
display = default

[legacy]
url = http://10.1.1.10:8080/client/api
timeout = 3600
expires = 600
username = admin
password = 50%off(really)
domain = /cust/sub
apikey =
secretkey =
verifysslcert = false
signatureversion = 3

[old48]
url = https://cs48.example.com/client/api
timeout = 10
expires = 600
username =
password =
domain = /
apikey = KEY48-abcdef
secretkey = SECRET48-abcdef
verifysslcert = true
signatureversion = 2
"""


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def write_cmk(text: str = CMK6, mode: int = 0o600) -> Path:
    return write(cmk_config_path(), text, mode)


def write_cm5(text: str = CLOUDMONKEY5, mode: int = 0o600) -> Path:
    return write(cloudmonkey_config_path(), text, mode)


def write_toml(text: str, mode: int = 0o600) -> Path:
    return write(config_path(), text, mode)


def quiet_load(name: str | None = None) -> Profile:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)  # these tests expect none
        return load_profile(name)


# ------------------------------------------------------------------- cmk 6


def test_cmk6_file_as_written_by_cmk(isolated_dirs: Path) -> None:
    write_cmk()
    p = quiet_load()
    assert p.name == "localcloud"  # `profile = localcloud` in the headerless top section
    assert p.url == "http://localhost:8080/client/api"
    assert (p.username, p.password, p.domain) == ("admin", "password", "/")
    assert p.apikey is None and p.secretkey is None  # `apikey =` means not set
    assert p.auth_kind == "password"
    assert p.verify_tls is True
    assert p.timeout == 30.0  # cmk's 1800 s job limit never becomes the HTTP timeout
    assert p.source == isolated_dirs / ".cmk" / "config"
    assert p.signature_version == 3 and p.host_key_policy == "ask"

    prod = quiet_load("prod")
    assert prod.auth_kind == "apikey"
    assert prod.secretkey == "q8VrN2r_Jd7Yt0wPz1sLxK4mC9bH3fA6uE5gT2iO-cspctl-prod-secret=="
    assert prod.username is None
    # global keys never become profiles, and profile keys never leak between sections
    assert load_config().names() == ["localcloud", "prod"]


def test_cmk6_values_with_equals_percent_hash_and_unicode() -> None:
    write_cmk(
        "prompt = 🐱 > \n"
        "verifycert = false\n"
        "timeout = 5\n"
        "profile = weird\n\n"
        "[weird]\n"
        "url = https://cloud.example.com/client/api?x=1\n"
        "username = jürgen\n"
        "password = p=a%(ss)s#not-a-comment;either\n"
        "domain = /ÄÖÜ\n"
    )
    p = quiet_load()
    assert p.url == "https://cloud.example.com/client/api?x=1"
    assert p.username == "jürgen"
    assert p.password == "p=a%(ss)s#not-a-comment;either"  # no interpolation, no comments
    assert p.domain == "/ÄÖÜ"
    assert p.verify_tls is False  # cmk's verifycert is global
    assert p.timeout == 5.0  # a shorter cmk timeout is kept


def test_cmk6_go_ini_quoting_indentation_and_explicit_default_section() -> None:
    write_cmk(
        "\ufeff[DEFAULT]\n"  # BOM and an explicit go-ini DEFAULT header are both fine
        "profile = q\n"
        "[q]\n"
        "  url:http://h:8080/client/api\n"  # ':' is a go-ini delimiter; indentation ignored
        "  apikey = `key#with;comment-chars`\n"
        '  secretkey = """sec`ret"""\n'
        'username = "  padded  "\n'
        "password = 'single'\n"
        "; comment line\n"
        "# another\n"
    )
    p = quiet_load()
    assert p.url == "http://h:8080/client/api"
    assert p.apikey == "key#with;comment-chars"
    assert p.secretkey == "sec`ret"
    assert p.username == "  padded  "
    assert p.password == "single"


def test_cmk6_crlf_line_endings() -> None:
    write_cmk(CMK6.replace("\n", "\r\n"))
    p = quiet_load("prod")
    assert p.secretkey == "q8VrN2r_Jd7Yt0wPz1sLxK4mC9bH3fA6uE5gT2iO-cspctl-prod-secret=="
    assert p.url == "https://mgmt.example.com:8443/client/api"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("plain", "plain"),
        ('"x"', "x"),
        ('"a"b"', '"a"b"'),  # go-ini strips quotes only when they surround the whole value
        ("`a#b`", "a#b"),
        ('"""a`b"""', "a`b"),
        ("  spaced  ", "spaced"),
        ("", ""),
    ],
)
def test_unquote_goini(raw: str, value: str) -> None:
    assert unquote_goini(raw) == value


def test_cmk6_default_names_missing_section() -> None:
    write_cmk("profile = gone\n\n[other]\nurl = http://h/client/api\napikey = a\nsecretkey = b\n")
    with pytest.raises(ConfigError) as err:
        quiet_load()
    msg = str(err.value)
    assert "no profile 'gone'" in msg
    assert "`profile` of ~/.cmk/config" in msg
    assert "known: other" in msg


# ------------------------------------------------------------------- cloudmonkey 5


def test_cloudmonkey5_file(isolated_dirs: Path) -> None:
    write_cm5()
    p = quiet_load()
    assert p.name == "legacy"  # [core] profile
    assert p.url == "http://10.1.1.10:8080/client/api"
    assert p.password == "50%off(really)"
    assert p.domain == "/cust/sub"
    assert p.verify_tls is False  # per-profile verifysslcert
    assert p.timeout == 30.0
    assert p.source == isolated_dirs / ".cloudmonkey" / "config"

    old = quiet_load("old48")
    assert old.signature_version == 2
    assert old.timeout == 10.0
    assert old.verify_tls is True
    assert old.auth_kind == "apikey"
    assert load_config().names() == ["legacy", "old48"]  # [core]/[ui] are not profiles


def test_cmk6_wins_over_cloudmonkey5_for_the_same_name_and_default() -> None:
    write_cm5(CLOUDMONKEY5.replace("[old48]", "[prod]"))
    write_cmk()
    cfg = load_config()
    assert cfg.names() == ["localcloud", "prod", "legacy"]
    assert cfg.default_name()[0] == "localcloud"  # cmk's profile before [core] profile
    prod = cfg.resolve("prod")
    assert prod.url == "https://mgmt.example.com:8443/client/api"
    assert prod.signature_version == 3  # nothing from the cloudmonkey section leaked in
    assert cfg.resolve("legacy").url == "http://10.1.1.10:8080/client/api"


# ------------------------------------------------------------------- cspctl TOML


def test_toml_extras_merge_with_cmk_profile(isolated_dirs: Path) -> None:
    write_cmk()
    write_toml(
        """
[defaults]
profile = "prod"
ssh_key = "~/.ssh/cloud_mgmt"
host_key_policy = "accept-new"
access = { kvm = "linklocal", vmware = "private" }
refresh_interval = 5

[profiles.prod]
ssh_user = "ops"
ssh_port = 2222
known_hosts = "/etc/cspctl/hosts"
bastion = "jump@bastion.example.com:2022"
read_only = true
access = { vmware = "nested" }
"""
    )
    p = quiet_load()
    assert p.name == "prod"  # defaults.profile beats cmk's `profile`
    assert p.url == "https://mgmt.example.com:8443/client/api"  # from cmk
    assert p.apikey == "Ek4-ZNQ9sBtTd3VaJ0yQ0X6_cspctl-prod-apikey-0001"
    assert p.ssh_key == isolated_dirs / ".ssh" / "cloud_mgmt"
    assert p.host_key_policy == "accept-new"
    assert p.access == {"kvm": "linklocal", "vmware": "nested"}
    assert (p.ssh_user, p.ssh_port) == ("ops", 2222)
    assert p.known_hosts == Path("/etc/cspctl/hosts")
    assert p.bastion == "jump@bastion.example.com:2022"
    assert p.read_only is True and p.refresh_interval == 5.0
    assert p.source == cmk_config_path()  # url/credentials came from cmk
    assert p.sources == (cmk_config_path(), config_path())
    # [defaults] apply to the other cmk profile too; [profiles.prod] does not
    local = quiet_load("localcloud")
    assert local.host_key_policy == "accept-new" and local.read_only is False
    assert local.ssh_user == "root"


def test_toml_only_profile_and_defaults_in_repr_never_show_secrets() -> None:
    write_toml(
        '[profiles.own]\nurl = "http://127.0.0.1:8080/client/api"\n'
        'apikey = "OWN-API-KEY"\nsecretkey = "OWN-SECRET"\n'
    )
    p = quiet_load()  # the only profile
    assert p.name == "own" and p.source == config_path()
    assert "OWN-SECRET" not in repr(p) and "OWN-API-KEY" not in repr(p)
    assert "OWN-SECRET" not in str(p.describe())
    assert set(p.secrets()) == {"OWN-API-KEY", "OWN-SECRET"}


def test_save_profile_writes_0600_and_round_trips() -> None:
    write_toml(
        '[defaults]\nprofile = "lab"\nssh_user = "x"\n\n[profiles.keep]\nurl = "http://k/client/api"\n'
        'apikey = "k"\nsecretkey = "s"\n',
        mode=0o644,
    )
    lab = Profile(
        name="lab",
        source=None,
        url="http://127.0.0.1:40123/client/api",
        apikey='key "quoted" \\ back',
        secretkey="sécret\tTAB\x7f",
        ssh_key=Path("/tmp/lab/id_ed25519"),
        ssh_port=40222,
        known_hosts=Path("/tmp/lab/known_hosts"),
        host_key_policy="strict",
        access={"kvm": "linklocal"},
        is_lab=True,
    )
    path = save_profile(lab)
    assert path == config_path()
    assert (path.stat().st_mode & 0o777) == 0o600
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)
        back = load_profile("lab")
    assert back.apikey == lab.apikey and back.secretkey == lab.secretkey
    assert (back.ssh_key, back.ssh_port, back.known_hosts) == (lab.ssh_key, 40222, lab.known_hosts)
    assert back.host_key_policy == "strict" and back.access == {"kvm": "linklocal"}
    assert back.is_lab is True
    assert back.ssh_user == "x"  # [defaults] kept
    assert load_profile("keep").url == "http://k/client/api"  # other profiles kept
    # saving again replaces the table (a new lab port), it does not pile up keys
    lab.url, lab.ssh_port, lab.access = "http://127.0.0.1:40999/client/api", 22, {}
    save_profile(lab)
    data = tomllib.loads(config_path().read_text())
    assert data["profiles"]["lab"]["url"].endswith(":40999/client/api")
    assert "ssh_port" not in data["profiles"]["lab"] and "access" not in data["profiles"]["lab"]


def test_save_profile_into_fresh_dir() -> None:
    p = save_profile(
        Profile(name="a b", source=None, url="http://h/client/api", username="u", password="p")
    )
    assert p.parent == config_dir()
    assert load_profile("a b").username == "u"


def test_config_dir_override_and_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert config_dir() == tmp_path / "config"
    monkeypatch.delenv("CSPCTL_CONFIG_DIR")
    assert config_dir().name == "cspctl"


# ------------------------------------------------------------------- environment & precedence


def test_env_profile_one_off(monkeypatch: pytest.MonkeyPatch) -> None:
    write_cmk()
    monkeypatch.setenv("CSPCTL_URL", "http://10.0.0.1:8080/client/api")
    monkeypatch.setenv("CSPCTL_APIKEY", "ENVKEY")
    monkeypatch.setenv("CSPCTL_SECRETKEY", "ENVSECRET")
    write_toml('[profiles.env]\nssh_key = "/k"\nurl = "http://ignored/client/api"\n')
    p = quiet_load()
    assert p.name == "env" and p.source is None
    assert p.url == "http://10.0.0.1:8080/client/api"  # env vars win over [profiles.env]
    assert (p.apikey, p.secretkey) == ("ENVKEY", "ENVSECRET")
    assert p.ssh_key == Path("/k")  # extras from [profiles.env]
    assert quiet_load("prod").name == "prod"  # named profiles still reachable


def test_env_username_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPCTL_URL", "http://10.0.0.1:8080/client/api")
    monkeypatch.setenv("CSPCTL_USERNAME", "admin")
    monkeypatch.setenv("CSPCTL_PASSWORD", "pw")
    monkeypatch.setenv("CSPCTL_DOMAIN", "/cust")
    monkeypatch.setenv("CSPCTL_VERIFY_TLS", "no")
    p = quiet_load()
    assert (p.auth_kind, p.username, p.domain, p.verify_tls) == (
        "password",
        "admin",
        "/cust",
        False,
    )


def test_env_without_url_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPCTL_APIKEY", "k")
    monkeypatch.setenv("CSPCTL_SECRETKEY", "s")
    with pytest.raises(
        ConfigError,
        match=r"from the environment has no url \(CSPCTL_URL is not set\); export CSPCTL_URL=https://",
    ):
        quiet_load()


def test_env_profile_requested_without_variables() -> None:
    with pytest.raises(
        ConfigError,
        match=r"profile 'env' comes from the environment, and "
        r"CSPCTL_URL is not set; export CSPCTL_URL=",
    ):
        quiet_load("env")


def test_precedence_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    write_cm5()
    assert load_config().default_name()[0] == "legacy"  # [core] profile
    write_cmk()
    assert load_config().default_name()[0] == "localcloud"  # cmk beats cloudmonkey
    write_toml('[defaults]\nprofile = "prod"\n')
    assert load_config().default_name()[0] == "prod"  # cspctl's TOML beats cmk
    monkeypatch.setenv("CSPCTL_URL", "http://e/client/api")
    assert load_config().default_name()[0] == "env"  # env vars beat the files
    monkeypatch.setenv("CSPCTL_PROFILE", "legacy")
    assert load_config().default_name()[0] == "legacy"  # CSPCTL_PROFILE/--profile beat all
    assert quiet_load().name == "legacy"
    assert quiet_load("old48").name == "old48"  # an explicit name beats everything


# ------------------------------------------------------------------- permissions


def test_world_readable_cmk_config_warns_but_loads() -> None:
    write_cmk(mode=0o644)
    with pytest.warns(ConfigWarning) as record:
        p = load_profile()
    assert p.name == "localcloud"
    assert [str(w.message) for w in record] == [
        "~/.cmk/config is readable by other users (mode 0644); run: chmod 600 ~/.cmk/config"
    ]


def test_group_readable_toml_with_secrets_warns() -> None:
    write_toml(
        '[profiles.a]\nurl = "http://h/client/api"\nusername = "u"\npassword = "p"\n', mode=0o640
    )
    with pytest.warns(ConfigWarning, match=r"config\.toml is readable by its group \(mode 0640\)"):
        load_profile()


def test_no_warning_for_private_files_or_files_without_secrets() -> None:
    write_cmk(mode=0o600)
    write_toml('[defaults]\nssh_user = "ops"\n', mode=0o644)  # no secret inside
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_profile().ssh_user == "ops"


# ------------------------------------------------------------------- broken files → messages


def test_bad_toml_names_file_and_line() -> None:
    write_cmk()
    write_toml('[defaults]\nprofile = "prod"\nssh_port = = 22\n')
    with pytest.raises(ConfigError) as err:
        load_profile()
    msg = str(err.value)
    assert str(config_path()) in msg and "line 3" in msg and "fix the TOML syntax" in msg
    assert err.value.exit_code == 2


def test_missing_url_names_file_key_and_fix() -> None:
    write_cmk("profile = prod\n[prod]\napikey = a\nsecretkey = b\n")
    with pytest.raises(ConfigError) as err:
        quiet_load()
    assert str(err.value) == (
        "profile 'prod' in ~/.cmk/config has no url; add "
        "`url = https://mgmt:8080/client/api` to its [prod] section of ~/.cmk/config"
    )


def test_unknown_profile_lists_known_ones_and_files() -> None:
    write_cmk()
    write_toml('[profiles.mine]\nurl = "http://h/client/api"\napikey = "a"\nsecretkey = "b"\n')
    with pytest.raises(ConfigError) as err:
        quiet_load("x")
    assert str(err.value) == (
        f"no profile 'x'; known: localcloud, prod, mine (from ~/.cmk/config, {config_path()})"
    )


def test_nothing_configured() -> None:
    with pytest.raises(ConfigError) as err:
        quiet_load()
    msg = str(err.value)
    assert msg.startswith("no CloudStack profile configured: create ~/.cmk/config (cmk)")
    assert "cspctl --lab" in msg


def test_several_profiles_no_default() -> None:
    write_toml(
        '[profiles.a]\nurl = "http://a/client/api"\napikey = "k"\nsecretkey = "s"\n'
        '[profiles.b]\nurl = "http://b/client/api"\napikey = "k"\nsecretkey = "s"\n'
    )
    with pytest.raises(ConfigError, match=r'several profiles \(a, b\).*profile = "a"'):
        quiet_load()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            'host_key_policy = "yolo"',
            "`host_key_policy` in [profiles.p] of {f} is 'yolo'; "
            "use one of: ask, accept-new, strict",
        ),
        ("ssh_port = 70000", "`ssh_port` in [profiles.p] of {f} is 70000, not a TCP port"),
        ('ssh_port = "ssh"', "`ssh_port` in [profiles.p] of {f} is 'ssh', not a number"),
        ('read_only = "maybe"', "`read_only` in [profiles.p] of {f} is 'maybe', not a boolean"),
        ("refresh_interval = 0", "`refresh_interval` in [profiles.p] of {f} is 0, must be above 0"),
        ('access = { kvm = "teleport" }', "`access` in [profiles.p] of {f} gives kvm = 'teleport'"),
        ('bastion = "@host"', "`bastion` in [profiles.p] of {f} is '@host': empty user"),
        ("signature_version = 4", "`signature_version` in [profiles.p] of {f} is 4"),
        ('url = "mgmt:8080"', "`url` in [profiles.p] of {f} is 'mgmt:8080', not an http(s) URL"),
    ],
)
def test_invalid_values_are_named(toml: str, expected: str) -> None:
    url = "" if toml.startswith("url") else 'url = "http://h/client/api"\n'
    write_toml(f'[profiles.p]\n{url}apikey = "k"\nsecretkey = "s"\n{toml}\n')
    with pytest.raises(ConfigError) as err:
        quiet_load()
    assert expected.format(f=config_path()) in str(err.value)


def test_invalid_cmk_global_and_cloudmonkey_values() -> None:
    write_cmk(
        "verifycert = sometimes\nprofile = a\n[a]\nurl = http://h/client/api\n"
        "apikey = k\nsecretkey = s\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"`verifycert` at the top of ~/.cmk/config is "
        r"'sometimes', not a boolean; use `verifycert = true`",
    ):
        quiet_load()
    write_cm5(
        "[core]\nprofile = b\n[b]\nurl = http://h/client/api\nusername = u\npassword = p\n"
        "signatureversion = x\n"
    )
    with pytest.raises(ConfigError, match=r"`signatureversion` in \[b\] of ~/.cloudmonkey/config"):
        quiet_load("b")


def test_credentials_incomplete() -> None:
    write_cmk("profile = a\n[a]\nurl = http://h/client/api\napikey = k\n")
    with pytest.raises(ConfigError, match=r"has an apikey but no secretkey; add `secretkey = …`"):
        quiet_load()
    write_cmk("profile = a\n[a]\nurl = http://h/client/api\n")
    with pytest.raises(ConfigError, match=r"profile 'a' in ~/.cmk/config has no credentials"):
        quiet_load()
    # cmk: API keys win, but a username/password pair alone is fine
    write_cmk(
        "profile = a\n[a]\nurl = http://h/client/api\napikey = k\nusername = u\npassword = p\n"
    )
    assert quiet_load().auth_kind == "password"


def test_broken_ini_line_is_named_without_showing_it() -> None:
    write_cmk("profile = a\n[a]\nurl = http://h/client/api\nhunter2-secret-on-its-own\n")
    with pytest.raises(ConfigError) as err:
        quiet_load()
    msg = str(err.value)
    assert "cannot parse ~/.cmk/config: line 4 is not `key = value`" in msg
    assert "hunter2" not in msg


def test_unknown_toml_key_warns_with_suggestion() -> None:
    write_toml(
        '[profiles.a]\nurl = "http://h/client/api"\napikey = "k"\nsecretkey = "s"\n'
        'ssh_usr = "ops"\n'
    )
    with pytest.warns(ConfigWarning, match=r"unknown key 'ssh_usr'.*did you mean 'ssh_user'"):
        load_profile()


def test_list_profiles_skips_broken_ones_with_a_warning() -> None:
    write_cmk(CMK6 + "\n[broken]\nurl = http://h/client/api\n")
    with pytest.warns(ConfigWarning, match=r"profile 'broken' in ~/.cmk/config has no cred"):
        names = [p.name for p in list_profiles()]
    assert names == ["localcloud", "prod"]


def test_unreadable_file_is_a_config_error() -> None:
    if os.geteuid() == 0:
        # root reads anything; a directory in place of the file fails for everyone
        cmk_config_path().mkdir(parents=True)
        write_toml('[profiles.a]\nurl = "http://h/client/api"\napikey = "k"\nsecretkey = "s"\n')
        assert quiet_load().name == "a"  # a directory is not a cmk config: ignored
        return
    write_cmk(mode=0o000)
    with pytest.raises(ConfigError, match=r"cannot read ~/.cmk/config"):
        quiet_load()
