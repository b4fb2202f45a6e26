from django.apps import AppConfig


class PurchasingConfig(AppConfig):
    name = "mendian.purchasing"
    label = "purchasing"
    default_auto_field = "django.db.models.BigAutoField"
