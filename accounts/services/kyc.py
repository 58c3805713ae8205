"""KYC of sub-accounts through KuCoin's ND proxy: submit, then follow the status."""
from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone

from accounts.clients import broker_client
from accounts.models import KycSubmission, SubAccount
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import failure_fields
from brokeroffice.leases import leased
from brokeroffice.models import Job
from brokeroffice.tasking import gives_up

PHOTO_FIELDS = ("front_photo", "backend_photo", "face_photo")


def kyc_submit(*, sub_account: SubAccount, data: dict, requested_by=None) -> tuple[KycSubmission, Job]:
    """Stores the personal data encrypted and queues its submission. `data` holds the form's cleaned values."""
    from accounts.tasks import kyc_submit_task

    with transaction.atomic():
        submission = KycSubmission.objects.create(
            sub_account=sub_account, identity_type=data["identity_type"], issue_country=data["issue_country"],
            personal_data=json.dumps(data, default=str), requested_by=requested_by,
        )
        job = job_create(kind="kyc_submit", label=f"Submit KYC of {sub_account}", requested_by=requested_by)
        job_enqueue(job=job, task=kyc_submit_task, args=(submission.pk,))
    return submission, job


def kyc_submit_send(*, submission_id: int, run: JobRun, last_try: bool = False) -> KycSubmission:
    """Sending twice only re-submits the same documents, so a retry needs no check first. A refusal, any error
    not worth another try, or any error on the job's last try fails the submission: the resume schedule then
    leaves it alone, and staff submit it again."""
    with leased(KycSubmission, submission_id):
        # The personal data is read (decrypted) inside the try: a key removed too early fails the submission.
        submission = KycSubmission.objects.select_related("sub_account").defer("personal_data").get(pk=submission_id)
        if submission.state == KycSubmission.State.SUBMITTED:
            return submission
        try:
            data = json.loads(submission.personal_data)
            broker_client().broker.submit_kyc(
                client_uid=submission.sub_account.uid, first_name=data["first_name"], last_name=data["last_name"],
                issue_country=data["issue_country"], birth_date=data["birth_date"],
                identity_type=data["identity_type"], identity_number=data["identity_number"],
                expire_date=data["expire_date"], front_photo=data.get("front_photo") or None,
                backend_photo=data.get("backend_photo") or None, face_photo=data["face_photo"],
            )
        except Exception as exc:
            # Only an error worth another try leaves it pending (for the task's next try, or the resume
            # schedule): any other would be sent again every half hour, and fail again.
            if gives_up(exc, last_try=last_try):
                KycSubmission.objects.filter(pk=submission_id).update(state=KycSubmission.State.FAILED,
                                                                      **failure_fields(exc))
            raise
        # The photos are KuCoin's business now: keep only what staff need to recognise the submission.
        kept = {k: v for k, v in data.items() if k not in PHOTO_FIELDS}
        KycSubmission.objects.filter(pk=submission_id).update(
            state=KycSubmission.State.SUBMITTED, submitted_at=timezone.now(), kyc_status=KycSubmission.KycStatus.PROCESS,
        )
        submission.refresh_from_db()
        submission.personal_data = json.dumps(kept, default=str)
        submission.save(update_fields=["personal_data"])
        run.succeed(f"Sent the KYC of {submission.sub_account} to KuCoin; it is under review.")
        return submission


def kyc_status_sync(*, run: JobRun) -> int:
    """Reads the status of every submission KuCoin has not decided yet."""
    waiting = list(KycSubmission.objects.filter(state=KycSubmission.State.SUBMITTED, kyc_status=KycSubmission.KycStatus.PROCESS)
                   .select_related("sub_account"))
    by_uid = {s.sub_account.uid: s for s in waiting}
    uids = list(by_uid)
    client = broker_client()
    now = timezone.now()
    for start in range(0, len(uids), 50):
        for status in client.broker.get_kyc_status(uids[start : start + 50]):
            submission = by_uid.get(status.client_uid)
            if submission:
                KycSubmission.objects.filter(pk=submission.pk).update(
                    kyc_status=status.status, reject_reason=status.reject_reason or "", checked_at=now
                )
        run.progress(min(start + 50, len(uids)), len(uids))
    run.succeed(f"Checked the KYC status of {len(uids)} sub-accounts.")
    return len(uids)
