"""Keyless (Sigstore) signatures on registry plugins (issue #17): a certificate from a Fulcio CA of
the configured trusted root, naming a trusted identity and issuer, with a Rekor entry signed by a
log of that root, admits a plugin; any other identity or issuer, a CA outside the root, or a Rekor
entry that records another signature does not. The Sigstore instance is the test's own
(`sigstore_instance.py`); the registry is Debian's `docker-registry`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from registry import cli, ok, pinned_digest, refused, registry  # noqa: F401 (fixtures)
from sigstore_instance import Sigstore

WORKFLOW = "https://github.com/acme/tools/.github/workflows/release.yml@refs/heads/main"
ACTIONS = "https://token.actions.githubusercontent.com"
@pytest.fixture(scope="module")
def sigstore() -> Sigstore:
    return Sigstore.create()


@pytest.fixture
def root(sigstore, tmp_path) -> Path:
    return sigstore.trusted_root(tmp_path / "trusted_root.json")


@pytest.fixture
def pushed(request, registry, cli, built_plugins) -> tuple[str, str, str]:
    """(repository, source, manifest digest) of an unsigned `hello` pushed for this test."""
    repository = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].strip("-") + "/hello"
    source = registry.source(repository, "1.0")
    digest = pinned_digest(ok(cli("push", built_plugins / "hello.wasm", source)))
    return repository, source, digest


def pull(cli, source, root, tmp_path, subject=WORKFLOW, issuer=ACTIONS):
    plugins = tmp_path / "plugins"
    plugins.mkdir(exist_ok=True)
    proc = cli(
        "pull", source, "--plugins", plugins, "--trusted-root", root,
        "--certificate-identity", subject, "--certificate-oidc-issuer", issuer,
    )  # fmt: skip
    return proc, plugins / "hello.wasm"


def test_a_keyless_signature_by_a_trusted_identity_is_accepted(registry, cli, sigstore, root, pushed, built_plugins, tmp_path):
    repository, source, digest = pushed
    sigstore.sign(registry, repository, digest, WORKFLOW, ACTIONS)
    proc, pulled = pull(cli, source, root, tmp_path)
    out = ok(proc)
    assert f"signed by {WORKFLOW} (issuer {ACTIONS})" in out, out
    assert pulled.read_bytes() == (built_plugins / "hello.wasm").read_bytes()


def test_an_e_mail_identity_works_too(registry, cli, sigstore, root, pushed, tmp_path):
    repository, source, digest = pushed
    sigstore.sign(registry, repository, digest, "release@acme.example", "https://accounts.google.com")
    proc, pulled = pull(cli, source, root, tmp_path, "release@acme.example", "https://accounts.google.com")
    assert "signed by release@acme.example" in ok(proc)


@pytest.mark.parametrize(
    "subject, issuer",
    [
        (WORKFLOW.replace("main", "evil"), ACTIONS),  # another workflow ref
        (WORKFLOW, "https://issuer.evil.example"),  # the right name from the wrong issuer
    ],
)
def test_another_identity_or_issuer_is_refused(registry, cli, sigstore, root, pushed, tmp_path, subject, issuer):
    repository, source, digest = pushed
    sigstore.sign(registry, repository, digest, subject, issuer)
    proc, pulled = pull(cli, source, root, tmp_path)
    refused(proc, "none verified by a trusted key", f"{WORKFLOW} (issuer {ACTIONS})")
    assert not pulled.exists()


def test_a_certificate_from_a_ca_outside_the_trusted_root_is_refused(registry, cli, sigstore, root, pushed, tmp_path):
    repository, source, digest = pushed
    other = Sigstore.create("Someone else's")
    other.log_key = sigstore.log_key  # a trusted log, an untrusted CA
    other.sign(registry, repository, digest, WORKFLOW, ACTIONS)
    proc, pulled = pull(cli, source, root, tmp_path)
    refused(proc, "none verified by a trusted key")
    assert not pulled.exists()


def test_a_rekor_entry_from_a_log_outside_the_trusted_root_does_not_count(registry, cli, root, pushed, tmp_path):
    repository, source, digest = pushed
    Sigstore.create("Someone else's").sign(registry, repository, digest, WORKFLOW, ACTIONS)
    proc, pulled = pull(cli, source, root, tmp_path)
    refused(proc, "is not signed", "a keyless one counts only with a Rekor entry from a log of the trusted root")
    assert not pulled.exists()


def test_a_log_entry_for_another_signature_is_refused(registry, cli, sigstore, root, pushed, tmp_path):
    repository, source, digest = pushed
    sigstore.sign(registry, repository, digest, WORKFLOW, ACTIONS, tamper_log=True)
    proc, pulled = pull(cli, source, root, tmp_path)
    refused(proc, "none verified by a trusted key")
    assert not pulled.exists()


def test_identities_need_a_trusted_root(cli, pushed, tmp_path):
    _, source, _ = pushed
    proc = cli("pull", source, "--plugins", tmp_path, "--certificate-identity", WORKFLOW, "--certificate-oidc-issuer", ACTIONS)
    refused(proc, "keyless identities need a Sigstore trusted root")
    bad = tmp_path / "bad_root.json"
    bad.write_text('{"tlogs": []}')
    proc, _ = pull(cli, source, bad, tmp_path)
    refused(proc, "not a Sigstore trusted root")


def test_keyless_identities_in_the_config_pin_the_signer(registry, cli, sigstore, pushed, tmp_path):
    repository, source, digest = pushed
    sigstore.sign(registry, repository, digest, WORKFLOW, ACTIONS)
    site = tmp_path / "site"
    (site / "plugins").mkdir(parents=True)
    sigstore.trusted_root(site / "trusted_root.json")
    (site / "capsule.toml").write_text(
        '[trust]\ntrusted_root = "trusted_root.json"\n'
        f'identities = [{{ subject = "{WORKFLOW}", issuer = "{ACTIONS}" }}]\n\n'
        f'[[plugin]]\nname = "greeter"\nsource = "{source}"\n'
    )
    args = ["--config", site / "capsule.toml", "--plugins", site / "plugins", "--store", site / "store"]
    out = ok(cli("lock", *args))
    assert "greeter: pinned" in out, out
    lock = (site / "capsule.lock").read_text()
    assert f'signer = "identity {WORKFLOW} (issuer {ACTIONS})"' in lock, lock
