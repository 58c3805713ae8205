"""Rebate tests: retries wait a fraction of a second (set before the session's worker starts, which
inherits the environment), so a test of "retried, then failed" ends in seconds."""
import os

os.environ.setdefault("REBATES_RETRY_BASE_SECONDS", "0.1")
os.environ.setdefault("REBATES_DOWNLOAD_MAX_RETRIES", "3")
