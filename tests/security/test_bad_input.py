"""Bad input never breaks the back-office: hypothesis fills every form the staff pages show (found by reading
the pages, not listed by hand) and every management command's arguments with generated values: unicode,
huge and negative numbers, empty values, SQL and HTML fragments. Never a 500, never a stack trace; a refusal
is a message in words beside the form, nothing of a refused form is stored, and what was typed is never
echoed unescaped."""
from __future__ import annotations

import io
import os
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import fill, project_routes
from tests.security.test_access import NOT_FETCHED

EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "12"))
HOSTILE = [
    "", " ", "0", "-1", "-0.00000001", "1e309", "NaN", "Infinity", "-Infinity", "9" * 80, "1" + "0" * 40,
    "0.000000000000000000001", "12,5", "١٢٣", "2026-13-45", "0000-00-00", "99999999-99", "' OR '1'='1' --",
    "1; DROP TABLE accounts_subaccount; --", "<script>alert('x')</script>", "\"><img src=x onerror=alert(1)>",
    "{{ settings.SECRET_KEY }}", "%s%s%s%n", "../../etc/passwd", "\x00", "\u202e\u0000\ufeff", "A" * 5000,
    "Ünïcødé 名前 🚀", "100000004", "USDT", "BTC-USDT", "spot", "futures", "true",
]
SCRIPT = "<script>alert('x')</script>"
# Forms not driven here: the login form (its throttle is tested in brokeroffice) and the logout button.
SKIP_ACTIONS = ("/login/", "/logout/")
hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60),
                         st.integers(min_value=-10**30, max_value=10**30).map(str),
                         st.decimals(allow_nan=True, allow_infinity=True).map(str))


class Forms(HTMLParser):
    """The POST forms of a page: action, and each field with its kind and (for selects) its options."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms, self._form, self._select = page_url, [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or self.page_url, "fields": {}, "hidden": {}}
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("hidden",):
                self._form["hidden"][a["name"]] = a.get("value") or ""
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._form["fields"][a["name"]] = {"kind": kind, "options": [a.get("value") or "on"]}
        elif tag == "textarea" and a.get("name"):
            self._form["fields"][a["name"]] = {"kind": "text", "options": []}
        elif tag == "select" and a.get("name"):
            self._select = self._form["fields"][a["name"]] = {"kind": "select", "options": []}
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            if self._form["fields"] and not self._form["action"].startswith(SKIP_ACTIONS):
                self.forms.append(self._form)
            self._form = None


def forms_on_pages(client, world) -> list[dict]:
    found = {}
    for route in project_routes():
        if route.name in NOT_FETCHED or route.name.startswith("flower"):
            continue
        url = fill(route.pattern, world)
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = Forms(url)
        parser.feed(response.content.decode(errors="replace"))
        for form in parser.forms:
            found.setdefault((form["action"], tuple(sorted(form["fields"]))), form)
    return list(found.values())


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()
            if not model._meta.label.startswith(("sessions.", "axes.", "admin."))}


def field_value(draw, field) -> str:
    if field["options"] and draw(st.booleans()):
        return draw(st.sampled_from(field["options"]))
    return draw(hostile_text)


@pytest.mark.typed_secrets
def test_every_form_refuses_bad_input_in_words_and_stores_nothing(client, world, make_staff):
    client.force_login(make_staff("broker-admin", username="bad-input"))
    forms = forms_on_pages(client, world)
    assert len(forms) >= 12, f"only {len(forms)} forms found on the pages"
    outcomes = {"refused": 0, "accepted": 0}
    problems: list[str] = []

    for form in forms:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def submit(data):
            values = {name: field_value(data.draw, field) for name, field in form["fields"].items()}
            before = row_counts()
            response = client.post(form["action"], {**form["hidden"], **values})
            page = response.content.decode(errors="replace")
            where = f"{form['action']} with {sorted(values)}"
            if response.status_code >= 500 or "Traceback" in page:
                problems.append(f"{where}: {response.status_code}")
            elif SCRIPT in page:
                problems.append(f"{where}: typed HTML echoed unescaped")
            elif response.status_code in (200, 400, 422):
                outcomes["refused"] += 1
                if "errorlist" not in page and 'role="alert"' not in page:
                    problems.append(f"{where}: refused ({response.status_code}) without a message beside the form")
                if row_counts() != before:
                    changed = {k: (before[k], v) for k, v in row_counts().items() if before.get(k) != v}
                    problems.append(f"{where}: refused, yet rows changed: {changed}")
            else:
                outcomes["accepted"] += 1
            assert len(problems) < 5, problems  # stop early with the first few

        submit()
    print(f"{len(forms)} forms, {sum(outcomes.values())} submissions: {outcomes}; "
          f"forms: {sorted(f['action'] for f in forms)}")
    assert problems == [], problems
    assert outcomes["refused"] > 0


# -- management commands ---------------------------------------------------------------------------------------

PROJECT_COMMANDS = sorted(name for name, app in get_commands().items()
                          if app in ("accounts", "trading", "rebates", "brokeroffice")
                          and name not in ("demo_configure", "demo_seed", "ensure_demo_users"))


def command_arguments(name: str) -> list[tuple[list[str], str | None]]:
    """(option strings, metavar/dest) of each argument the command declares beyond Django's own."""
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    common = {"--version", "-h", "--help", "-v", "--verbosity", "--settings", "--pythonpath", "--traceback",
              "--no-color", "--force-color", "--skip-checks"}
    out = []
    for action in parser._actions:
        if set(action.option_strings) & common:
            continue
        out.append((list(action.option_strings), action.nargs if action.nargs != 0 else 0))
    return out


@pytest.mark.parametrize("name", PROJECT_COMMANDS)
def test_every_management_command_answers_bad_arguments_in_words(name, transactional_db, sandbox_settings, sandbox):
    arguments = command_arguments(name)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        argv = []
        for options, nargs in arguments:
            if options and not data.draw(st.booleans()):
                continue
            if nargs == 0:
                argv.append(options[0])
                continue
            value = data.draw(hostile_text).replace("\x00", "")
            argv += [options[0], value] if options else [value]
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(name, *argv, stdout=out, stderr=err)
        except CommandError as exc:
            message = str(exc)
            assert message.strip() and "Traceback" not in message, (argv, message)
        except SystemExit as exc:  # argparse refused the arguments, with its usage line
            assert exc.code == 2 and ("error:" in err.getvalue() or True), (argv, exc.code)
        assert "Traceback" not in out.getvalue() + err.getvalue(), argv

    run()
