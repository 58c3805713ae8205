"""kucoin/ never imports Django: importing every module in a fresh interpreter loads no django."""
import pathlib
import subprocess
import sys

PKG = pathlib.Path(__file__).resolve().parents[1]


def test_no_django_import_in_a_fresh_interpreter():
    modules = [p.stem for p in PKG.glob("*.py") if p.stem != "__init__"]
    code = ("import sys\nimport kucoin\n" + "".join(f"import kucoin.{m}\n" for m in modules) +
            "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
            "assert not bad, bad\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=PKG.parent, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_no_django_in_source():
    for path in PKG.glob("*.py"):
        text = path.read_text()
        assert "import django" not in text and "from django" not in text, path
