from enum import StrEnum
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class ReportState(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    OPEN = 'open'
    RESOLVED = 'resolved'
    DISMISSED = 'dismissed'


class ActionKind(StrEnum):
    """Frozen as of this migration."""

    SILENCE = 'silence'
    UNSILENCE = 'unsilence'
    SUSPEND = 'suspend'
    UNSUSPEND = 'unsuspend'
    REMOVE_OFFER = 'remove_offer'
    REMOVE_POST = 'remove_post'
    DISMISS = 'dismiss'


class Migration(migrations.Migration):
    dependencies = [('models', '0012_domain_blocks')]

    initial = False

    # NotificationKind gains 'moderation' and 'move': a varchar(16) already holds them, so no
    # AlterField (on SQLite it rebuilds the table and loses its indexes).

    operations = [
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reporter', fields.ForeignKeyField('models.LocalActor', source_field='reporter_id', null=True, db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.SET_NULL)),
                ('origin_uri', fields.CharField(null=True, max_length=500)),
                ('activity_id', fields.CharField(null=True, unique=True, max_length=500)),
                ('target_uri', fields.CharField(max_length=500)),
                ('object_uris', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('comment', fields.TextField(default='', unique=False)),
                ('forward', fields.BooleanField(default=False)),
                ('forwarded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('state', fields.CharEnumField(default=ReportState.OPEN, description='OPEN: open\nRESOLVED: resolved\nDISMISSED: dismissed', enum_type=ReportState, max_length=16)),
                ('resolved_by', fields.ForeignKeyField('models.LocalActor', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='reports_resolved', on_delete=OnDelete.SET_NULL)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report', 'app': 'models', 'indexes': [Index(fields=['state', 'created_at']), Index(fields=['target_uri'])], 'pk_attr': 'id', 'table_description': 'Reports about accounts, offers and posts'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ModerationAction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='SILENCE: silence\nUNSILENCE: unsilence\nSUSPEND: suspend\nUNSUSPEND: unsuspend\nREMOVE_OFFER: remove_offer\nREMOVE_POST: remove_post\nDISMISS: dismiss', enum_type=ActionKind, max_length=16)),
                ('target_uri', fields.CharField(max_length=500)),
                ('object_uri', fields.CharField(default='', max_length=500)),
                ('reason', fields.TextField(default='', unique=False)),
                ('moderator', fields.ForeignKeyField('models.LocalActor', source_field='moderator_id', null=True, db_constraint=True, to_field='id', related_name='moderation_actions', on_delete=OnDelete.SET_NULL)),
                ('report', fields.ForeignKeyField('models.Report', source_field='report_id', null=True, db_constraint=True, to_field='id', related_name='actions', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'moderation_action', 'app': 'models', 'indexes': [Index(fields=['target_uri'])], 'pk_attr': 'id', 'table_description': 'The moderation log'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LocalActor',
            name='also_known_as',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='moved_to',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='silenced_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='suspended_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='silenced_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='RemoteActor',
            name='suspended_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
