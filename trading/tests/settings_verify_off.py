"""The test settings with KC-API-PARTNER-VERIFY off on order calls: a broker set-up that forgot it."""
from brokeroffice.settings_test import *  # noqa: F401,F403

KUCOIN_PARTNER_VERIFY = False
