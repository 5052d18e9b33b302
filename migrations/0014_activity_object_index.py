from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_moderation_and_moves')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['object_uri', 'type']),
        ),
    ]
