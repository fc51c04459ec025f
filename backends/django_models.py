"""The Django models of the harness's tables; importable only after `django_orm.configure()`."""

from django.db import models

from scenarios.schema import CHILD_TABLE, ITEM_TABLE, PARENT_TABLE


class Item(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200, unique=True)
    quantity = models.IntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2)
    active = models.BooleanField()
    created_at = models.DateTimeField()

    class Meta:
        app_label = "ormbench"
        db_table = ITEM_TABLE
        managed = False  # the harness creates and drops the table


class Parent(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=100)

    class Meta:
        app_label = "ormbench"
        db_table = PARENT_TABLE
        managed = False


class Child(models.Model):
    id = models.AutoField(primary_key=True)
    # on_delete is Python-side in Django; the harness's schema holds the real constraint.
    parent = models.ForeignKey(Parent, models.DO_NOTHING, related_name="children")
    name = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        app_label = "ormbench"
        db_table = CHILD_TABLE
        managed = False
        ordering = ()  # no default ordering: each query says its own
