from enum import StrEnum
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class MediaPurpose(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    AVATAR = 'avatar'
    HEADER = 'header'
    ATTACHMENT = 'attachment'


class NotificationKind(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    REPLY = 'reply'
    MENTION = 'mention'
    FOLLOW = 'follow'
    LIKE = 'like'
    BOOST = 'boost'
    BOOKING = 'booking'


class PostKind(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    ANNOUNCEMENT = 'announcement'
    REPLY = 'reply'
    NOTE = 'note'


class Visibility(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    PUBLIC = 'public'
    UNLISTED = 'unlisted'
    FOLLOWERS = 'followers'
    DIRECT = 'direct'


class ReactionKind(StrEnum):
    """Frozen as of this migration (never import live enums here)."""

    LIKE = 'like'
    BOOST = 'boost'


class Migration(migrations.Migration):
    dependencies = [('models', '0008_login_failures')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Media',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uuid', fields.CharField(unique=True, max_length=36)),
                ('owner', fields.ForeignKeyField('models.LocalActor', source_field='owner_id', db_constraint=True, to_field='id', related_name='media', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='AVATAR: avatar\nHEADER: header\nATTACHMENT: attachment', enum_type=MediaPurpose, max_length=16)),
                ('filename', fields.CharField(max_length=100)),
                ('media_type', fields.CharField(max_length=32)),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('size_bytes', fields.IntField()),
                ('description', fields.CharField(default='', max_length=1500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'media', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Uploaded images'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('models.LocalActor', source_field='recipient_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='REPLY: reply\nMENTION: mention\nFOLLOW: follow\nLIKE: like\nBOOST: boost\nBOOKING: booking', enum_type=NotificationKind, max_length=16)),
                ('actor_uri', fields.CharField(max_length=500)),
                ('actor_name', fields.CharField(default='', max_length=300)),
                ('object_uri', fields.CharField(default='', max_length=500)),
                ('link', fields.CharField(default='', max_length=500)),
                ('text', fields.CharField(default='', max_length=500)),
                ('dedupe_key', fields.CharField(unique=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['recipient_id', 'read_at']), Index(fields=['recipient_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "Members' notifications"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Post',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('local_uuid', fields.CharField(null=True, unique=True, max_length=36)),
                ('author', fields.ForeignKeyField('models.LocalActor', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('author_uri', fields.CharField(max_length=500)),
                ('author_name', fields.CharField(default='', max_length=200)),
                ('author_handle', fields.CharField(default='', max_length=300)),
                ('kind', fields.CharEnumField(description='ANNOUNCEMENT: announcement\nREPLY: reply\nNOTE: note', enum_type=PostKind, max_length=16)),
                ('visibility', fields.CharEnumField(default=Visibility.PUBLIC, description='PUBLIC: public\nUNLISTED: unlisted\nFOLLOWERS: followers\nDIRECT: direct', enum_type=Visibility, max_length=16)),
                ('summary', fields.CharField(default='', max_length=500)),
                ('content', fields.TextField(default='', unique=False)),
                ('language', fields.CharField(default='', max_length=16)),
                ('url', fields.CharField(default='', max_length=500)),
                ('in_reply_to', fields.CharField(null=True, max_length=500)),
                ('attachments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('document', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('pinned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'post', 'app': 'models', 'indexes': [Index(fields=['author_uri', 'published_at']), Index(fields=['in_reply_to', 'published_at']), Index(fields=['published_at'])], 'pk_attr': 'id', 'table_description': "Announcements, replies and followed accounts' posts"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reaction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=500)),
                ('kind', fields.CharEnumField(description='LIKE: like\nBOOST: boost', enum_type=ReactionKind, max_length=16)),
                ('actor_uri', fields.CharField(max_length=500)),
                ('object_uri', fields.CharField(max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reaction', 'app': 'models', 'unique_together': (('kind', 'actor_uri', 'object_uri'),), 'indexes': [Index(fields=['object_uri', 'kind'])], 'pk_attr': 'id', 'table_description': 'Favourites and boosts of our offers and posts'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LocalActor',
            name='avatar_uuid',
            field=fields.CharField(null=True, max_length=36),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='header_uuid',
            field=fields.CharField(null=True, max_length=36),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='profile_fields',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Offer',
            name='pinned_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
