from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """The first result of a POST that creates a document, keyed per user by the Idempotency-Key."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        DONE = "done"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=100, help_text="the endpoint, e.g. orders.create")
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique")]


class AuditEntry(models.Model):
    """One audited write. Appended by services; sealed later into hash-chained blocks."""

    at = models.DateTimeField()
    actor = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_ref = models.CharField(max_length=100)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    block = models.ForeignKey("AuditBlock", null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    seal_seq = models.BigIntegerField(null=True, blank=True, help_text="position in the sealed chain, 1, 2, 3…")
    seal_hash = models.CharField(max_length=64, blank=True, default="", help_text="H(previous seal_hash, entry)")

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_ref"]), models.Index(fields=["block"])]
        verbose_name_plural = "audit entries"


class AuditBlock(models.Model):
    """A sealed run of audit entries: hash = H(prev_hash, entries…). Chained, verifiable."""

    seq = models.PositiveIntegerField(unique=True)
    first_entry_id = models.BigIntegerField()
    last_entry_id = models.BigIntegerField()
    entry_count = models.PositiveIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it reports; delivered at least once."""

    topic = models.CharField(max_length=64)
    partition = models.CharField(max_length=32, blank=True, default="", help_text="location code: order kept per location")
    payload = models.JSONField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    retry_at = models.DateTimeField(null=True, blank=True, help_text="after a failure: not retried before this time")

    class Meta:
        indexes = [models.Index(fields=["delivered_at", "id"])]


class LoginAttempt(models.Model):
    """One sign-in attempt; failures are counted here so that every worker process agrees."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.CharField(max_length=64, db_index=True)
    success = models.BooleanField()
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["username", "at"]), models.Index(fields=["ip", "at"])]


class RefreshToken(models.Model):
    """A refresh token, stored as the SHA-256 of the token (``jti``); the token itself is never stored.

    Tokens rotate: each refresh revokes the token used and issues a new one of the same ``family``.
    Presenting a revoked token again (a stolen copy) revokes the whole family.
    """

    jti = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token")
    family = models.CharField(max_length=64, blank=True, default="", db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Job(models.Model):
    """A long-running job (import, forecast run) with progress, visible in the console and API."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class PeriodicRun(models.Model):
    """When each periodic job last ran, so that several workers agree on what is due."""

    name = models.CharField(max_length=64, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
