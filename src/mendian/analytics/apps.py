from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "mendian.analytics"
    label = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
