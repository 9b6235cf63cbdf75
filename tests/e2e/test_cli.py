"""`capsule plugins`: what an operator sees before serving. Every assertion on the JSON shape lives here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import ALL_PLUGINS, CORE_MODULE_BYTES, EXPECTED_TOOLS, NOTE_PROMPTS, NOTE_URIS

BROKEN = {"garbage.wasm": b"\x00not wasm at all\xff" * 8, "core-module.wasm": CORE_MODULE_BYTES, "empty.wasm": b""}


def plugins_json(capsule, plugin_dir: Path) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """Run `capsule plugins --json`; return (exit status, plugins, errors, problems). The one place that
    knows the JSON shape: `{"plugins": [{name, version, path, tools, resources, resource_templates,
    prompts, pinned}], "errors": [{path, reason}], "problems": [{plugin, message}], "lock": path|null,
    "held": [{name, path, serving_previous, pinned, definitions, message, diff}]}`."""
    proc = capsule.cli("plugins", *capsule.source_args(plugin_dir, notes=(plugin_dir / "notes.wasm").exists()), "--json")
    assert proc.stdout.strip(), f"no JSON on stdout (exit {proc.returncode}); stderr:\n{proc.stderr[-2000:]}"
    try:
        doc = json.loads(proc.stdout)  # stdout must be pure JSON: logs go to stderr
    except json.JSONDecodeError as exc:
        raise AssertionError(f"stdout is not JSON ({exc}):\n{proc.stdout[:2000]}") from None
    assert isinstance(doc, dict) and isinstance(doc.get("plugins"), list), doc
    return proc.returncode, doc["plugins"], doc.get("errors", []), doc.get("problems", [])


def test_plugins_json_lists_every_plugin(capsule):
    status, plugins, errors, problems = plugins_json(capsule, capsule.plugin_dir(ALL_PLUGINS))
    assert status == 0
    assert errors == []
    assert problems == [], "every item the plugins declare should be published"
    by_name = {p["name"]: p for p in plugins}
    assert sorted(by_name) == sorted(ALL_PLUGINS)
    for name, plugin in by_name.items():
        assert plugin["version"], plugin
        assert Path(plugin["path"]).name == f"{name}.wasm", plugin
        assert set(plugin["tools"]) == EXPECTED_TOOLS[name], plugin
    # notes lists the notes it finds in its /notes grant (the same --fs as `serve`)
    assert set(by_name["notes"]["resources"]) == NOTE_URIS
    assert by_name["notes"]["resource_templates"] == ["notes://{name}"]
    assert set(by_name["notes"]["prompts"]) == set(NOTE_PROMPTS)
    for name in ("hello", "textkit", "fixture"):
        assert by_name[name]["resources"] == [] and by_name[name]["prompts"] == [], by_name[name]
        assert by_name[name]["resource_templates"] == [], by_name[name]


def test_plugins_json_reports_broken_files(capsule):
    plugin_dir = capsule.plugin_dir(["hello"], BROKEN)
    status, plugins, errors, _ = plugins_json(capsule, plugin_dir)
    assert status == 1, "a file that failed to load makes `capsule plugins` exit 1"
    assert [p["name"] for p in plugins] == ["hello"]
    assert sorted(Path(e["path"]).name for e in errors) == sorted(BROKEN), errors
    assert all(e["reason"].strip() for e in errors), errors


def test_plugins_table_mentions_each_plugin_and_tool(capsule):
    plugin_dir = capsule.plugin_dir(ALL_PLUGINS)
    proc = capsule.cli("plugins", *capsule.source_args(plugin_dir, notes=True))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for plugin in ALL_PLUGINS:
        assert plugin in out, f"{plugin} missing from:\n{out}"
        for tool in EXPECTED_TOOLS[plugin]:
            assert tool in out, f"{tool} missing from:\n{out}"
    for item in [*NOTE_PROMPTS, *NOTE_URIS, "notes://{name}"]:
        assert item in out, f"{item} missing from:\n{out}"


def test_plugins_table_names_broken_files(capsule):
    plugin_dir = capsule.plugin_dir(["hello"], BROKEN)
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir))
    combined = proc.stdout + proc.stderr
    assert "hello_greet" in proc.stdout
    for filename in BROKEN:
        assert filename in combined, f"{filename} not mentioned:\n{combined}"


def test_plugins_json_shows_pins_and_held_versions(capsule):
    """With a lock file: `pinned` per plugin, and a pinned plugin whose definitions changed is held
    (not among `plugins`), with its diff; exit status 1."""
    lock, store = capsule.tmp_path / "capsule.lock", capsule.tmp_path / "store"
    pin_args = ["--lock", str(lock), "--store", str(store)]
    proc = capsule.cli("lock", "--plugins", str(capsule.plugin_dir(["hello"])), *pin_args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pinned = lock.read_text().split('definitions = "', 1)[1].split('"', 1)[0]

    policy = b'[tools.greet]\ndescription = "Changed."\n'
    plugin_dir = capsule.plugin_dir(["hello", "textkit"], {"hello.toml": policy})
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), *pin_args, "--json")
    assert proc.returncode == 1, "a held version makes `capsule plugins` exit 1"
    doc = json.loads(proc.stdout)
    assert doc["lock"] == str(lock)
    assert [(p["name"], p["pinned"]) for p in doc["plugins"]] == [("textkit", False)]
    [held] = doc["held"]
    assert held["name"] == "hello" and Path(held["path"]).name == "hello.wasm", held
    assert held["serving_previous"] is False
    assert held["pinned"] == pinned != held["definitions"]
    assert held["message"] == "held: definitions differ from capsule.lock; approve with `capsule approve hello`"
    assert held["diff"] == ['tool hello_greet: description changed: "Greet someone by name" -> "Changed."'], held

    # Without a lock file nothing is pinned or held.
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["lock"] is None and doc["held"] == []
    assert all(p["pinned"] is False for p in doc["plugins"])
