import sys

# The project's root conftest registers the plugin (pytest_plugins = ["sandbox.testing"]); when the
# sandbox's tests run without it, take the fixtures from here instead.
if "sandbox.testing" not in sys.modules:
    from sandbox.testing import *  # noqa: F401,F403
