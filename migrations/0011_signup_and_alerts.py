from enum import StrEnum
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class RequestState(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    PENDING = 'pending'
    APPROVED = 'approved'
    REJECTED = 'rejected'


EVENTS = [
    ('booking', 'requested'),
    ('booking', 'accepted'),
    ('booking', 'declined'),
    ('booking', 'cancelled'),
    ('booking', 'message'),
    ('follow', 'request'),
]
"""The events that existed in keys when this migration was written."""


class Migration(migrations.Migration):
    dependencies = [('models', '0010_calendar_feeds')]

    initial = False

    # CreateModel for the new tables; only AddFields (with database defaults) on local_actor and
    # notification.

    operations = [
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('created_by', fields.ForeignKeyField('models.LocalActor', source_field='created_by_id', db_constraint=True, to_field='id', related_name='invitations_created', on_delete=OnDelete.CASCADE)),
                ('coop', fields.ForeignKeyField('models.LocalActor', source_field='coop_id', null=True, db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.CASCADE)),
                ('max_uses', fields.IntField(default=1)),
                ('uses', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invitation', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Invitation links (code digests), with an expiry and a use count'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MembershipRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.LocalActor', source_field='member_id', db_constraint=True, to_field='id', related_name='membership_requests', on_delete=OnDelete.CASCADE)),
                ('coop', fields.ForeignKeyField('models.LocalActor', source_field='coop_id', db_constraint=True, to_field='id', related_name='join_requests', on_delete=OnDelete.CASCADE)),
                ('message', fields.TextField(default='', unique=False)),
                ('state', fields.CharEnumField(default=RequestState.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=RequestState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'membership_request', 'app': 'models', 'indexes': [Index(fields=['coop_id', 'state'])], 'pk_attr': 'id', 'table_description': "Members' requests to join a coop, decided by its admins"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PasswordReset',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.LocalActor', source_field='member_id', db_constraint=True, to_field='id', related_name='password_resets', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'password_reset', 'app': 'models', 'indexes': [Index(fields=['expires_at'])], 'pk_attr': 'id', 'table_description': 'One-time password-reset links (token digests)'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SavedSearch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.LocalActor', source_field='member_id', db_constraint=True, to_field='id', related_name='saved_searches', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(default='', max_length=200)),
                ('kind', fields.CharField(null=True, max_length=16)),
                ('purpose', fields.CharField(null=True, max_length=16)),
                ('place', fields.CharField(null=True, max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('radius_km', fields.FloatField(default=25.0)),
                ('date_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('date_to', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('min_quantity', fields.IntField(null=True)),
                ('text', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'saved_search', 'app': 'models', 'pk_attr': 'id', 'table_description': "Members' saved searches (alerts)"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlertMatch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('search', fields.ForeignKeyField('models.SavedSearch', source_field='search_id', db_constraint=True, to_field='id', related_name='matches', on_delete=OnDelete.CASCADE)),
                ('offer', fields.ForeignKeyField('models.Offer', source_field='offer_id', db_constraint=True, to_field='id', related_name='alert_matches', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.IntField()),
                ('matched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'alert_match', 'app': 'models', 'unique_together': (('search_id', 'offer_id'),), 'indexes': [Index(fields=['member_id', 'matched_at'])], 'pk_attr': 'id', 'table_description': 'Offers that matched a saved search'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignupRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('reason', fields.TextField(default='', unique=False)),
                ('coop', fields.ForeignKeyField('models.LocalActor', source_field='coop_id', null=True, db_constraint=True, to_field='id', related_name='signup_requests', on_delete=OnDelete.SET_NULL)),
                ('lang', fields.CharField(default='en', max_length=8)),
                ('state', fields.CharEnumField(default=RequestState.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=RequestState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'signup_request', 'app': 'models', 'indexes': [Index(fields=['state', 'created_at'])], 'pk_attr': 'id', 'table_description': "Sign-ups awaiting an admin's approval"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LocalActor',
            name='coop_admin',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        # A notification's event gets its own column; until now it was only inside dedupe_key
        # (``booking.accepted:…``, ``follow.request:…``). Plain SQL that both engines run.
        ops.AddField(
            model_name='Notification',
            name='event',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.RunSQL(
            [
                f"UPDATE notification SET event = '{event}' "
                f"WHERE dedupe_key LIKE '{kind}.{event}:%'"
                for kind, event in EVENTS
            ]
        ),
    ]
