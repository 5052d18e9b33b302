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


class Purpose(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    OFFER = 'offer'
    REQUEST = 'request'


class BookingState(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    REQUESTED = 'requested'
    ACCEPTED = 'accepted'
    DECLINED = 'declined'
    EXPIRED = 'expired'
    CANCELLED = 'cancelled'
    DONE = 'done'
    NOT_HAPPENED = 'not_happened'


class BookingVia(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    COOPUB = 'coopub'
    DIRECT_MESSAGE = 'direct_message'


class Progress(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    PICKED_UP = 'picked_up'
    DELIVERED = 'delivered'
    FAILED = 'failed'


class Migration(migrations.Migration):
    dependencies = [('models', '0006_hosting')]

    initial = False

    # Only CreateModel: no existing table is altered.

    operations = [
        ops.CreateModel(
            name='Booking',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('local_uuid', fields.CharField(unique=True, max_length=36)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('agreement_id', fields.CharField(null=True, unique=True, max_length=500)),
                ('offer', fields.ForeignKeyField('models.Offer', source_field='offer_id', null=True, db_constraint=True, to_field='id', related_name='bookings', on_delete=OnDelete.SET_NULL)),
                ('offer_uri', fields.CharField(max_length=500)),
                ('kind', fields.CharEnumField(description='RIDE: ride\nDELIVERY_JOB: delivery_job\nSTAY: stay', enum_type=OfferKind, max_length=16)),
                ('purpose', fields.CharEnumField(description='OFFER: offer\nREQUEST: request', enum_type=Purpose, max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('booker', fields.ForeignKeyField('models.LocalActor', source_field='booker_id', null=True, db_constraint=True, to_field='id', related_name='bookings_made', on_delete=OnDelete.CASCADE)),
                ('booker_uri', fields.CharField(max_length=500)),
                ('booker_name', fields.CharField(default='', max_length=200)),
                ('author', fields.ForeignKeyField('models.LocalActor', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='bookings_received', on_delete=OnDelete.CASCADE)),
                ('author_uri', fields.CharField(max_length=500)),
                ('author_name', fields.CharField(default='', max_length=200)),
                ('quantity', fields.IntField()),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('happens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('message', fields.TextField(default='', unique=False)),
                ('state', fields.CharEnumField(default=BookingState.REQUESTED, description='REQUESTED: requested\nACCEPTED: accepted\nDECLINED: declined\nEXPIRED: expired\nCANCELLED: cancelled\nDONE: done\nNOT_HAPPENED: not_happened', enum_type=BookingState, max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('private', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('via', fields.CharEnumField(default=BookingVia.COOPUB, description='COOPUB: coopub\nDIRECT_MESSAGE: direct_message', enum_type=BookingVia, max_length=16)),
                ('progress', fields.CharEnumField(null=True, description='PICKED_UP: picked_up\nDELIVERED: delivered\nFAILED: failed', enum_type=Progress, max_length=16)),
                ('progress_note', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'booking', 'app': 'models', 'indexes': [Index(fields=['state', 'happens_at']), Index(fields=['offer_id', 'state']), Index(fields=['booker_id', 'created_at']), Index(fields=['author_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Bookings of offers, requested here or received here'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BookingMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('booking', fields.ForeignKeyField('models.Booking', source_field='booking_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('author_uri', fields.CharField(max_length=500)),
                ('content', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'booking_message', 'app': 'models', 'indexes': [Index(fields=['booking_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Messages exchanged about a booking'},
            bases=['Model'],
        ),
    ]
