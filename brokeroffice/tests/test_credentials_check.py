"""The CI check that no credential-shaped string is committed outside made-up test material."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_credentials", ROOT / "bin" / "check_credentials.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def write(tmp_path, relative, text):
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path.relative_to(tmp_path))


def test_a_key_secret_or_header_shaped_value_in_code_is_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    key = write(tmp_path, "accounts/settings_local.py", 'KEY = "5f3a9c0d1b2e4f6a7c8d9e0f"\n')
    secret = write(tmp_path, "docs/howto.md", "secret: 3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d\n")
    header = write(tmp_path, "scripts/call.sh", "curl -H 'KC-API-SIGN: Zm9vYmFyYmF6cXV4cXV1eA=='\n")
    found = check.findings([key, secret, header])
    assert len(found) == 3
    assert found[0].startswith("accounts/settings_local.py:1: API key")


def test_placeholders_and_test_material_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    placeholder = write(tmp_path, "docs/example.md", 'apiKey "65aa00000000000000000001"\n')
    fixture = write(tmp_path, "accounts/tests/test_x.py", 'KEY = "5f3a9c0d1b2e4f6a7c8d9e0f"\n')
    assert check.findings([placeholder, fixture]) == []
