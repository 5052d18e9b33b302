from enum import StrEnum
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class InboxState(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    PENDING = 'pending'
    DONE = 'done'
    IGNORED = 'ignored'
    FAILED = 'failed'


class ActorKind(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    INSTANCE = 'instance'
    COOP = 'coop'
    MEMBER = 'member'


class DeliveryState(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    PENDING = 'pending'
    DELIVERED = 'delivered'
    FAILED = 'failed'
    SKIPPED = 'skipped'


class FollowState(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    PENDING = 'pending'
    ACCEPTED = 'accepted'
    REJECTED = 'rejected'


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Host',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('domain', fields.CharField(unique=True, max_length=253)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_failure_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('unreachable', fields.BooleanField(default=False)),
            ],
            options={'table': 'host', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Delivery health per remote host'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LocalActor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='INSTANCE: instance\nCOOP: coop\nMEMBER: member', enum_type=ActorKind, max_length=16)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(default='', max_length=200)),
                ('summary', fields.TextField(default='', unique=False)),
                ('locked', fields.BooleanField(default=False)),
                ('coop', fields.ForeignKeyField('models.LocalActor', source_field='coop_id', null=True, db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.RESTRICT)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('password_hash', fields.CharField(null=True, max_length=255)),
                ('private_key_pem', fields.TextField(unique=False)),
                ('public_key_pem', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'local_actor', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Actors hosted on this instance'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Activity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('actor', fields.ForeignKeyField('models.LocalActor', source_field='actor_id', db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.CASCADE)),
                ('type', fields.CharField(max_length=32)),
                ('object_uri', fields.CharField(null=True, max_length=500)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('public', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'activity', 'app': 'models', 'indexes': [Index(fields=['actor_id', 'public', 'id'])], 'pk_attr': 'id', 'table_description': 'Activities published by local actors'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('inbox', fields.CharField(max_length=500)),
                ('host', fields.CharField(max_length=253)),
                ('state', fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: pending\nDELIVERED: delivered\nFAILED: failed\nSKIPPED: skipped', enum_type=DeliveryState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery', 'app': 'models', 'unique_together': (('activity_id', 'inbox'),), 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['host', 'state'])], 'pk_attr': 'id', 'table_description': 'Outgoing delivery queue'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(unique=True, max_length=500)),
                ('actor_uri', fields.CharField(max_length=500)),
                ('type', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('recipient', fields.ForeignKeyField('models.LocalActor', source_field='recipient_id', null=True, db_constraint=True, to_field='id', related_name='inbox_items', on_delete=OnDelete.SET_NULL)),
                ('state', fields.CharEnumField(default=InboxState.PENDING, description='PENDING: pending\nDONE: done\nIGNORED: ignored\nFAILED: failed', enum_type=InboxState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('error', fields.TextField(null=True, unique=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'inbox_item', 'app': 'models', 'indexes': [Index(fields=['state', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'Verified incoming activities'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteActor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('type', fields.CharField(max_length=32)),
                ('username', fields.CharField(max_length=200)),
                ('domain', fields.CharField(max_length=253)),
                ('name', fields.TextField(default='', unique=False)),
                ('summary', fields.TextField(default='', unique=False)),
                ('url', fields.CharField(null=True, max_length=500)),
                ('icon_url', fields.CharField(null=True, max_length=500)),
                ('inbox', fields.CharField(max_length=500)),
                ('shared_inbox', fields.CharField(null=True, max_length=500)),
                ('outbox', fields.CharField(null=True, max_length=500)),
                ('followers_url', fields.CharField(null=True, max_length=500)),
                ('following_url', fields.CharField(null=True, max_length=500)),
                ('key_id', fields.CharField(null=True, max_length=500)),
                ('public_key_pem', fields.TextField(null=True, unique=False)),
                ('locked', fields.BooleanField(default=False)),
                ('document', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_actor', 'app': 'models', 'indexes': [Index(fields=['key_id']), Index(fields=['domain', 'username'])], 'pk_attr': 'id', 'table_description': 'Cached remote actors'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('follower_uri', fields.CharField(max_length=500)),
                ('target_uri', fields.CharField(max_length=500)),
                ('local_follower', fields.ForeignKeyField('models.LocalActor', source_field='local_follower_id', null=True, db_constraint=True, to_field='id', related_name='following_rel', on_delete=OnDelete.CASCADE)),
                ('local_target', fields.ForeignKeyField('models.LocalActor', source_field='local_target_id', null=True, db_constraint=True, to_field='id', related_name='followers_rel', on_delete=OnDelete.CASCADE)),
                ('remote_follower', fields.ForeignKeyField('models.RemoteActor', source_field='remote_follower_id', null=True, db_constraint=True, to_field='id', related_name='following_rel', on_delete=OnDelete.CASCADE)),
                ('remote_target', fields.ForeignKeyField('models.RemoteActor', source_field='remote_target_id', null=True, db_constraint=True, to_field='id', related_name='followers_rel', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=FollowState.PENDING, description='PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected', enum_type=FollowState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'follow', 'app': 'models', 'unique_together': (('follower_uri', 'target_uri'),), 'indexes': [Index(fields=['target_uri', 'state']), Index(fields=['follower_uri', 'state'])], 'pk_attr': 'id', 'table_description': 'Follow relationships'},
            bases=['Model'],
        ),
    ]
