"""The Django model of the harness's table; importable only after `django_orm.configure()`."""

from django.db import models

from scenarios.schema import ITEM_TABLE


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
