"""Row leases: one execution at a time acts on a row; an execution whose lease ran out and was taken over
can neither free the row nor write to it through its lease."""
import pytest

from accounts.models import SubAccount
from accounts.tests.factories import SubAccountFactory
from brokeroffice.leases import LeaseHeld, lease_acquire, leased

pytestmark = pytest.mark.django_db


def test_a_held_row_cannot_be_taken_and_is_free_again_after_the_body():
    row = SubAccountFactory()
    with leased(SubAccount, row.pk, seconds=60):
        with pytest.raises(LeaseHeld):
            with leased(SubAccount, row.pk):
                pass
        assert not lease_acquire(SubAccount, row.pk)
    with leased(SubAccount, row.pk):
        pass
    assert SubAccount.objects.get(pk=row.pk).lease_until is None


def test_an_execution_whose_lease_ran_out_does_not_free_the_row_another_took_over(clock):
    row = SubAccountFactory()
    with leased(SubAccount, row.pk, seconds=60):
        clock(61)  # the first execution is still at work when its lease runs out
        second = leased(SubAccount, row.pk, seconds=60)
        second.__enter__()
    # The first one has finished; the second still holds the row: a third cannot take it.
    with pytest.raises(LeaseHeld):
        with leased(SubAccount, row.pk):
            pass
    second.__exit__(None, None, None)
    assert SubAccount.objects.get(pk=row.pk).lease_until is None


def test_a_lease_writes_and_renews_only_while_its_execution_still_holds_the_row(clock):
    row = SubAccountFactory()
    with leased(SubAccount, row.pk, seconds=60) as first:
        clock(61)  # run out, nobody took it over: still the first execution's
        assert first.renew(60, level=1)
        clock(61)
        with leased(SubAccount, row.pk, seconds=60) as second:
            assert not first.renew(60, level=9)
            assert not first.update(level=9)
            assert second.update(level=2)
            clock(30)
            with pytest.raises(LeaseHeld):  # the second's renewal holds the row past its first expiry
                with leased(SubAccount, row.pk):
                    pass
    assert SubAccount.objects.get(pk=row.pk).level == 2
