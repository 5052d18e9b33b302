from enum import StrEnum
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class BlockSeverity(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    SUSPEND = 'suspend'
    LIMIT = 'limit'


class Migration(migrations.Migration):
    dependencies = [('models', '0011_signup_and_alerts')]

    initial = False

    # Only CreateModel: no existing table is altered.

    operations = [
        ops.CreateModel(
            name='DomainBlock',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('domain', fields.CharField(unique=True, max_length=253)),
                ('severity', fields.CharEnumField(description='SUSPEND: suspend\nLIMIT: limit', enum_type=BlockSeverity, max_length=16)),
                ('public_comment', fields.TextField(default='', unique=False)),
                ('private_comment', fields.TextField(default='', unique=False)),
                ('reject_media', fields.BooleanField(default=False)),
                ('reject_reports', fields.BooleanField(default=False)),
                ('obfuscate', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'domain_block', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Domains suspended or limited by the admins'},
            bases=['Model'],
        ),
    ]
