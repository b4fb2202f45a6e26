from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "mendian.promotions"
    label = "promotions"
    default_auto_field = "django.db.models.BigAutoField"
