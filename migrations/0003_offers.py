from enum import StrEnum
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class OfferKind(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    RIDE = 'ride'
    DELIVERY_JOB = 'delivery_job'
    STAY = 'stay'


class OfferStatus(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    OPEN = 'open'
    FULL = 'full'
    CLOSED = 'closed'
    EXPIRED = 'expired'
    CANCELLED = 'cancelled'
    ASSIGNED = 'assigned'
    PICKED_UP = 'picked_up'
    DELIVERED = 'delivered'
    FAILED = 'failed'


class Purpose(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    OFFER = 'offer'
    REQUEST = 'request'


class Migration(migrations.Migration):
    dependencies = [('models', '0002_claim_token')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.LocalActor', source_field='member_id', db_constraint=True, to_field='id', related_name='api_tokens', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('label', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'API tokens of members'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Offer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('local_uuid', fields.CharField(null=True, unique=True, max_length=36)),
                ('author', fields.ForeignKeyField('models.LocalActor', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='offers', on_delete=OnDelete.CASCADE)),
                ('author_uri', fields.CharField(max_length=500)),
                ('author_name', fields.CharField(default='', max_length=200)),
                ('coop_uri', fields.CharField(null=True, max_length=500)),
                ('instance_domain', fields.CharField(max_length=253)),
                ('kind', fields.CharEnumField(description='RIDE: ride\nDELIVERY_JOB: delivery_job\nSTAY: stay', enum_type=OfferKind, max_length=16)),
                ('purpose', fields.CharEnumField(description='OFFER: offer\nREQUEST: request', enum_type=Purpose, max_length=16)),
                ('status', fields.CharEnumField(default=OfferStatus.OPEN, description='OPEN: open\nFULL: full\nCLOSED: closed\nEXPIRED: expired\nCANCELLED: cancelled\nASSIGNED: assigned\nPICKED_UP: picked_up\nDELIVERED: delivered\nFAILED: failed', enum_type=OfferStatus, max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('language', fields.CharField(default='fr', max_length=16)),
                ('place_name', fields.CharField(default='', max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('dest_name', fields.CharField(default='', max_length=200)),
                ('dest_latitude', fields.FloatField(null=True)),
                ('dest_longitude', fields.FloatField(null=True)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('quantity_total', fields.IntField(null=True)),
                ('quantity_available', fields.IntField(null=True)),
                ('price_cents', fields.IntField(null=True)),
                ('currency', fields.CharField(default='EUR', max_length=3)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('private', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('document', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'offer', 'app': 'models', 'indexes': [Index(fields=['kind', 'status', 'starts_at']), Index(fields=['status', 'starts_at']), Index(fields=['latitude', 'longitude']), Index(fields=['dest_latitude', 'dest_longitude']), Index(fields=['expires_at']), Index(fields=['author_uri', 'status'])], 'pk_attr': 'id', 'table_description': 'Offers published here or received from other instances'},
            bases=['Model'],
        ),
    ]
