from loans.models import InstallmentStatus


def test_alices_loan_has_twelve_pending_bills(alices_loan):
    bills = list(alices_loan.installments.all())
    assert len(bills) == 12
    assert {b.status for b in bills} == {InstallmentStatus.PENDING}
