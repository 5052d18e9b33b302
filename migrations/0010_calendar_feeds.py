from enum import StrEnum
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class FeedPurpose(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    CALENDAR = 'calendar'
    ALERTS = 'alerts'


class Migration(migrations.Migration):
    dependencies = [('models', '0009_posts')]

    initial = False

    # Only CreateModel: no existing table is altered.

    operations = [
        ops.CreateModel(
            name='FeedToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.LocalActor', source_field='member_id', db_constraint=True, to_field='id', related_name='feed_tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='CALENDAR: calendar\nALERTS: alerts', enum_type=FeedPurpose, max_length=16)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'feed_token', 'app': 'models', 'indexes': [Index(fields=['member_id', 'purpose'])], 'pk_attr': 'id', 'table_description': "Members' secret feed URLs (calendar, alerts): SHA-256 digests only"},
            bases=['Model'],
        ),
    ]
