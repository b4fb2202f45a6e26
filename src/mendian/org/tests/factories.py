from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from mendian.org.models import Location, Region, RoleAssignment


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Region {o.code}")
    level = Region.Level.REGION


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    region = factory.SubFactory(RegionFactory)
    code = factory.Sequence(lambda n: f"ST{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Store {o.code}")
    kind = Location.Kind.STORE
    city = "Kunming"
    latitude = Decimal("25.040600")
    longitude = Decimal("102.712300")
    area_m2 = Decimal("120.00")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "demo")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = "hq"


def user_with_role(role: str, *, username: str | None = None, location: Location | None = None,
                   region: Region | None = None):
    """A user holding ``role`` at a scope (the chain when neither location nor region is given)."""
    user = UserFactory(username=username) if username else UserFactory()
    RoleAssignment.objects.create(user=user, role=role, location=location, region=region)
    return user
