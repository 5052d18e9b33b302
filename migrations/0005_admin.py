from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_directory')]

    initial = False

    operations = [
        # NOT NULL with a database default: existing rows become non-admins. Only an AddField on
        # local_actor: an AlterField would make SQLite rebuild the table (DROP TABLE cascades).
        ops.AddField(
            model_name='LocalActor',
            name='is_admin',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
