"""The alternative to `ominigate-codex install`: the same edit with tomlkit.

Adds [model_providers.ominigate] to $CODEX_HOME/config.toml (keeping
comments and layout, as tomlkit does) and writes the profile file
$CODEX_HOME/ominigate.config.toml, replacing each file by rename. This is
the script a user would write by hand; bench/run.sh times it beside the
Rust binary on the same configs.
"""

import os
import sys

import tomlkit

PROVIDER = {
    "name": "OminiGate",
    "base_url": "https://api.ominigate.ai/v1",
    "env_key": "OMINIGATE_API_KEY",
    "wire_api": "responses",
    "requires_openai_auth": False,
    "request_max_retries": 4,
    "stream_max_retries": 10,
    "stream_idle_timeout_ms": 300000,
}
PROFILE = {"model": "openai/gpt-5.4-pro", "model_provider": "ominigate"}


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    home = os.environ.get("CODEX_HOME") or os.path.expanduser("~/.codex")
    config = os.path.join(home, "config.toml")
    with open(config, encoding="utf-8", newline="") as f:
        doc = tomlkit.parse(f.read())
    providers = doc.get("model_providers")
    if providers is None:
        providers = tomlkit.table(is_super_table=True)
        doc["model_providers"] = providers
    block = tomlkit.table()
    block.comment("OminiGate provider (added by tomlkit_install.py)")
    for key, value in PROVIDER.items():
        block.add(key, value)
    providers["ominigate"] = block
    write(config, tomlkit.dumps(doc))

    profile = tomlkit.document()
    for key, value in PROFILE.items():
        profile.add(key, value)
    write(os.path.join(home, "ominigate.config.toml"), tomlkit.dumps(profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
