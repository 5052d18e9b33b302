from enum import StrEnum
from tortoise import migrations
from models.migration_ops import StateOnlyAlterField
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class ActorKind(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    INSTANCE = 'instance'
    COOP = 'coop'
    MEMBER = 'member'
    DIRECTORY = 'directory'


class EntryState(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    CANDIDATE = 'candidate'
    ADMITTED = 'admitted'
    REJECTED = 'rejected'


class Migration(migrations.Migration):
    dependencies = [('models', '0003_offers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DirectoryEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('domain', fields.CharField(max_length=253)),
                ('actor_uri', fields.CharField(max_length=500)),
                ('inbox', fields.CharField(null=True, max_length=500)),
                ('state', fields.CharEnumField(default=EntryState.CANDIDATE, description='CANDIDATE: candidate\nADMITTED: admitted\nREJECTED: rejected', enum_type=EntryState, max_length=16)),
                ('source', fields.CharField(null=True, max_length=500)),
                ('name', fields.CharField(default='', max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('url', fields.CharField(default='', max_length=500)),
                ('country_code', fields.CharField(null=True, max_length=2)),
                ('city', fields.CharField(null=True, max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('kinds', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('open_registrations', fields.BooleanField(null=True)),
                ('chatons_member', fields.BooleanField(default=False)),
                ('software_name', fields.CharField(default='', max_length=100)),
                ('software_version', fields.CharField(default='', max_length=100)),
                ('checks', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('follow_ap_id', fields.CharField(null=True, max_length=500)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('checked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('unreachable', fields.BooleanField(default=False)),
            ],
            options={'table': 'directory_entry', 'app': 'models', 'unique_together': (('domain', 'source'),), 'indexes': [Index(fields=['state', 'domain'])], 'pk_attr': 'id', 'table_description': 'Instances listed by this directory'},
            bases=['Model'],
        ),
        # kind gains DIRECTORY: no SQL needed, and SQLite's table rebuild would cascade deletes
        StateOnlyAlterField(
            model_name='LocalActor',
            name='kind',
            field=fields.CharEnumField(description='INSTANCE: instance\nCOOP: coop\nMEMBER: member\nDIRECTORY: directory', enum_type=ActorKind, max_length=16),
        ),
    ]
